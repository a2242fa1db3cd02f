"""Re-fit the IoU head of a LiteMedSAM-based model on real photographs, on a CPU.

The refiner (``paper`` preset) is run once over the ``train`` side of the real photographs with
DAVIS-585-protocol coarse masks, storing, for every refined mask, the IoU head's input and each
candidate's counts against the ground truth (``samrefiner_lib.training.iou_head_fit``). The head
alone is then fitted on those rows; the epoch kept is the best on a held-out part of the train
images (by default on their ``paper``-preset rows, so that the fit may improve the ranking of
the other prompt sets but not at the cost of the refiner's default). The validation pairs (the
``val`` side, seed 0: the images and coarse masks of ``benchmarks/bench_real_models.py``) are
only measured, never fitted on.

Example (how the shipped head was made; ``runs/lite3b/sam_lite_real.pt`` is the heads file that
stage 2's ``data_scripts/train_on_real.py --export`` wrote, before the re-fit):
  python data_scripts/fit_iou_head.py --checkpoint runs/lite3b/sam_lite_real.pt \\
      --out runs/iou_head3 --json benchmarks/results/real_training/iou_head_fit.json \\
      --export samrefiner_lib/weights/sam_lite_real.pt

Collected example sets are kept in OUT/examples/ (one ``.npz`` per source and seed, named by a
digest of the decoder weights other than the IoU head's), so a killed or repeated run, or a run
on the re-fitted model, collects only what is missing. Printed: the val pairs' cumulative IoU,
mean IoU, boundary IoU and top-1 accuracy of the coarse masks, the head as loaded, the re-fitted
head and the oracle choice, in percent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib import SAMRefiner, load_sam  # noqa: E402
from samrefiner_lib.config import RefinerConfig, get_preset  # noqa: E402
from samrefiner_lib.datasets.bsds500 import BSDS500, region_targets  # noqa: E402
from samrefiner_lib.datasets.real import default_real_root, load_real_pairs  # noqa: E402
from samrefiner_lib.datasets.real_split import real_split  # noqa: E402
from samrefiner_lib.datasets.sample import Sample  # noqa: E402
from samrefiner_lib.evaluation.protocols import davis585_masks, with_davis585_coarse  # noqa: E402
from samrefiner_lib.experiments.prompt_ablations import prompt_combinations  # noqa: E402
from samrefiner_lib.models import available_models  # noqa: E402
from samrefiner_lib.models.litemedsam import read_heads, save_heads  # noqa: E402
from samrefiner_lib.training.iou_head_fit import (  # noqa: E402
    IoUExamples,
    IoUHeadFitSettings,
    collect_iou_examples,
    fit_iou_head,
)

HOLDOUT_SALT = "samrefiner-iou-head-holdout-v1"


def in_holdout(name: str, fraction: float) -> bool:
    """Whether a train-side image is held out to choose the epoch (a fixed hash of its name)."""
    digest = hashlib.sha256(f"{HOLDOUT_SALT}:{name}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32 < fraction


def decoder_key(sam: torch.nn.Module) -> str:
    """A digest of every weight the stored rows depend on: all but the IoU head's (whose input
    does not depend on it), so sets collected before a re-fit stay valid after it."""
    h = hashlib.sha256()
    for name, t in sorted(sam.state_dict().items()):
        head = "iou_prediction_head" in name
        if name.startswith(("prompt_encoder.", "mask_decoder.")) and not head:
            h.update(name.encode())
            h.update(t.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()[:12]


def bsds_samples(root: Path, seed: int, targets: int) -> list[Sample]:
    """Train-side BSDS500 images, each with region targets of one annotator and coarse masks."""
    bsds = BSDS500(root / "BSDS500")
    out = []
    for k, i in enumerate(x for x in bsds.ids if real_split(f"BSDS500/{x}") == "train"):
        rng = np.random.default_rng([seed, 17, k])
        maps = bsds.segmentations(i)
        gt = region_targets(maps[rng.integers(len(maps))], rng, targets)
        if not gt:
            continue
        gt = np.stack(gt)
        out.append(Sample(bsds.image(i), gt, davis585_masks(gt, seed, k), None,
                          f"BSDS500/{i}", {"pairing": "index"}))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sam_lite_real")
    ap.add_argument("--checkpoint", default=None,
                    help="start from this weights file of --model (e.g. heads before a re-fit)")
    ap.add_argument("--out", default="runs/iou_head")
    ap.add_argument("--pair-seeds", type=int, nargs="+", default=[1, 2, 3],
                    help="coarse-mask seeds of the train pairs (one example set each)")
    ap.add_argument("--bsds-seeds", type=int, nargs="*", default=[],
                    help="coarse-mask seeds of train BSDS500 images to fit on too (default none: "
                         "fitted on BSDS500 regions as well, the head ranked the validation "
                         "pairs' objects worse)")
    ap.add_argument("--bsds-targets", type=int, default=4, help="region targets per BSDS image")
    ap.add_argument("--holdout", type=float, default=0.25,
                    help="fraction of train images held out to choose the epoch")
    ap.add_argument("--choose-on", choices=["paper", "pairs", "all"], default="paper",
                    help="held-out rows that choose the epoch: the pairs' objects refined with "
                         "the paper preset's prompts (the refiner's default; epoch 0, the head "
                         "as loaded, wins when no epoch beats it there), the pairs' objects with "
                         "every prompt set, or BSDS500 regions too")
    ap.add_argument("--prompt-sets", choices=["paper", "all"], default="all",
                    help="fit on the paper preset's prompts only, or also on the other six "
                         "prompt combinations of Table 1 (so that the head ranks their "
                         "candidates too)")
    ap.add_argument("--other-seeds", type=int, nargs="+", default=[1],
                    help="coarse-mask seeds of the train pairs for the other prompt sets")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None,
                    help="also write the fit's record (settings, figures, log) here")
    ap.add_argument("--export", default=None, help="write the model's heads with the new IoU "
                    "head here (a LiteMedSAM heads file)")
    for f, default in asdict(IoUHeadFitSettings()).items():
        ap.add_argument(f"--{f.replace('_', '-')}", type=type(default), default=default)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = default_real_root()
    if root is None:
        print("real data folder not found; nothing to fit on", file=sys.stderr)
        return 1
    out = Path(args.out)
    sam = load_sam(args.model, args.checkpoint)
    refiner = SAMRefiner(sam, "paper", cache=True)

    key = decoder_key(sam)

    def collected(label: str, make, config: RefinerConfig | None = None) -> IoUExamples:
        path = out / "examples" / f"{args.model}-{key}-{label}.npz"
        if path.is_file():
            return IoUExamples.load(path)
        t = time.perf_counter()
        samples = make()
        ex = collect_iou_examples(refiner, samples, config, total=len(samples))
        ex.save(path)
        print(f"{label}: {len(ex)} masks in {time.perf_counter() - t:.0f} s -> {path}",
              flush=True)
        return ex

    val_pairs = load_real_pairs(split="val")
    val = collected("val-pairs-seed0", lambda: list(with_davis585_coarse(val_pairs, 0)))
    train_pairs = load_real_pairs(split="train")
    parts = [collected(f"train-pairs-seed{seed}",
                       lambda s=seed: list(with_davis585_coarse(train_pairs, s)))
             for seed in args.pair_seeds]
    n_paper_rows = sum(len(p) for p in parts)
    # The other prompt combinations of Table 1 ("point + box + mask" is the paper preset).
    others = {} if args.prompt_sets == "paper" else {
        name: cfg for name, cfg in prompt_combinations(get_preset("paper")).items()
        if name != "point + box + mask"}
    other_val = {}
    for name, cfg in others.items():
        slug = name.replace(" + ", "-")
        parts += [collected(f"train-pairs-seed{seed}-{slug}",
                            lambda s=seed: list(with_davis585_coarse(train_pairs, s)), cfg)
                  for seed in args.other_seeds]
        other_val[name] = collected(f"val-pairs-seed0-{slug}",
                                    lambda: list(with_davis585_coarse(val_pairs, 0)), cfg)
    parts += [collected(f"train-bsds-seed{seed}",
                        lambda s=seed: bsds_samples(root, s, args.bsds_targets))
              for seed in args.bsds_seeds]
    everything = IoUExamples.concat(parts)
    hold = np.array([in_holdout(n, args.holdout) for n in everything.names])
    pair_rows = np.array([not n.startswith("BSDS500/") for n in everything.names])
    train = everything.subset(~hold)
    paper_rows = np.arange(len(everything)) < n_paper_rows  # the first parts, see above
    chooser = {"paper": pair_rows & paper_rows, "pairs": pair_rows,
               "all": np.ones(len(everything), bool)}[args.choose_on]
    holdout = everything.subset(hold & chooser)
    print(f"fit on {len(train)} masks, choose the epoch on {len(holdout)} held-out masks "
          f"({len(set(holdout.names))} images); report on {len(val)} val masks", flush=True)
    settings = IoUHeadFitSettings(**{f: getattr(args, f) for f in asdict(IoUHeadFitSettings())})
    head = sam.mask_decoder.iou_prediction_head
    t = time.perf_counter()
    fitted, log = fit_iou_head(head, train, holdout, settings)
    fit_s = time.perf_counter() - t
    best = max(log, key=lambda r: r[settings.select_by])
    print(f"fitted in {fit_s:.1f} s; kept epoch {best['epoch']} (holdout {settings.select_by} "
          f"{best[settings.select_by]:.2f}, epoch 0 {log[0][settings.select_by]:.2f})")
    rows = {"coarse": val.coarse_summary(),
            "head as loaded": val.head_summary(head),
            "re-fitted head": val.head_summary(fitted),
            "oracle choice": val.summary(val.true_iou.argmax(1))}
    table = pd.DataFrame(rows).T
    print(f"\n{args.model}, 'paper' preset, real val pairs ({len(val)} masks), percent:")
    print(table.round(2).to_markdown())
    combos = {}
    for name, ex in {**other_val, "point + box + mask": val}.items():
        before = ex.head_summary(head)
        after = ex.head_summary(fitted)
        combos[name] = {"IoU, loaded": before["IoU"], "IoU, re-fitted": after["IoU"],
                        "IoU, oracle": ex.summary(ex.true_iou.argmax(1))["IoU"],
                        "top-1, loaded": before["top-1"], "top-1, re-fitted": after["top-1"]}
    if other_val:
        print("\nEvery prompt combination of Table 1, same val pairs (cumulative IoU, top-1):")
        print(pd.DataFrame(combos).T.round(2).to_markdown())
    out.mkdir(parents=True, exist_ok=True)
    record = json.dumps(
        {"command": " ".join(["data_scripts/fit_iou_head.py", *sys.argv[1:]]),
         "settings": asdict(settings), "train_masks": len(train), "holdout_masks": len(holdout),
         "val_masks": len(val), "fit_seconds": fit_s, "kept_epoch": best["epoch"],
         "val": table.reset_index(names="head").to_dict("records"),
         "val_prompt_sets": combos, "log": log},
        indent=1, default=float)
    for path in [out / f"{args.model}-fit.json", *([Path(args.json)] if args.json else [])]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(record)
    if args.export:
        entry = available_models()[args.model]
        meta = torch.load(entry.weights, map_location="cpu", weights_only=True)
        extra = {k2: v for k2, v in meta.items() if k2 not in ("kind", "encoder_sha256",
                                                               "state_dict")}
        extra["iou_head_fit"] = {"settings": asdict(settings), "kept_epoch": best["epoch"],
                                 "train_masks": len(train), "pair_seeds": args.pair_seeds,
                                 "bsds_seeds": args.bsds_seeds, "choose_on": args.choose_on,
                                 "prompt_sets": args.prompt_sets,
                                 "other_seeds": args.other_seeds}
        sam.mask_decoder.iou_prediction_head.load_state_dict(fitted.state_dict())
        path = save_heads(sam, args.export, extra=extra)
        # What ships is float16: report the choices of the head as written.
        sd = read_heads(path)
        prefix = "mask_decoder.iou_prediction_head."
        fitted.load_state_dict({k2[len(prefix):]: v.float() for k2, v in sd.items()
                                if k2.startswith(prefix)})
        shipped = val.head_summary(fitted)
        print(f"wrote {path}; val with the float16 head: "
              + ", ".join(f"{m} {v:.2f}" for m, v in shipped.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
