"""Download and check the Berkeley benchmark (f-BRS / RITM release)."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Source: https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/Berkeley.zip
Checksum: none published (trust on first use).
Result: <root>/Berkeley/{images,masks}/ (100 image/mask pairs of 96 distinct images)."""


def main(argv: list[str] | None = None) -> int:
    args = make_parser(__doc__, EPILOG).parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_interactive

        return prepare_interactive("berkeley", args.root, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
