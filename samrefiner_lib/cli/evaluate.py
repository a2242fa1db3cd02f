"""``samrefiner evaluate``: score coarse masks and refinement methods on a dataset.

Examples::

    samrefiner evaluate --dataset davis585 --root data/DAVIS585 --out davis.json
    samrefiner evaluate --dataset real --methods samrefiner reference densecrf morph-open-close \\
        --out real.csv --limit 20
    samrefiner evaluate --dataset coco --root data/coco --detections dets.json --out coco.json
    samrefiner evaluate --dataset voc --root data/voc/VOC2012 --coarse-dir cams/ --out voc.json
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import torch

from ..baselines import BaselineUnavailableError
from ..baselines.morphology import DEFAULT_RADIUS
from ..evaluation.methods import METHOD_NAMES, MethodOptions, build_methods, is_sam_method
from ..evaluation.provenance import model_record, software_versions
from ..evaluation.results_file import check_results_path, write_results
from ..evaluation.run_protocol import run_protocol
from ..evaluation.sources import DATASETS, open_dataset
from ..io import check_distinct_outputs, check_output_file
from .common import add_model_args, add_preset_args, build_refiner, with_example


def add_method_args(p: argparse.ArgumentParser) -> None:
    """Options of the baselines that need settings (shared with ``refine-dataset``)."""
    p.add_argument("--morph-radius", type=int, default=DEFAULT_RADIUS,
                   help=f"element radius of the morph-* baselines in pixels "
                        f"(default {DEFAULT_RADIUS})")
    p.add_argument("--cascadepsp-weights", default=None,
                   help="folder holding CascadePSP's 'model' weights file (method cascadepsp)")
    p.add_argument("--hqsam-checkpoint", default=None, help="HQ-SAM checkpoint (method hqsam)")
    p.add_argument("--hqsam-model-type", default="vit_h", help="HQ-SAM architecture")
    p.add_argument("--semantic-mode", default="stm",
                   help="label maps: split-then-merge mode for SAMRefiner methods: stm "
                        "(default), no_merge or whole_class")


def method_options(args: argparse.Namespace) -> MethodOptions:
    """The :class:`MethodOptions` of parsed arguments."""
    return MethodOptions(preset=args.preset, iterations=args.iterations,
                         morph_radius=args.morph_radius,
                         cascadepsp_weights=args.cascadepsp_weights,
                         hqsam_checkpoint=args.hqsam_checkpoint,
                         hqsam_model_type=args.hqsam_model_type, device=args.device)

#: First line of the help: runs as is (the demo files come from `samrefiner demo-data`).
EXAMPLE = ("samrefiner evaluate --dataset synthdavis --objects 10 --methods samrefiner "
           "reference --out synth.json")


def add_parser(sub: argparse._SubParsersAction) -> None:
    names = "; ".join(f"{k}: {v}" for k, v in METHOD_NAMES.items())
    p = sub.add_parser(
        "evaluate", help="score coarse masks and refinement methods on a dataset",
        **with_example(
            EXAMPLE,
            "Evaluate the coarse masks and each method on a dataset with its protocol (instance "
            "sets: cumulative IoU, mean IoU, boundary IoU, mBA, top-1; COCO: mask AP and "
            "boundary AP before/after; VOC: mIoU). Writes a JSON or CSV results file recording "
            "the configuration, model, data, seed and software. The example needs no data: "
            "synthdavis generates its scenes.",
        ),
    )
    p.add_argument("--dataset", required=True, choices=DATASETS, help="dataset / protocol")
    p.add_argument("--root", default=None,
                   help="dataset folder (real: default $SAMREFINER_REAL_DATA or "
                        "../shared/data/real; synthdavis: not used)")
    p.add_argument("--out", required=True, help="results file, .json or .csv")
    p.add_argument("--methods", nargs="+", default=["samrefiner"], metavar="METHOD",
                   help=f"methods to run besides the coarse input (default: samrefiner). {names}")
    p.add_argument("--seed", type=int, default=0, help="seed of the coarse-mask protocol")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    p.add_argument("--per-object", default=None, metavar="CSV",
                   help="also write per-object (per-class for VOC) records to this CSV")
    p.add_argument("--no-top1", action="store_true",
                   help="skip the IoU-head top-1 accuracy (saves upsampling all candidates)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("dataset options")
    g.add_argument("--init", choices=("sp", "stm"), default="sp",
                   help="DAVIS-585 initial masks (default sp, the paper's)")
    g.add_argument("--subsets", nargs="+", default=None,
                   help="real pairs: subsets (default GrabCut COCO_MVal_subset80 WeizmannHorses)")
    g.add_argument("--objects", type=int, default=300, help="SynthDAVIS objects (default 300)")
    g.add_argument("--split", default="test", help="SynthDAVIS scene split (default test)")
    g.add_argument("--real-split", default="val", choices=("val", "train", "all"),
                   help="real pairs: side of the fixed split by image (default val, the images "
                        "the shipped models were not trained on)")
    g.add_argument("--style", default="default", help="SynthDAVIS scene style")
    g.add_argument("--ann-file", default=None,
                   help="COCO annotation JSON (default ROOT/annotations/instances_val2017.json)")
    g.add_argument("--image-dir", default=None, help="COCO images (default ROOT/val2017)")
    g.add_argument("--detections", default=None,
                   help="COCO detection results with masks (the coarse masks)")
    g.add_argument("--min-score", type=float, default=0.0, help="drop detections below this")
    g.add_argument("--coarse-dir", default=None, help="VOC coarse label PNGs <id>.png")
    g.add_argument("--voc-split", default="val", help="VOC image list (name or file)")
    g.add_argument("--label-dir", default="SegmentationClass",
                   help="VOC ground-truth folder under ROOT")
    add_model_args(p)
    add_preset_args(p)
    add_method_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_file(check_results_path(args.out), "--out")
    if args.per_object is not None:
        check_output_file(args.per_object, "--per-object")
    check_distinct_outputs({"--out": args.out, "--per-object": args.per_object})
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        methods = build_methods(args.methods, method_options(args))
    except BaselineUnavailableError as exc:
        print(f"samrefiner evaluate: error: {exc}", file=sys.stderr)
        return 2
    source = open_dataset(
        args.dataset, args.root, seed=args.seed, limit=args.limit, init=args.init,
        subsets=args.subsets, objects=args.objects, split=args.split, style=args.style,
        ann_file=args.ann_file, image_dir=args.image_dir, detections=args.detections,
        min_score=args.min_score, coarse_dir=args.coarse_dir, voc_split=args.voc_split,
        label_dir=args.label_dir, real_split=args.real_split,
    )
    uses_sam = any(is_sam_method(m) for m in methods.values())
    refiner = build_refiner(args) if uses_sam else None
    info = {
        "command": "evaluate",
        "seed": args.seed,
        "limit": args.limit,
        "preset": args.preset,
        "iterations": args.iterations,
        "methods_requested": list(args.methods),
        "model": model_record(args.model, args.checkpoint, args.device) if uses_sam else None,
        "threads": torch.get_num_threads(),
        "software": software_versions(),
    }
    result = run_protocol(source, methods, refiner, top1=not args.no_top1,
                          semantic_mode=args.semantic_mode, progress=not args.no_progress,
                          info=info)
    for note in result.info.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    write_results(result, out, args.per_object)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"{source.name}: {len(source)} images; {source.protocol}")
        print(result.table.drop(columns=["configuration"]).round(2).to_string())
    print(f"wrote {out}")
    return 0
