"""Command-line interface: ``samrefiner <command> ...`` (see ``samrefiner --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..io import InputError
from ..models import CheckpointError
from . import adapt, demo_data, evaluate, refine, refine_dataset, refine_semantic
from .common import add_image_limit_arg, check_device, image_limit, with_example

#: Modules that each add one subcommand through ``add_parser(subparsers)``.
COMMANDS = [refine, refine_semantic, evaluate, refine_dataset, adapt, demo_data]

#: First line of ``samrefiner --help``: a synthetic image and its coarse masks, then one refine.
EXAMPLE = ("samrefiner demo-data demo && samrefiner refine --image demo/image.png "
           "--mask demo/coarse_1.png --out demo/refined")


def build_parser() -> argparse.ArgumentParser:
    """The ``samrefiner`` parser with every subcommand.

    Returns:
      argparse.ArgumentParser: the parser.
    """
    parser = argparse.ArgumentParser(
        prog="samrefiner",
        **with_example(
            EXAMPLE,
            "Refine coarse segmentation masks with SAM (SAMRefiner, ICLR 2025). The example "
            "writes a synthetic image with coarse masks and refines one with the default model "
            "(no download, CPU is enough). Every command's --help starts with an example of its "
            "own; `samrefiner COMMAND --help` shows it.",
        ),
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

