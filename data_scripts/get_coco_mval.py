"""Download and check the COCO MVal benchmark (f-BRS / RITM release)."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Source: https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/COCO_MVal.zip
Checksum: none published (trust on first use).
Result: <root>/COCO_MVal/{img,gt}/ (800 instances of COCO val2017; mask > 128)."""


def main(argv: list[str] | None = None) -> int:
    args = make_parser(__doc__, EPILOG).parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_interactive

        return prepare_interactive("coco_mval", args.root, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
