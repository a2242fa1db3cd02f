"""Options shared by several subcommands: model, checkpoint, device, preset."""

from __future__ import annotations

import argparse

import torch

from ..config import PRESETS, get_preset
from ..models import load_sam
from ..models.embedded import DEFAULT_MODEL
from ..refiner import SAMRefiner


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help=f"registered model name (default: {DEFAULT_MODEL}, the embedded model, "
                        "or the architecture a project checkpoint names; vit_h/vit_l/vit_b need "
                        "--checkpoint)")
    p.add_argument("--checkpoint", default=None, help="weights file for --model")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device (default: cuda if available, else cpu)")


def add_preset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS),
                   help="configuration preset (default: paper)")
    p.add_argument("--iterations", type=int, default=None,
                   help="refinement iterations (default: the preset's)")


def add_adaptor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adaptor", default=None,
                   help="IoU-head adaptor file written by `samrefiner adapt`; it is merged into "
                        "the model's IoU head (SAMRefiner++)")


def build_refiner(args: argparse.Namespace) -> SAMRefiner:
    name = args.model if args.model else (None if args.checkpoint else DEFAULT_MODEL)
    sam = load_sam(name, args.checkpoint, device=args.device)
    if getattr(args, "adaptor", None):
        from ..adaption import load_adaptor

        load_adaptor(args.adaptor).merge(sam, inplace=True)
    overrides = {} if getattr(args, "iterations", None) is None else {
        "iterations": args.iterations}
    return SAMRefiner(sam, get_preset(args.preset, **overrides))
