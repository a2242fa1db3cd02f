"""Download COCO 2017 val: the 5,000 images and the instance annotations (polygons + RLE)."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Sources (published MD5s are checked):
  http://images.cocodataset.org/zips/val2017.zip                     (778 MB)
  http://images.cocodataset.org/annotations/annotations_trainval2017.zip  (241 MB)
Result: <root>/coco/val2017/*.jpg and <root>/coco/annotations/instances_val2017.json."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, EPILOG)
    parser.add_argument("--no-images", action="store_true", help="annotations only")
    args = parser.parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_coco_val

        return prepare_coco_val(args.root, images=not args.no_images, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
