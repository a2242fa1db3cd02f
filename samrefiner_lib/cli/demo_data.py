"""``samrefiner demo-data``: write a small synthetic example that every other command can read.

The examples at the top of each command's ``--help`` run on these files, so they work on any
machine, offline, without downloading a dataset: one 256 x 256 synthetic scene (the kind the
embedded model was trained on) and, made from its ground truth, DAVIS-585-style coarse masks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..io import check_output_folder, save_mask
from .common import with_example

EXAMPLE = "samrefiner demo-data demo"

#: Fewest pixels an object needs to become a coarse mask (as in the SynthDAVIS protocol).
MIN_AREA = 64


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo-data", help="write a small synthetic image with coarse masks to try the commands",
        **with_example(
            EXAMPLE,
            "Write one synthetic scene and coarse masks made from its ground truth: image.png, "
            "coarse_<i>.png and gt_<i>.png (0/255 masks), labels.png (a coarse label map for "
            "refine-semantic), pairs.tsv (a list file for adapt) and coco.json (COCO "
            "annotations holding the coarse masks, for refine-dataset). The examples in the "
            "help of the other commands read these files. Deterministic for a given --seed.",
        ),
    )
    p.add_argument("out", help="folder to write into (created when missing)")
    p.add_argument("--seed", type=int, default=0, help="scene and coarse-mask seed (default 0)")
    p.add_argument("--objects", type=int, default=3,
                   help="most coarse masks to write (default 3)")
    p.set_defaults(func=run)


def write_demo(out: Path, seed: int = 0, objects: int = 3) -> dict[str, Any]:
    """Write the demo files into ``out``.

    Arguments:
      out: folder (created).
      seed: seed of the scene and of the coarse-mask defects.
      objects: most objects to write coarse masks for (the largest ones).

    Returns:
      dict: the files written, by kind, as strings relative to ``out``.
    """
    from pycocotools import mask as mask_utils

    from ..defects import davis585_coarse_mask
    from ..stm import save_label_map
    from ..synthetic import CLASS_NAMES, make_scene

    if objects < 1:
        raise ValueError(f"--objects must be at least 1, got {objects}")
    scene = None
    for attempt in range(100):  # the first seed with an object large enough, from --seed on
        candidate = make_scene(seed + attempt, size=256)
        if (candidate.instances.reshape(len(candidate.instances), -1).sum(1) >= MIN_AREA).any():
            scene = candidate
            break
    if scene is None:  # pragma: no cover - every scene generator seed has a sizeable object
        raise ValueError(f"no scene with an object of {MIN_AREA} pixels from seed {seed}")
    areas = scene.instances.reshape(len(scene.instances), -1).sum(1)
    order = [int(i) for i in np.argsort(-areas, kind="stable") if areas[i] >= MIN_AREA][:objects]
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(scene.image).save(out / "image.png")
    h, w = scene.image.shape[:2]
    labels = np.zeros((h, w), np.uint8)
    files: dict[str, Any] = {"image": "image.png", "coarse": [], "gt": []}
    annotations = []
    # Paint the smaller objects last so that they stay visible where coarse masks overlap.
    for k, i in enumerate(order, 1):
        coarse, _ = davis585_coarse_mask(scene.instances[i], rng=seed * 1000 + k)
        save_mask(coarse, out / f"coarse_{k}.png")
        save_mask(scene.instances[i], out / f"gt_{k}.png")
        files["coarse"].append(f"coarse_{k}.png")
        files["gt"].append(f"gt_{k}.png")
        labels[coarse] = int(scene.labels[i])
        rle = mask_utils.encode(np.asfortranarray(coarse.astype(np.uint8)))
        annotations.append({
            "id": k, "image_id": 1, "category_id": int(scene.labels[i]), "iscrowd": 0,
            "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")},
            "area": int(coarse.sum()), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        })  # fmt: skip
    save_label_map(labels, out / "labels.png")
    files["labels"] = "labels.png"
    (out / "pairs.tsv").write_text(
        "# image<TAB>coarse masks, for `samrefiner adapt --list`\n"
        + "\t".join(["image.png", *files["coarse"]]) + "\n",
        encoding="utf-8",
    )
    files["pairs"] = "pairs.tsv"
    used = sorted({a["category_id"] for a in annotations})
    coco = {
        "info": {"description": f"samrefiner demo-data, seed {seed}: coarse masks as annotations"},
        "images": [{"id": 1, "file_name": "image.png", "height": h, "width": w}],
        "annotations": annotations,
        "categories": [{"id": c, "name": CLASS_NAMES[c]} for c in used],
    }
    (out / "coco.json").write_text(json.dumps(coco, indent=1) + "\n", encoding="utf-8")
    files["coco"] = "coco.json"
    return files


def run(args: argparse.Namespace) -> int:
    out = check_output_folder(args.out, "out")
    files = write_demo(out, seed=args.seed, objects=args.objects)
    print(f"wrote {out}: {files['image']}, {len(files['coarse'])} coarse masks "
          f"({', '.join(files['coarse'])}), their ground truth, labels.png, pairs.tsv, coco.json")
    print(f"next: samrefiner refine --image {out / 'image.png'} --mask "
          f"{out / files['coarse'][0]} --out {out / 'refined'}")
    return 0
