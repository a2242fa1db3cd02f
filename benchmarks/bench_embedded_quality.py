"""Quality of the embedded default: plain prompts, SynthDAVIS and the real pairs.

Usage:
  python benchmarks/bench_embedded_quality.py [--scenes 200] [--objects 300] [--real 0|N]
      [--model sam_tiny_synth] [--checkpoint PATH] [--out benchmarks/results/embedded_quality.json]

1. Single-prompt accuracy on test-split scenes: mean IoU of a jittered box and of one point.
2. SynthDAVIS (DAVIS-585-protocol coarse masks on >= --objects test-split instances): coarse vs
   SAMRefiner with all prompts (paper and reference presets) vs single-prompt configurations.
3. The same protocol on the real pairs in ../shared/data/real (skipped if absent; --real N
   limits the number of images, 0 skips).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib import SAMRefiner, get_preset, load_sam  # noqa: E402
from samrefiner_lib.datasets import load_real_pairs  # noqa: E402
from samrefiner_lib.evaluation import evaluate, synth_davis, with_davis585_coarse  # noqa: E402
from samrefiner_lib.training.evaluate import evaluate_plain_prompts  # noqa: E402


def configurations() -> dict:
    paper = get_preset("paper")
    return {
        "point only": paper.replace(use_box=False, use_mask=False),
        "box only (tight)": paper.replace(use_point=False, use_mask=False, use_cebox=False),
        "box only (CEBox)": paper.replace(use_point=False, use_mask=False),
        "mask only": paper.replace(use_point=False, use_box=False),
        "all prompts (paper)": paper,
        "all prompts (reference)": get_preset("reference"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sam_tiny_synth")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--scenes", type=int, default=200, help="test scenes for plain prompts")
    ap.add_argument("--objects", type=int, default=300, help="SynthDAVIS objects")
    ap.add_argument("--real", type=int, default=-1, help="real images (-1 all, 0 none)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/embedded_quality.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sam = load_sam(args.model, args.checkpoint)
    refiner = SAMRefiner(sam)
    report: dict = {"model": args.model, "checkpoint": args.checkpoint}

    if args.scenes:
        plain = evaluate_plain_prompts(sam, n_scenes=args.scenes, split="test", progress=True)
        report["plain_prompts"] = plain
        print("plain prompts on test scenes (mean IoU):",
              {k: round(v, 4) if isinstance(v, float) else v for k, v in plain.items()})

    cfgs = configurations()
    if args.objects:
        samples = synth_davis(args.objects, split="test")
        res = evaluate(samples, cfgs, refiner, info={"data": "SynthDAVIS test"})
        table = res.table()
        report["synthdavis"] = json.loads(table.reset_index().to_json(orient="records"))
        print(f"\nSynthDAVIS ({table.loc['coarse', 'objects']} objects, model {args.model}):")
        print(table.round(2).to_string())

    if args.real:
        pairs = load_real_pairs()
        if pairs is None:
            print("\nreal pairs not found; skipped")
        else:
            items = list(pairs) if args.real < 0 else [pairs[i] for i in range(args.real)]
            res = evaluate(with_davis585_coarse(items), cfgs, refiner,
                           info={"data": "real pairs, DAVIS-585 protocol"})
            table = res.table()
            report["real"] = json.loads(table.reset_index().to_json(orient="records"))
            print(f"\nReal pairs ({len(items)} images, {table.loc['coarse', 'objects']} objects):")
            print(table.round(2).to_string())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
