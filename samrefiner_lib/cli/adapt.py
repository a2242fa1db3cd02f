"""``samrefiner adapt``: train an IoU-head adaptor (SAMRefiner++) on images with coarse masks.

Two ways to name the training data (no ground truth is needed):

* a folder pair, ``--images IMAGES/ --masks MASKS/``: every image ``IMAGES/<stem>.<ext>`` has
  one coarse mask ``MASKS/<stem>.png`` (any image suffix) or a folder ``MASKS/<stem>/`` with one
  mask file per object;
* a list file, ``--list pairs.tsv``: one image per line, ``image<TAB>mask[<TAB>mask ...]``,
  paths relative to the list file; ``#`` starts a comment line.

The adaptor is written to ``--out`` (a few KB) and the loss log, one row per optimiser step, to
``--log`` (default: ``<out without suffix>_loss.csv``). Use the adaptor with
``samrefiner refine --adaptor adaptor.pt ...``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..adaption import (
    AdaptionConfig,
    LoRAConfig,
    adapt_iou_head,
    loss_log,
    pairs_from_folders,
    pairs_from_list,
)
from ..io import InputError, check_distinct_outputs, check_output_file
from ..models import available_models, read_checkpoint
from .common import add_model_args, add_preset_args, build_refiner, model_name, with_example

#: First line of the help: runs as is (the demo files come from `samrefiner demo-data`).
EXAMPLE = ("samrefiner demo-data demo && samrefiner adapt --list demo/pairs.tsv "
           "--out demo/adaptor.pt")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt", help="train an IoU-head adaptor on images with coarse masks (SAMRefiner++)",
        **with_example(
            EXAMPLE,
            "Self-boosted IoU adaption: prompt SAM with the box of every coarse mask, take the "
            "candidate that agrees most with the coarse mask as the target, and train a LoRA "
            "adaptor on the IoU head with a margin ranking loss. No ground truth is used. Data: "
            "--images DIR --masks DIR (mask MASKS/<stem>.png or folder MASKS/<stem>/ per image) "
            "or --list FILE (lines 'image<TAB>mask[<TAB>mask ...]').",
        ),
    )
    data = p.add_argument_group("training data (a folder pair or a list file)")
    data.add_argument("--images", default=None, help="folder of images")
    data.add_argument("--masks", default=None,
                      help="folder with <stem>.png (one mask) or <stem>/ (several) per image")
    data.add_argument("--list", default=None, dest="list_file",
                      help="tab-separated list file: image<TAB>mask[<TAB>mask ...] per line")
    p.add_argument("--out", required=True, help="adaptor file to write, e.g. adaptor.pt")
    p.add_argument("--log", default=None,
                   help="loss log CSV (default: <out without suffix>_loss.csv)")
    train = p.add_argument_group("adaptor and optimisation (defaults: the reference code's)")
    d = AdaptionConfig()
    train.add_argument("--rank", type=int, default=d.lora.rank, help="LoRA rank (default 4)")
    train.add_argument("--alpha", type=float, default=d.lora.alpha,
                       help=f"LoRA alpha; the update is scaled by alpha/rank "
                            f"(default {d.lora.alpha:g})")
    train.add_argument("--dropout", type=float, default=d.lora.dropout,
                       help="dropout on the adaptor input (default 0)")
    train.add_argument("--lr", type=float, default=d.lr, help=f"SGD learning rate ({d.lr:g})")
    train.add_argument("--momentum", type=float, default=d.momentum,
                       help=f"SGD momentum ({d.momentum:g})")
    train.add_argument("--weight-decay", type=float, default=d.weight_decay,
                       help=f"SGD weight decay ({d.weight_decay:g})")
    train.add_argument("--milestones", default=",".join(map(str, d.milestones)),
                       help="optimiser steps after which the lr is multiplied by --gamma, "
                            "comma-separated (60,100)")
    train.add_argument("--gamma", type=float, default=d.gamma, help=f"lr decay ({d.gamma:g})")
    train.add_argument("--epochs", type=int, default=d.epochs, help="passes over the masks (1)")
    train.add_argument("--batch-size", type=int, default=d.batch_size,
                       help="masks per optimiser step (5)")
    train.add_argument("--margin", type=float, default=d.margin, help="ranking margin (0.02)")
    train.add_argument("--seed", type=int, default=d.seed, help="seed (0)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_model_args(p)
    add_preset_args(p)
    p.set_defaults(func=run)


def _pairs(args: argparse.Namespace) -> list[tuple[Path, list[Path]]]:
    folders = args.images is not None or args.masks is not None
    if folders and args.list_file is not None:
        raise InputError("give either --images/--masks or --list, not both")
    if args.list_file is not None:
        return pairs_from_list(args.list_file)
    if args.images is None or args.masks is None:
        raise InputError("training data: give --images DIR and --masks DIR, or --list FILE")
    return pairs_from_folders(args.images, args.masks)


def _base_spec(args: argparse.Namespace) -> dict | None:
    """The architecture to record: the registered model's, else the checkpoint's own."""
    name = model_name(args)
    entry = available_models().get(name) if name else None
    if entry is not None and entry.spec is not None:
        return entry.spec.to_dict()
    if args.checkpoint:
        spec = read_checkpoint(args.checkpoint)[1]
        return None if spec is None else spec.to_dict()
    return None


def _log_path(args: argparse.Namespace) -> Path:
    """The loss log file: ``--log``, else ``<out without suffix>_loss.csv`` beside ``--out``."""
    out = Path(args.out)
    return Path(args.log) if args.log else out.with_name(out.stem + "_loss.csv")


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, "--out")
    log_path = check_output_file(_log_path(args), "--log")
    check_distinct_outputs({"--out": args.out, "--log": log_path})
    pairs = _pairs(args)
    try:
        milestones = tuple(int(v) for v in args.milestones.split(",") if v.strip())
    except ValueError as exc:
        raise ValueError(f"--milestones: expected comma-separated integers, got "
                         f"{args.milestones!r}") from exc
    cfg = AdaptionConfig(
        lora=LoRAConfig(rank=args.rank, alpha=args.alpha, dropout=args.dropout),
        lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
        milestones=milestones, gamma=args.gamma, epochs=args.epochs,
        batch_size=args.batch_size, margin=args.margin, seed=args.seed,
    )
    refiner = build_refiner(args)
    model = model_name(args)  # the same resolution as build_refiner
    label = f"{args.list_file}" if args.list_file else f"{args.images} + {args.masks}"
    adaptor = adapt_iou_head(
        refiner, pairs, cfg, model_name=model, spec=_base_spec(args),
        checkpoint=args.checkpoint, data_label=f"{len(pairs)} images from {label}",
        progress=not args.no_progress,
    )
    out = adaptor.save(args.out)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = loss_log(adaptor)
    log.to_csv(log_path, index=False)
    t = adaptor.training
    first = log["loss"].iloc[: max(1, len(log) // 10)].mean()
    last = log["loss"].iloc[-max(1, len(log) // 10):].mean()
    print(f"adapted on {t['masks']} mask(s) of {t['images']} image(s) in {t['steps']} step(s); "
          f"loss {first:.4f} (first 10%) -> {last:.4f} (last 10%)")
    print(f"wrote {out} and {log_path}")
    return 0
