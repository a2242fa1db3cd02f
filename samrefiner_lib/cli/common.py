"""Options shared by several subcommands: model, checkpoint, device, preset, image limit."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

from ..config import PRESETS, get_preset
from ..devices import DEVICE_FORMS, resolve_device
from ..io import MAX_PIXELS_ENV, parse_pixel_limit
from ..models import load_sam
from ..models.defaults import DEFAULT_MODEL
from ..refiner import SAMRefiner


class ExampleFirstFormatter(argparse.HelpFormatter):
    """Help text whose indented lines (the example commands) are kept as written, while the
    other paragraphs are wrapped to the terminal as usual."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            if any(line.startswith("  ") for line in block.splitlines()):
                blocks.append("\n".join(indent + line for line in block.splitlines()))
            else:
                blocks.append(textwrap.fill(" ".join(block.split()), width,
                                            initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(blocks)


def with_example(example: str, description: str) -> dict[str, Any]:
    """Parser keywords for a help text that leads with one command to copy and run.

    Arguments:
      example: the command line (runs as is after ``samrefiner demo-data demo``, or alone).
      description: what the command does.

    Returns:
      dict: ``description`` and ``formatter_class`` for ``add_parser`` / ``ArgumentParser``.
    """
    return {"description": f"example:\n  {example}\n\n{description}",
            "formatter_class": ExampleFirstFormatter}  # fmt: skip


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help=f"registered model name (default: {DEFAULT_MODEL}, shipped with the "
                        "package, "
                        "or the architecture a project checkpoint names; vit_h/vit_l/vit_b need "
                        "--checkpoint)")
    p.add_argument("--checkpoint", default=None, help="weights file for --model")
    p.add_argument("--device", default="auto",
                   help=f"torch device: {DEVICE_FORMS} (default: auto = cuda if available, "
                        "else mps if available, else cpu); a device this machine does not "
                        "have is refused before any work starts")


def add_image_limit_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-image-pixels", default=None, metavar="N",
                   help="largest image to read, in pixels (width x height), or 'none' for no "
                        f"limit; larger files are refused before decoding. Default: "
                        f"${MAX_PIXELS_ENV} if set, else Pillow's decompression-bomb limit "
                        "(178,956,970 pixels)")


def check_device(args: argparse.Namespace) -> None:
    """Replace ``args.device`` (if the command has one) by the checked, resolved device."""
    if getattr(args, "device", None) is not None:
        args.device = resolve_device(args.device, "--device")


@contextlib.contextmanager
def image_limit(args: argparse.Namespace) -> Iterator[None]:
    """Apply ``--max-image-pixels`` (through its environment variable) for one command."""
    value = getattr(args, "max_image_pixels", None)
    if value is None:
        yield
        return
    limit = parse_pixel_limit(value, "--max-image-pixels")
    saved = os.environ.get(MAX_PIXELS_ENV)
    os.environ[MAX_PIXELS_ENV] = "none" if limit is None else str(limit)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(MAX_PIXELS_ENV, None)
        else:
            os.environ[MAX_PIXELS_ENV] = saved


def add_preset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS),
                   help="configuration preset (default: paper)")
    p.add_argument("--iterations", type=int, default=None,
                   help="refinement iterations (default: the preset's)")


def add_adaptor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adaptor", default=None,
                   help="IoU-head adaptor file written by `samrefiner adapt`; it is merged into "
                        "the model's IoU head (SAMRefiner++)")


def model_name(args: argparse.Namespace) -> str | None:
    """The registered model the options select: ``--model``, else the default model unless
    ``--checkpoint`` names a file that carries its own architecture (then None)."""
    return args.model if args.model else (None if args.checkpoint else DEFAULT_MODEL)


def model_label(args: argparse.Namespace) -> str:
    """The model as a person reads it in a summary line or a figure title."""
    name = model_name(args)
    if args.checkpoint:
        return f"{name or 'checkpoint'} ({args.checkpoint})"
    return str(name)


def say(message: str) -> None:
    """A progress line on stderr (stdout keeps the one summary line)."""
    print(message, file=sys.stderr, flush=True)


def build_refiner(args: argparse.Namespace) -> SAMRefiner:
    sam = load_sam(model_name(args), args.checkpoint, device=args.device)
    if getattr(args, "adaptor", None):
        from ..adaption import load_adaptor

        load_adaptor(args.adaptor).merge(sam, inplace=True)
    overrides = {} if getattr(args, "iterations", None) is None else {
        "iterations": args.iterations}
    return SAMRefiner(sam, get_preset(args.preset, **overrides))
