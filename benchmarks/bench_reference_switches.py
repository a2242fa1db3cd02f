"""What each reference-code behaviour of the ``reference`` preset changes, on real photographs.

Usage:
  python benchmarks/bench_reference_switches.py [--model sam_tiny_synth] [--n 30]
      [--threads 1] [--json out.json]

Starts from the ``reference`` preset with its six reproduction switches off (``distance``,
``negative_region``, ``cebox_rules``, ``amplitude_from_last_mask``, ``resize_backend`` with
``coord_precision``'s float32 scaling measured separately) and turns each on alone, then all
of them (the ``reference`` preset itself). The reference code runs CEBox off by default, where
``cebox_rules`` and ``amplitude_from_last_mask`` cannot act, so those two are measured with
CEBox on (lambda 0.1). Samples: the first N validation pairs of the real photographs with
DAVIS-585-protocol coarse masks. Reports cumulative IoU (sum I / sum U), and how many objects'
IoU differs from the switches-off row (a mask that changed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
import torch

from samrefiner_lib import SAMRefiner, get_preset, load_sam
from samrefiner_lib.datasets import load_real_pairs
from samrefiner_lib.evaluation import evaluate
from samrefiner_lib.evaluation.protocols import with_davis585_coarse

#: The reproduction switches and their values in the ``paper`` preset (all off).
SWITCHES_OFF = {
    "distance": "exact",
    "negative_region": "box",
    "cebox_rules": "clean",
    "amplitude_from_last_mask": False,
    "resize_backend": "opencv",
    "coord_precision": "float64",
}


def configurations() -> dict[str, object]:
    """Name -> RefinerConfig: switches off, each alone, all on; without and with CEBox."""
    on = {k: getattr(get_preset("reference"), k) for k in SWITCHES_OFF}
    out = {}
    for cebox, alone in [(False, ["distance", "negative_region", "resize_backend",
                                  "coord_precision"]),
                         (True, ["cebox_rules", "amplitude_from_last_mask"])]:
        extra = {"use_cebox": True, "cebox_lambda": 0.1} if cebox else {}
        tag = " +CEBox" if cebox else ""
        out[f"switches off{tag}"] = get_preset("reference", **SWITCHES_OFF, **extra)
        for name in alone:
            out[f"{name}={on[name]!r}{tag}"] = get_preset(
                "reference", **{**SWITCHES_OFF, name: on[name]}, **extra)
        out[f"all on{tag}"] = get_preset("reference", **extra)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sam_tiny_synth")
    ap.add_argument("--n", type=int, default=30, help="validation pairs to use")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pairs = load_real_pairs(split="val")
    if pairs is None:
        raise SystemExit("the real photographs are not available")
    samples = list(with_davis585_coarse(itertools.islice(pairs, args.n)))
    configs = configurations()
    t = time.perf_counter()
    res = evaluate(samples, configs, SAMRefiner(load_sam(args.model)), top1=False,
                   progress=False)
    seconds = time.perf_counter() - t
    table = res.table()
    per = res.per_object()
    rows = []
    for name in configs:
        base = "switches off +CEBox" if name.endswith("+CEBox") else "switches off"
        a = per[per.method == name].sort_values(["sample", "object"]).iou.to_numpy()
        b = per[per.method == base].sort_values(["sample", "object"]).iou.to_numpy()
        rows.append({"configuration": name,
                     "cumulative_iou": float(table.loc[name, "IoU"]),
                     "objects_changed": int(np.count_nonzero(a != b)),
                     "seconds": float(res.seconds[name])})
    print(f"{args.model}, {len(samples)} images, {len(per[per.method == 'coarse'])} objects, "
          f"coarse cIoU {table.loc['coarse', 'IoU']:.2f}, {seconds:.0f} s")
    for r in rows:
        print(f"  {r['configuration']:<40} cIoU {r['cumulative_iou']:6.2f}  "
              f"changed {r['objects_changed']:3d}  {r['seconds']:5.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "images": len(samples),
                       "coarse_cumulative_iou": float(table.loc["coarse", "IoU"]),
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
