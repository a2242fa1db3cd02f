"""Build the COCO "train5K" subset: 5,000 seeded-random train2017 images and their annotations.

The SAMRefiner paper times refinement on "COCO train5K" (about 37K masks) but does not publish
its image list. This script makes a reproducible stand-in: among the train2017 images with at
least one non-crowd instance (sorted by id), random.Random(SEED).sample picks COUNT images.
"""

from __future__ import annotations

import sys

from _common import fetch_options, make_parser, run

EPILOG = """\
Images are downloaded one by one from each image's coco_url (each is checked to decode at the
size the annotations state), or with --use-zip taken out of train2017.zip (18 GB, published
MD5). Result: <root>/coco/annotations/instances_train5k_seed0.json,
<root>/coco/train5k_seed0_image_ids.txt and <root>/coco/train2017/<file>.jpg."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, EPILOG)
    parser.add_argument("--count", type=int, default=5000, help="number of images (5000)")
    parser.add_argument("--seed", type=int, default=0, help="selection seed (0)")
    parser.add_argument("--use-zip", action="store_true", help="extract from train2017.zip")
    parser.add_argument("--workers", type=int, default=8, help="parallel image downloads")
    args = parser.parse_args(argv)

    def prepare() -> dict:
        from samrefiner_lib.datasets.prepare import prepare_coco_train5k

        return prepare_coco_train5k(
            args.root,
            count=args.count,
            seed=args.seed,
            use_zip=args.use_zip,
            workers=args.workers,
            **fetch_options(args),
        )

    return run(prepare)


if __name__ == "__main__":
    sys.exit(main())
