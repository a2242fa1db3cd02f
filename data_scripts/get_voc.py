"""Download PASCAL VOC 2012 segmentation, optionally with the SBD "trainaug" labels."""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Sources (published MD5s are checked):
  http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar   (1.9 GB)
  with --sbd: .../semantic_contours/benchmark.tgz (1.4 GB) and SBD train_noval.txt
Result: <root>/voc/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,ImageSets/Segmentation};
with --sbd also SegmentationClassAug/ (VOC palette PNGs) and ImageSets/Segmentation/trainaug.txt
(10,582 images)."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, EPILOG)
    parser.add_argument("--sbd", action="store_true", help="add SBD and build trainaug")
    args = parser.parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_voc

        return prepare_voc(args.root, sbd=args.sbd, **fetch_options(args))

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
