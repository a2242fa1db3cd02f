"""Choose the ``safe`` preset's acceptance threshold on held-out validation data.

Usage:
  python benchmarks/bench_safe_threshold.py [--model sam_lite_real] [--images 93]
      [--targets 4] [--seed 0] [--json benchmarks/results/safe_threshold_cpu.json]

Data: the BSDS500 images of the ``val`` side of the fixed split (never trained on, and not the
pairs on which the project reports its numbers), up to ``--targets`` region targets per image
(:func:`~samrefiner_lib.datasets.bsds500.region_targets` on the first annotator's map, seeded),
each with a DAVIS-585-protocol coarse mask. For every candidate threshold of
``accept_min_coarse_iou`` (a refined mask is kept only when its IoU with the coarse mask reaches
it) the script reports the change in cumulative IoU, mean IoU and cumulative boundary IoU
against the coarse masks, and picks the threshold whose smallest of the three changes is
largest: a rule meant to do no harm should improve all three. With one iteration the rule is
applied to the ``paper`` preset's output after the fact, which is exactly what the refiner does.
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
from samrefiner_lib.datasets.real import default_real_root  # noqa: E402
from samrefiner_lib.datasets.real_split import real_split  # noqa: E402
from samrefiner_lib.defects import davis585_coarse_mask  # noqa: E402
from samrefiner_lib.metrics.boundary import boundary_intersection_union  # noqa: E402
from samrefiner_lib.metrics.iou import intersection_union  # noqa: E402

THRESHOLDS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sam_lite_real")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--images", type=int, default=None, help="at most N BSDS500 val images")
    ap.add_argument("--targets", type=int, default=4, help="targets per image")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = default_real_root()
    if root is None or not (root / "BSDS500").is_dir():
        print("BSDS500 not found in the shared real folder", file=sys.stderr)
        return 1
    bsds = BSDS500(root / "BSDS500")
    ids = [i for i in bsds.ids if real_split(f"BSDS500/{i}") == "val"][: args.images]
    refiner = SAMRefiner(load_sam(args.model, args.checkpoint), "paper", cache=True)
    rows = []  # per object: counts of coarse and refined, and the refined-coarse IoU
    for k, image_id in enumerate(tqdm(ids, desc="BSDS500 val", unit="image")):
        rng = np.random.default_rng([args.seed, k])
        targets = region_targets(bsds.segmentations(image_id)[0], rng, args.targets)
        if not targets:
            continue
        gt = np.stack(targets)
        coarse = np.stack([davis585_coarse_mask(t, rng)[0] for t in targets])
        out = refiner.refine(bsds.image(image_id), coarse)
        for g, c, r in zip(gt, coarse, out.masks, strict=True):
            ci, cu = intersection_union(c, g)
            ri, ru = intersection_union(r, g)
            cbi, cbu = boundary_intersection_union(c, g)
            rbi, rbu = boundary_intersection_union(r, g)
            ai, au = intersection_union(r, c)
            rows.append((ci, cu, ri, ru, cbi, cbu, rbi, rbu, ai / max(au, 1)))
    a = np.array(rows, dtype=float)
    table = []
    for t in THRESHOLDS:
        keep = a[:, 8] >= t
        inter = np.where(keep, a[:, 2], a[:, 0])
        union = np.where(keep, a[:, 3], a[:, 1])
        binter = np.where(keep, a[:, 6], a[:, 4])
        bunion = np.where(keep, a[:, 7], a[:, 5])
        table.append({
            "threshold": t, "kept %": 100 * keep.mean(),
            "IoU change": 100 * (inter.sum() / union.sum() - a[:, 0].sum() / a[:, 1].sum()),
            "mIoU change": 100 * np.mean(inter / np.maximum(union, 1)
                                         - a[:, 0] / np.maximum(a[:, 1], 1)),
            "boundary IoU change": 100 * (binter.sum() / bunion.sum()
                                          - a[:, 4].sum() / a[:, 5].sum()),
        })
    df = pd.DataFrame(table).set_index("threshold")
    df["worst change"] = df[["IoU change", "mIoU change", "boundary IoU change"]].min(axis=1)
    best = float(df["worst change"].idxmax())
    print(f"\n{len(a)} BSDS500 val objects from {len(ids)} images, model {args.model}, "
          f"paper preset + accept_min_coarse_iou (percentage points vs coarse):")
    print(df.round(2).to_markdown())
    print(f"\nchosen threshold: {best}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "command": " ".join(["benchmarks/bench_safe_threshold.py", *sys.argv[1:]]),
            "model": args.model, "objects": len(a), "images": len(ids), "chosen": best,
            "table": df.reset_index().to_dict(orient="records")}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
