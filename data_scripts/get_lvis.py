"""Build LVIS v1 val "cocofied" annotations: LVIS masks of the 80 COCO categories on COCO val.

Used to evaluate COCO-trained instance models (and their refined masks) against LVIS's more
precise polygons, as in Boundary IoU / detectron2 ``lvis_v1_val_cocofied`` and SegRefiner.
"""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Sources: https://dl.fbaipublicfiles.com/LVIS/lvis_v1_val.json.zip (published MD5) and the LVIS
API's data/coco_to_synset.json (trust on first use). Images: run get_coco.py with the same root.
Result: <root>/lvis/lvis_v1_val_cocofied.json (COCO category ids, COCO val2017 images only)."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, EPILOG)
    parser.add_argument(
        "--all-images",
        action="store_true",
        help="keep LVIS val images that come from COCO train2017 too",
    )
    args = parser.parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_lvis_cocofied

        return prepare_lvis_cocofied(
            args.root, coco_val_only=not args.all_images, **fetch_options(args)
        )

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
