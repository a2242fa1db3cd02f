"""Real check: SAMRefiner and baselines on the real image / ground-truth pairs.

Usage:
  python benchmarks/bench_real_check.py [--limit N] [--subsets GrabCut ...] [--seed 0]
      [--model sam_tiny_synth] [--checkpoint PATH] [--threads 1] [--top1] [--out results.json]

Data: the real pairs of ../shared/data/real (or $SAMREFINER_REAL_DATA): GrabCut (50, its 128
band ignored), COCO-MVal subset (80), Weizmann horses (327). The folder has no coarse masks of
its own, so each ground-truth mask is corrupted with the DAVIS-585 protocol (IoU in
[0.75, 0.85]; boundary errors, external false positives, internal false negatives; seeded by
seed, image index and object index).

Methods: the coarse input; SAMRefiner with the embedded model under the ``paper`` and
``reference`` presets; DenseCRF (skipped with a note when pydensecrf is not installed); and
morphological opening + closing (radius 3). Printed: cumulative IoU (sum I / sum U, as the
reference code reports), mean IoU, cumulative boundary IoU and mBA over all objects, then mean
IoU and mBA per subset. Exits with status 1 when the real data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib import SAMRefiner, load_sam  # noqa: E402
from samrefiner_lib.baselines import densecrf_available  # noqa: E402
from samrefiner_lib.datasets import load_real_pairs  # noqa: E402
from samrefiner_lib.evaluation.methods import MethodOptions, build_methods  # noqa: E402
from samrefiner_lib.evaluation.provenance import model_record, software_versions  # noqa: E402
from samrefiner_lib.evaluation.results_file import write_results  # noqa: E402
from samrefiner_lib.evaluation.run_protocol import run_protocol  # noqa: E402
from samrefiner_lib.evaluation.sources import open_dataset  # noqa: E402
from samrefiner_lib.models.defaults import DEFAULT_MODEL  # noqa: E402

COLUMNS = ["objects", "IoU", "mIoU", "boundary IoU", "mBA"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--subsets", nargs="+", default=None, help="real subsets (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the DAVIS-585 protocol")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--checkpoint", default=None)
    # The embedded model's tensors are small: one thread avoids contention overhead on shared CPUs.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top1", action="store_true", help="also score the IoU head's top-1")
    ap.add_argument("--out", default=None, help="write the results (.json or .csv) here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if load_real_pairs() is None:
        print("real data folder not found; nothing to check", file=sys.stderr)
        return 1

    names = ["paper", "reference", "densecrf", "morph-open-close"]
    notes = []
    if not densecrf_available():
        names.remove("densecrf")
        notes.append("DenseCRF skipped: pip install pydensecrf2")
    methods = build_methods(names, MethodOptions())
    source = open_dataset("real", subsets=args.subsets, seed=args.seed, limit=args.limit)
    refiner = SAMRefiner(load_sam(args.model, args.checkpoint))
    info = {"command": "benchmarks/bench_real_check.py", "seed": args.seed,
            "model": model_record(args.model, args.checkpoint, "cpu"),
            "threads": args.threads, "software": software_versions(), "notes": notes}
    start = time.perf_counter()
    result = run_protocol(source, methods, refiner, top1=args.top1, info=info)
    minutes = (time.perf_counter() - start) / 60

    table = result.table
    print(f"\nReal pairs: {source.details['images']} images ({source.details['counts']}), "
          f"{source.protocol}")
    print(f"model {result.info['model']['name']} ({result.info['model']['checkpoint']}), "
          f"{minutes:.1f} min on {args.threads} CPU threads\n")
    cols = COLUMNS + (["top-1"] if args.top1 else [])
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table[["configuration", *cols]].round(2).to_string())
        per = result.per_object.assign(subset=result.per_object["sample"].str.split("/").str[0])
        by_subset = per.groupby(["method", "subset"], sort=False)[["iou", "mba"]].mean() * 100
        wide = by_subset.unstack("subset")
        wide.columns = [f"{subset} {'mIoU' if m == 'iou' else 'mBA'}" for m, subset in wide.columns]
        print("\nper subset (mean IoU and mBA, %):")
        print(wide.loc[list(table.index)].round(2).to_string())
    for note in notes:
        print(f"note: {note}")
    if args.out:
        print(f"wrote {write_results(result, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
