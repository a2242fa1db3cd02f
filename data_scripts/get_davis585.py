"""Prepare DAVIS-585 (FocalClick / ClickSEG): images, ground truth and init_sp_ / init_stm_ masks.

The data is only offered in a shared Google Drive folder, which a program cannot download. Run
this script once to be told where to save the archive, download it in a browser, and run again:
the archive is verified (trust on first use), extracted and checked (585 samples).
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import fetch_options, make_parser, run

EPILOG = """\
Source: ClickSEG README, "DAVIS-585 ... ClickSEG GOOGLE DRIVE":
  https://drive.google.com/drive/folders/1XzUlpPqbzAyMt009HVpEeW31ln1FeXfX
Save the DAVIS-585 archive as <root>/DAVIS585.zip (or pass --archive PATH), or point --folder
at an already-extracted copy.
Result: <root>/davis585_raw/.../<sequence>/{<frame>.jpg, <object>_<frame>.png,
init_sp_<object>_<frame>.png, init_stm_<object>_<frame>.png}; the script prints the data_root
to give to samrefiner_lib.datasets.Davis585."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, EPILOG)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--archive", type=Path, help="the DAVIS-585 zip you downloaded")
    group.add_argument("--folder", type=Path, help="an already-extracted DAVIS-585 folder")
    args = parser.parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_davis585

        return prepare_davis585(
            args.root, archive=args.archive, folder=args.folder, **fetch_options(args)
        )

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
