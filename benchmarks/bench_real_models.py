"""Models side by side on the real validation photographs: quality of every prompt set, timing.

Usage:
  python benchmarks/bench_real_models.py [--models sam_lite_real litemedsam sam_tiny_synth]
      [--checkpoint NAME=PATH ...] [--limit N] [--seed 0] [--threads 2]
      [--json benchmarks/results/real_models_cpu.json]

Data: the ``val`` side of the fixed split of the shared real pairs (GrabCut 18, COCO-MVal 25,
Weizmann horses 66; ``samrefiner_lib.datasets.real_split``), with DAVIS-585-protocol coarse
masks (seed ``--seed``). No model was trained on these images.

Rows, for each model: the coarse input; the seven prompt combinations of Table 1 on the
``paper`` preset ("point + box + mask" is the ``paper`` preset itself); the ``safe`` preset; and
the ground truth's tight box alone with the single output ("GT box", the bar for a model that
can read a box); and the ``paper`` preset choosing, of its 3 candidates, the one closest to the
ground truth ("paper, oracle choice": what a perfect IoU head would give). Printed in percent:
cumulative IoU, mean IoU, cumulative boundary IoU and the IoU head's top-1 accuracy, then
the bars of the default model, then the encoder's seconds per image and the decoder's
milliseconds per mask (``paper`` preset, median over images; one run, same machine).

``--checkpoint NAME=PATH`` loads a registered model from another weights file, e.g.
``sam_tiny_synth=runs/tiny/sam_tiny_real.pt`` (shown as ``NAME@PATH-stem``). Encoder outputs go
through the persistent embedding cache, so a rerun does not re-encode. Each model's figures are
also kept in ``--parts DIR`` (one JSON file per model, keyed by its label and weights file); a
rerun reuses them unless ``--fresh`` is given, so models can be measured at different times and
a killed run loses only the model it was on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib import SAMRefiner, load_sam  # noqa: E402
from samrefiner_lib.config import get_preset  # noqa: E402
from samrefiner_lib.datasets import load_real_pairs  # noqa: E402
from samrefiner_lib.datasets.sample import Sample  # noqa: E402
from samrefiner_lib.decoding import encode_image  # noqa: E402
from samrefiner_lib.evaluation import evaluate  # noqa: E402
from samrefiner_lib.evaluation.protocols import with_davis585_coarse  # noqa: E402
from samrefiner_lib.evaluation.provenance import software_versions  # noqa: E402
from samrefiner_lib.experiments.prompt_ablations import prompt_combinations  # noqa: E402
from samrefiner_lib.metrics.boundary import boundary_intersection_union  # noqa: E402
from samrefiner_lib.metrics.iou import intersection_union  # noqa: E402
from samrefiner_lib.models import available_models  # noqa: E402
from samrefiner_lib.selectors import OracleSelector  # noqa: E402

METRICS = ["IoU", "mIoU", "boundary IoU"]
SHOWN = [*METRICS, "top-1"]


def model_rows(name: str, checkpoint: str | None, samples: list[Sample], timing_images: int
               ) -> tuple[pd.DataFrame, dict]:
    sam = load_sam(name, checkpoint)
    refiner = SAMRefiner(sam, "paper", cache=True)
    configs = prompt_combinations(get_preset("paper"))
    configs["safe"] = get_preset("safe")
    res = evaluate(samples, configs, refiner, top1=True, progress=True,
                   info={"model": name, "checkpoint": checkpoint})
    table = res.table()[METRICS + ["objects"]]
    box_cfg = get_preset("paper", use_point=False, use_mask=False, use_cebox=False,
                         multimask_output=False)
    as_gt = [Sample(s.image, s.gt, s.gt, s.ignore, s.name, s.meta) for s in samples]
    gt_box = evaluate(as_gt, {"GT box": box_cfg}, refiner, top1=False, progress=False).table()
    table.loc["GT box"] = gt_box.loc["GT box", METRICS + ["objects"]]
    # What the IoU head's choice costs: the paper preset with the candidate closest to the
    # ground truth (an upper bound no method can reach without the ground truth).
    oracle = {"i": 0, "u": 0, "bi": 0, "bu": 0, "ious": []}
    for s in samples:
        out = refiner.refine_masks(refiner.encode(s.image), s.coarse, get_preset("paper"),
                                   OracleSelector(s.gt))
        for m, g in zip(out.masks, s.gt, strict=True):
            i, u = intersection_union(m, g, s.ignore)
            bi, bu = boundary_intersection_union(m, g, ignore=s.ignore)
            oracle["i"] += i
            oracle["u"] += u
            oracle["bi"] += bi
            oracle["bu"] += bu
            oracle["ious"].append(i / max(u, 1))
    table.loc["paper, oracle choice"] = [100 * oracle["i"] / oracle["u"],
                                         100 * float(np.mean(oracle["ious"])),
                                         100 * oracle["bi"] / oracle["bu"],
                                         len(oracle["ious"])]
    table["top-1"] = res.table()["top-1"]
    enc, dec = [], []
    for s in samples[:timing_images]:
        t = time.perf_counter()
        emb = encode_image(sam, s.image)
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        refiner.refine_masks(emb, s.coarse)
        dec.append((time.perf_counter() - t) / len(s.coarse))
    timing = {"encoder_s_per_image": statistics.median(enc),
              "decoder_ms_per_mask": 1000 * statistics.median(dec), "images_timed": len(enc)}
    return table, timing


def bars(table: pd.DataFrame) -> list[tuple[str, bool, str]]:
    c, p, s = table.loc["coarse"], table.loc["point + box + mask"], table.loc["safe"]
    singles = ["point", "box", "mask"]
    best_single = max(table.loc[k, "IoU"] for k in singles)
    return [
        ("GT box mean IoU >= 75", table.loc["GT box", "mIoU"] >= 75,
         f"{table.loc['GT box', 'mIoU']:.2f}"),
        ("paper cumulative IoU >= coarse + 2", p["IoU"] >= c["IoU"] + 2,
         f"{p['IoU'] - c['IoU']:+.2f}"),
        ("paper boundary IoU >= coarse + 2", p["boundary IoU"] >= c["boundary IoU"] + 2,
         f"{p['boundary IoU'] - c['boundary IoU']:+.2f}"),
        *[(f"safe {m} >= coarse + 1", s[m] >= c[m] + 1, f"{s[m] - c[m]:+.2f}") for m in METRICS],
        ("all prompts beat each single prompt", p["IoU"] > best_single,
         f"{p['IoU']:.2f} vs best single {best_single:.2f}"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["sam_lite_real", "litemedsam",
                                                     "sam_tiny_synth"])
    ap.add_argument("--checkpoint", action="append", default=[],
                    help="NAME=PATH: load model NAME from PATH (repeatable; adds a column)")
    ap.add_argument("--limit", type=int, default=None, help="first N validation pairs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the DAVIS-585 protocol")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing-images", type=int, default=10)
    ap.add_argument("--json", default=None, help="write all figures here")
    ap.add_argument("--parts", default="benchmarks/results/real_models_parts",
                    help="folder of per-model results reused by later runs")
    ap.add_argument("--fresh", action="store_true", help="measure every model again")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pairs = load_real_pairs(split="val")
    if pairs is None:
        print("real data folder not found; nothing to measure", file=sys.stderr)
        return 1
    n = len(pairs) if args.limit is None else min(args.limit, len(pairs))
    samples = list(with_davis585_coarse((pairs[i] for i in range(n)), args.seed))
    runs = [(m, None, m) for m in args.models]
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep:
            ap.error(f"--checkpoint {item!r}: expected NAME=PATH")
        runs.append((name, path, f"{name}@{Path(path).stem}"))
    tables, timings = {}, {}
    parts = Path(args.parts)
    parts.mkdir(parents=True, exist_ok=True)
    for name, ckpt, label in runs:
        weights = ckpt or available_models()[name].weights
        digest = hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:12] if weights else "-"
        # The key names everything a row depends on: weights, images, seed and presets.
        configs = hashlib.sha256(json.dumps(
            [c.to_dict() for c in [*prompt_combinations(get_preset("paper")).values(),
                                   get_preset("safe")]] + ["oracle", "top-1"],
            sort_keys=True, default=str
        ).encode()).hexdigest()[:8]
        part = parts / f"{label.replace('/', '_')}-{digest}-n{n}-seed{args.seed}-{configs}.json"
        if part.is_file() and not args.fresh:
            saved = json.loads(part.read_text())
            tables[label] = pd.DataFrame(saved["table"]).set_index("method")
            timings[label] = saved["timing"]
            print(f"== {label}: reusing {part}")
            continue
        print(f"\n== {label}", flush=True)
        tables[label], timings[label] = model_rows(name, ckpt, samples, args.timing_images)
        part.write_text(json.dumps({"table": tables[label].reset_index().to_dict("records"),
                                    "timing": timings[label]}, default=float))
    print(f"\nReal validation pairs: {n} images ({pairs.counts()}), DAVIS-585-protocol coarse "
          f"masks (seed {args.seed}); rows on the 'paper' preset unless named; percent.")
    for metric in SHOWN:
        wide = pd.DataFrame({label: t[metric] for label, t in tables.items()})
        print(f"\n{metric}:\n{wide.round(2).to_markdown()}")
    first = runs[0][2]
    print(f"\nBars for {first}:")
    for text, ok, value in bars(tables[first]):
        print(f"  [{'met' if ok else 'NOT met'}] {text}: {value}")
    print("\nTiming (median, this machine, one run):")
    print(pd.DataFrame(timings).T.round(3).to_markdown())
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": " ".join(["benchmarks/bench_real_models.py", *sys.argv[1:]]),
                   "images": n, "counts": pairs.counts(), "seed": args.seed,
                   "threads": args.threads, "software": software_versions(),
                   "tables": {k: t.reset_index().to_dict(orient="records")
                              for k, t in tables.items()},
                   "timing": timings,
                   "bars": {first: [{"bar": b, "met": bool(ok), "value": v}
                                    for b, ok, v in bars(tables[first])]}}
        out.write_text(json.dumps(payload, indent=1, default=float))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
