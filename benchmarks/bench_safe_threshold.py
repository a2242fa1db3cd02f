"""Choose the ``safe`` preset's acceptance rule and threshold on validation data.

Usage:
  python benchmarks/bench_safe_threshold.py [--data pairs|bsds] [--model sam_lite_real]
      [--targets 4] [--seed 0] [--json benchmarks/results/safe_threshold_cpu.json]

Data (``--data``): ``pairs``, the 109 validation pairs with the DAVIS-585-protocol coarse masks
of ``bench_real_models.py`` (validation data, never trained on; the threshold is chosen here,
so the ``safe`` row of that benchmark, measured on the same images, is an optimistic figure), or
``bsds``, the BSDS500 images of the ``val`` side (never trained on, and not the pairs on which
the project reports its numbers: a held-out check), up to ``--targets`` region targets per image
(:func:`~samrefiner_lib.datasets.bsds500.region_targets` on the first annotator's map, seeded),
each with a DAVIS-585-protocol coarse mask. For every candidate threshold of
``accept_min_coarse_iou`` (a refined mask is kept only when its IoU with the coarse mask reaches
it), and of ``accept_min_score`` (kept only when SAM's predicted IoU reaches it), the script
reports the change in cumulative IoU, mean IoU and cumulative boundary IoU against the coarse
masks, and picks the rule and threshold whose smallest of the three changes is largest: a rule
meant to do no harm should improve all three. ``--combine`` reads the tables of several such
runs and picks the rule whose worst change over all of them is best. With one iteration the
rule is applied to the ``paper`` preset's output after the fact, which is exactly what the
refiner does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib import SAMRefiner, load_sam  # noqa: E402
from samrefiner_lib.datasets.bsds500 import BSDS500, region_targets  # noqa: E402
from samrefiner_lib.datasets.real import default_real_root, load_real_pairs  # noqa: E402
from samrefiner_lib.datasets.real_split import real_split  # noqa: E402
from samrefiner_lib.defects import davis585_coarse_mask  # noqa: E402
from samrefiner_lib.evaluation.protocols import with_davis585_coarse  # noqa: E402
from samrefiner_lib.metrics.boundary import boundary_intersection_union  # noqa: E402
from samrefiner_lib.metrics.iou import intersection_union  # noqa: E402

THRESHOLDS = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
SCORES = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def pair_items(args: argparse.Namespace) -> list | None:
    """The validation pairs with the benchmark protocol's coarse masks (bench_real_models)."""
    pairs = load_real_pairs(split="val")
    if pairs is None:
        return None
    n = len(pairs) if args.images is None else min(args.images, len(pairs))
    return [(s.image, s.gt, s.coarse, s.ignore)
            for s in with_davis585_coarse((pairs[i] for i in range(n)), args.seed)]


def bsds_items(args: argparse.Namespace) -> list | None:
    """BSDS500 val images, region targets of the first annotator, DAVIS-585 coarse masks."""
    root = default_real_root()
    if root is None or not (root / "BSDS500").is_dir():
        return None
    bsds = BSDS500(root / "BSDS500")
    ids = [i for i in bsds.ids if real_split(f"BSDS500/{i}") == "val"][: args.images]
    items = []
    for k, image_id in enumerate(ids):
        rng = np.random.default_rng([args.seed, k])
        targets = region_targets(bsds.segmentations(image_id)[0], rng, args.targets)
        if targets:
            coarse = np.stack([davis585_coarse_mask(t, rng)[0] for t in targets])
            items.append((bsds.image(image_id), np.stack(targets), coarse, None))
    return items


def combine(paths: list[str]) -> int:
    """Choose one rule for several validation sets: the best worst change over all of them."""
    worst = {}
    for path in paths:
        record = json.loads(Path(path).read_text())
        df = pd.DataFrame(record["table"]).set_index(["rule", "threshold"])
        worst[f"{record['data']} ({record['objects']} objects)"] = df["worst change"]
    both = pd.DataFrame(worst)
    both["worst over all"] = both.min(axis=1)
    best_rule, best = both["worst over all"].idxmax()
    print("worst change of IoU, mIoU and boundary IoU against the coarse masks (points):")
    print(both.round(2).to_markdown())
    print(f"\nchosen: {best_rule} >= {best}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sam_lite_real")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--data", choices=("pairs", "bsds"), default="pairs",
                    help="the val pairs (default; where the bars are measured) or BSDS500 val "
                         "regions (held out from both training and the reported numbers)")
    ap.add_argument("--images", type=int, default=None, help="at most N val images")
    ap.add_argument("--targets", type=int, default=4, help="targets per image")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--combine", nargs="+", default=None, metavar="JSON",
                    help="refine nothing: read the tables that earlier runs wrote with --json "
                         "(e.g. --data pairs and --data bsds) and choose the rule whose worst "
                         "change over all of them is best")
    args = ap.parse_args()
    if args.combine:
        return combine(args.combine)
    torch.set_num_threads(args.threads)
    refiner = SAMRefiner(load_sam(args.model, args.checkpoint), "paper", cache=True)
    items = pair_items(args) if args.data == "pairs" else bsds_items(args)
    if items is None:
        print(f"{args.data}: data not found in the shared real folder", file=sys.stderr)
        return 1
    rows = []  # per object: counts of coarse and refined, refined-coarse IoU, predicted IoU
    for image, gt, coarse, ignore in tqdm(items, desc=f"{args.data} val", unit="image"):
        out = refiner.refine(image, coarse)
        for g, c, r, score in zip(gt, coarse, out.masks, out.scores, strict=True):
            ci, cu = intersection_union(c, g, ignore)
            ri, ru = intersection_union(r, g, ignore)
            cbi, cbu = boundary_intersection_union(c, g, ignore=ignore)
            rbi, rbu = boundary_intersection_union(r, g, ignore=ignore)
            ai, au = intersection_union(r, c)
            rows.append((ci, cu, ri, ru, cbi, cbu, rbi, rbu, ai / max(au, 1), score))
    a = np.array(rows, dtype=float)
    table = []
    for rule, t in [("coarse IoU", t) for t in THRESHOLDS] + [("score", t) for t in SCORES]:
        keep = a[:, 8] >= t if rule == "coarse IoU" else np.nan_to_num(a[:, 9], nan=-1) >= t
        inter = np.where(keep, a[:, 2], a[:, 0])
        union = np.where(keep, a[:, 3], a[:, 1])
        binter = np.where(keep, a[:, 6], a[:, 4])
        bunion = np.where(keep, a[:, 7], a[:, 5])
        table.append({
            "rule": rule, "threshold": t, "kept %": 100 * keep.mean(),
            "IoU change": 100 * (inter.sum() / union.sum() - a[:, 0].sum() / a[:, 1].sum()),
            "mIoU change": 100 * np.mean(inter / np.maximum(union, 1)
                                         - a[:, 0] / np.maximum(a[:, 1], 1)),
            "boundary IoU change": 100 * (binter.sum() / bunion.sum()
                                          - a[:, 4].sum() / a[:, 5].sum()),
        })
    df = pd.DataFrame(table).set_index(["rule", "threshold"])
    df["worst change"] = df[["IoU change", "mIoU change", "boundary IoU change"]].min(axis=1)
    best_rule, best = df["worst change"].idxmax()
    print(f"\n{len(a)} {args.data} val objects from {len(items)} images, model {args.model}, "
          f"paper preset + one acceptance rule (percentage points vs coarse):")
    print(df.round(2).to_markdown())
    print(f"\nchosen: {best_rule} >= {best}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "command": " ".join(["benchmarks/bench_safe_threshold.py", *sys.argv[1:]]),
            "model": args.model, "data": args.data, "objects": len(a), "images": len(items),
            "chosen": {"rule": best_rule, "threshold": best},
            "table": df.reset_index().to_dict(orient="records")}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
