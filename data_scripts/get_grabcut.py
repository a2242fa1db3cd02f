"""Download and check the GrabCut benchmark (f-BRS / RITM release)."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Source: https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/GrabCut.zip
Checksum: none published (trust on first use).
Result: <root>/GrabCut/{data_GT,boundary_GT}/ (50 images; masks: 255 object, 128 ignore band)."""


def main(argv: list[str] | None = None) -> int:
    args = make_parser(__doc__, EPILOG).parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_interactive

        return prepare_interactive("grabcut", args.root, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
