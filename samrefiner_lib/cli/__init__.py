"""Command-line interface: ``samrefiner <command> ...`` (see ``samrefiner --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..io import InputError
from ..models import CheckpointError
from . import adapt, evaluate, refine, refine_dataset, refine_semantic
from .common import add_image_limit_arg, check_device, image_limit

#: Modules that each add one subcommand through ``add_parser(subparsers)``.
COMMANDS = [refine, refine_semantic, evaluate, refine_dataset, adapt]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samrefiner",
        description="Refine coarse segmentation masks with SAM (SAMRefiner, ICLR 2025).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    for command in sub.choices.values():  # every command reads images
        add_image_limit_arg(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``samrefiner`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with image_limit(args):
            check_device(args)
            return int(args.func(args) or 0)
    except (InputError, CheckpointError, OSError, ValueError, KeyError) as exc:
        # OSError: what no check can foresee (a full disk, a folder removed mid-run).
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"samrefiner {args.command}: error: {msg}", file=sys.stderr)
        return 2

