"""Download and check the DAVIS-345 benchmark (f-BRS / RITM release)."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Source: https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/DAVIS.zip
Checksum: none published (trust on first use).
Result: <root>/DAVIS/{img,gt}/ (345 frames of DAVIS 2016, one object each)."""


def main(argv: list[str] | None = None) -> int:
    args = make_parser(__doc__, EPILOG).parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_interactive

        return prepare_interactive("davis345", args.root, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
