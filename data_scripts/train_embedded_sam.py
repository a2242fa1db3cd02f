"""Train the embedded model: a small SAM on synthetic scenes, following SAM's recipe.

Examples:
  # the shipped weights (one GPU; the schedule follows wall-clock time)
  python data_scripts/train_embedded_sam.py --out runs/embedded --minutes 7.5 --device cuda \\
      --batch 64 --workers 14 --export samrefiner_lib/weights/sam_tiny_synth.pt
  # a CPU run with a fixed, reproducible schedule, resumable across sittings
  python data_scripts/train_embedded_sam.py --out runs/cpu --steps 3000 --batch 8 --workers 1

Training state is saved to OUT/last.pt every --checkpoint-every steps; rerunning the same
command resumes from it. At the end the model is evaluated on test-split scenes (mean IoU of a
single jittered box and of a single point) and, with --export, written as a float16 file that
``load_sam`` reads, with the evaluation and the training facts embedded.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samrefiner_lib.models.embedded import EMBEDDED_SPEC  # noqa: E402
from samrefiner_lib.training.data import SampleSettings  # noqa: E402
from samrefiner_lib.training.evaluate import evaluate_plain_prompts  # noqa: E402
from samrefiner_lib.training.trainer import (  # noqa: E402
    TrainSettings,
    build_trained,
    export_weights,
    train,
)


def hardware(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    threads = torch.get_num_threads()
    return f"{platform.machine()} CPU, {threads} threads (torch {torch.__version__})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl)")
    ap.add_argument("--steps", type=int, default=2000, help="optimiser steps (fixed schedule)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="train for this wall-clock time instead of --steps")
    ap.add_argument("--batch", type=int, default=16, help="scenes per step")
    ap.add_argument("--targets", type=int, default=8, help="target masks per scene")
    ap.add_argument("--rounds", type=int, default=3, help="decoding rounds per target")
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2, help="data-loading processes")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--no-resume", action="store_true",
                    help="start over even if OUT/last.pt exists")
    ap.add_argument("--eval-scenes", type=int, default=200, help="test scenes for the final check")
    ap.add_argument("--export", default=None, help="write the shippable float16 weights here")
    ap.add_argument("--init", default=None,
                    help="start a new run from these model weights (e.g. an earlier export)")
    args = ap.parse_args()

    samples = SampleSettings(img_size=EMBEDDED_SPEC.img_size, targets_per_image=args.targets)
    settings = TrainSettings(
        steps=args.steps, minutes=args.minutes, batch_images=args.batch, rounds=args.rounds,
        lr=args.lr, warmup_steps=args.warmup, workers=args.workers, seed=args.seed,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every,
    )
    facts = {"hardware": hardware(args.device), "train_settings": asdict(settings),
             "sample_settings": asdict(samples), "init": args.init}

    def report(rec: dict) -> None:
        print(f"step {rec['step']:6d}  {rec['elapsed_s']:7.1f}s  lr {rec['lr']:.2e}  "
              f"loss {rec['loss']:.4f}  box IoU {rec.get('box_single/r0/iou', float('nan')):.3f}  "
              f"point IoU {rec.get('point/r0/iou', float('nan')):.3f}  "
              f"data wait {rec['data_wait_s']:.0f}s", flush=True)

    def export(ckpt: Path) -> None:
        if args.export:
            export_weights(ckpt, args.export, extra={"card": facts})

    t0 = time.time()
    ckpt = train(EMBEDDED_SPEC, samples, settings, args.out, device=args.device,
                 resume=not args.no_resume, progress=report, on_checkpoint=export, init=args.init)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    facts.update(steps=int(state["step"]), train_seconds=round(float(state["elapsed"]), 1),
                 wall_seconds_this_sitting=round(time.time() - t0, 1))
    sam = build_trained(ckpt, device=args.device)
    metrics = evaluate_plain_prompts(sam, n_scenes=args.eval_scenes, split="test")
    facts["test_metrics"] = metrics
    print(json.dumps(facts["test_metrics"], indent=2))
    (Path(args.out) / "final_eval.json").write_text(json.dumps(facts, indent=2))
    export(ckpt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
