"""Command-line plumbing shared by the ``get_<dataset>.py`` scripts.

The scripts parse their arguments before importing the library, so ``--help`` answers at once;
the library is imported from the installed package or, failing that, from this checkout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMON_EPILOG = """\
All datasets can share one --root: each lands in its own subfolder, and the root's
samrefiner-checksums.lock.json records the SHA-256 of every verified file. Files with no
published checksum are "trust on first use": the first download's hash is recorded and
enforced afterwards. Interrupted downloads resume from <file>.part. On an offline machine the
script names the URL to fetch by hand and the exact path to save it at; then run it again.
See data_scripts/README.md."""


def make_parser(description: str, epilog: str = "") -> argparse.ArgumentParser:
    """An argument parser with the options every script takes (--root and download knobs).

    Arguments:
      description: what the script prepares.
      epilog: script-specific notes printed before the common ones.

    Returns:
      argparse.ArgumentParser: add script options, then parse.
    """
    parser = argparse.ArgumentParser(
        description=description,
        epilog=(epilog + "\n\n" if epilog else "") + COMMON_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root", type=Path, required=True, help="data root folder (created if missing)"
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="retries per URL after a dropped connection"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="connection and read timeout, seconds"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The download options of parsed arguments, as keyword arguments for prepare_* calls."""
    return {"retries": args.retries, "timeout": args.timeout, "progress": not args.no_progress}


def _import_library() -> None:
    try:
        import samrefiner_lib.datasets  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(prepare: Callable[[], dict[str, Any]]) -> int:
    """Run one preparation step and print its summary; turn known failures into exit codes.

    Arguments:
      prepare: zero-argument callable returning the summary dict (it may import the library).

    Returns:
      int: 0 on success, 2 when a file must be downloaded by hand, 1 on other failures.
    """
    _import_library()
    from samrefiner_lib.datasets import DatasetError, DownloadError, DownloadUnavailableError

    try:
        summary = prepare()
    except DownloadUnavailableError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 2
    except (DownloadError, DatasetError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        if key == "warnings":
            continue
        print(f"{key}: {value}")
    for warning in summary.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0
