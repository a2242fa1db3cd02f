"""``samrefiner refine-dataset``: refine every coarse mask of a dataset, resumably.

Examples::

    samrefiner refine-dataset --dataset coco --ann-file instances_val2017.json \\
        --image-dir val2017 --detections maskrcnn_results.json --out refined_coco/
    samrefiner refine-dataset --dataset davis585 --root DAVIS585 --out refined_davis/
    samrefiner refine-dataset --dataset voc --root VOC2012 --coarse-dir pseudo_labels/ \\
        --out refined_voc/
    torchrun --nproc-per-node 4 -m samrefiner_lib.cli refine-dataset --dataset coco ...

Rerunning the same command after an interruption (even ``kill -9``) skips finished images and
ends with the same files as an uninterrupted run. A failing image is reported, listed in
``failures.jsonl`` and skipped; the exit status is then 1 (rerun to retry those images).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from ..baselines import BaselineUnavailableError
from ..batch import (
    CocoRefineJob,
    Davis585RefineJob,
    Job,
    VocRefineJob,
    init_distributed,
    instance_refine,
    label_map_refine,
    run_job,
)
from ..batch.coco_job import SCORE_MODES
from ..datasets import CocoInstances, Davis585, VocSemantic, find_davis585_root
from ..datasets.readers import list_images
from ..evaluation.methods import METHOD_NAMES, build_method, is_sam_method, method_record
from ..evaluation.provenance import model_record, software_versions
from ..io import check_output_folder
from ..refiner import SAMRefiner
from .common import add_model_args, add_preset_args, build_refiner, with_example
from .evaluate import add_method_args, method_options

DATASETS = ("coco", "davis585", "voc")

#: First line of the help: runs as is (the demo files come from `samrefiner demo-data`).
EXAMPLE = ("samrefiner demo-data demo && samrefiner refine-dataset --dataset coco "
           "--ann-file demo/coco.json --image-dir demo --out demo/refined_coco")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine-dataset", help="refine all coarse masks of a dataset (resumable, shardable)",
        **with_example(
            EXAMPLE,
            "Refine the coarse masks of a whole dataset: COCO detection results or annotations "
            "(-> refined RLE results with scores), DAVIS-585 initial masks (-> mask PNGs) or "
            "VOC label maps (-> label PNGs). Each finished image is written atomically and "
            "skipped on reruns; failing images are logged to failures.jsonl and skipped. Under "
            "torchrun, images are sharded across ranks and rank 0 merges the shards.",
        ),
    )
    p.add_argument("--dataset", required=True, choices=DATASETS, help="input format")
    p.add_argument("--out", required=True, help="output folder (reuse it to resume)")
    p.add_argument("--root", default=None,
                   help="dataset folder (davis585: the release; voc: VOC2012; coco: holds "
                        "annotations/ and val2017/ when --ann-file/--image-dir are not given)")
    p.add_argument("--method", default="samrefiner", choices=list(METHOD_NAMES),
                   help="refinement method (default: samrefiner, the --preset configuration)")
    p.add_argument("--limit", type=int, default=None, help="process only the first N images")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("dataset options")
    g.add_argument("--ann-file", default=None, help="COCO annotation JSON")
    g.add_argument("--image-dir", default=None, help="COCO image folder")
    g.add_argument("--detections", default=None,
                   help="COCO detection results with masks to refine (default: refine the "
                        "annotations of --ann-file)")
    g.add_argument("--min-score", type=float, default=0.0, help="drop detections below this")
    g.add_argument("--score", choices=SCORE_MODES, default="keep",
                   help="score of each refined COCO result: keep the detection score (default), "
                        "sam (predicted IoU) or product")
    g.add_argument("--init", choices=("sp", "stm"), default="sp",
                   help="DAVIS-585 initial masks to refine (default sp)")
    g.add_argument("--coarse-dir", default=None, help="VOC coarse label PNGs <id>.png")
    g.add_argument("--voc-split", default=None,
                   help="VOC image list (name or file); default: every PNG in --coarse-dir")
    add_model_args(p)
    add_preset_args(p)
    add_method_args(p)
    p.set_defaults(func=run)


def _coco_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    base = Path(args.root) if args.root else None
    ann = Path(args.ann_file) if args.ann_file else (
        base / "annotations" / "instances_val2017.json" if base else None)
    images = Path(args.image_dir) if args.image_dir else (base / "val2017" if base else None)
    if ann is None or images is None:
        raise ValueError("--dataset coco needs --ann-file and --image-dir (or --root holding "
                         "annotations/instances_val2017.json and val2017/)")
    return ann, images


def build_job(args: argparse.Namespace, method: Any,
              refiner: SAMRefiner | None) -> tuple[Job, dict[str, Any]]:
    """The dataset job of the parsed arguments, and the input paths to record."""
    record = method_record(method)
    if args.dataset == "coco":
        ann, images = _coco_paths(args)
        ds = CocoInstances(ann, images, args.detections, min_score=args.min_score)
        paths = {"ann_file": str(ann), "image_dir": str(images), "detections": args.detections}
        return CocoRefineJob(ds, instance_refine(method, refiner), args.score, record), paths
    if args.root is None:
        raise ValueError(f"--dataset {args.dataset} needs --root")
    if args.dataset == "davis585":
        root = find_davis585_root(args.root)
        job = Davis585RefineJob(Davis585(root, init=args.init), instance_refine(method, refiner),
                                record)
        return job, {"root": str(root)}
    if args.coarse_dir is None:
        raise ValueError("--dataset voc needs --coarse-dir (coarse label PNGs <id>.png)")
    split = args.voc_split or [p.stem for p in list_images(args.coarse_dir, (".png",))]
    ds = VocSemantic(args.root, split, label_dir=None, coarse_dir=args.coarse_dir)
    if is_sam_method(method):
        record = {**record, "semantic_mode": args.semantic_mode}
    job = VocRefineJob(ds, label_map_refine(method, refiner, args.semantic_mode), record)
    return job, {"root": str(ds.root), "coarse_dir": str(args.coarse_dir),
                 "split": args.voc_split}


def run(args: argparse.Namespace) -> int:
    check_output_folder(args.out, "--out")
    if args.threads:
        torch.set_num_threads(args.threads)
    ctx = init_distributed()
    try:
        if args.device.startswith("cuda") and ":" not in args.device and ctx.world_size > 1:
            args.device = f"cuda:{ctx.local_rank}"  # one GPU per rank
        try:
            method = build_method(args.method, method_options(args))
        except BaselineUnavailableError as exc:
            print(f"samrefiner refine-dataset: error: {exc}", file=sys.stderr)
            return 2
        sam = is_sam_method(method)
        refiner = build_refiner(args) if sam else None
        job, paths = build_job(args, method, refiner)
        model = model_record(args.model, args.checkpoint) if sam else None
        checked = {"model": None if model is None else {
            "name": model["name"], "checkpoint_md5": model["checkpoint_md5"]}}
        extra = {"inputs": paths, "model": model, "software": software_versions()}
        summary = run_job(job, args.out, ctx, limit=args.limit, progress=not args.no_progress,
                          fingerprint_extra=checked, extra=extra)
    finally:
        ctx.close()
    if not ctx.is_main:
        return 1 if summary.failed else 0
    print(f"{job.name}: {summary.done_total} of {summary.items} items finished "
          f"({summary.processed_all} in this run, {summary.skipped_all} already done"
          + (f", {ctx.world_size} ranks" if ctx.world_size > 1 else "")
          + f"); {summary.failed_total} failed; outputs in {args.out}")
    if summary.failed_total:
        print(f"failed items are listed in {Path(args.out) / 'failures.jsonl'}; rerun the same "
              "command to retry them", file=sys.stderr)
        return 1
    return 0
