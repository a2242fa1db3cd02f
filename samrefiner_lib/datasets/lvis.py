"""LVIS v1 val annotations restricted to the 80 COCO categories ("cocofied").

LVIS re-annotated COCO images with more precise polygons. Mask-refinement papers (SegFix, BPR,
SegRefiner, SAMRefiner Table 6) evaluate COCO-trained instance models on COCO val2017 against
these better masks: keep the LVIS annotations whose category is one of COCO's 80, renumber their
categories to COCO ids, and keep the COCO val2017 images. Categories are matched through
WordNet synsets with the official ``coco_to_synset.json`` of the LVIS API (downloaded, not
re-typed here).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from .sample import DatasetError


def _load(source: str | os.PathLike | dict, what: str) -> Any:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.is_file():
        raise DatasetError(f"{what}: file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DatasetError(f"{what}: {path} is not valid JSON ({exc})") from exc


def load_synset_map(source: str | os.PathLike | dict) -> dict[str, tuple[int, str]]:
    """Read LVIS's ``coco_to_synset.json`` into synset -> (COCO category id, COCO name).

    Arguments:
      source: path to the file or its loaded dict (``{coco_name: {"coco_cat_id", "synset"}}``).

    Returns:
      dict[str, tuple[int, str]]: 80 entries for the official file.
    """
    data = _load(source, "COCO-to-synset map")
    out: dict[str, tuple[int, str]] = {}
    try:
        for coco_name, entry in data.items():
            out[str(entry["synset"])] = (int(entry["coco_cat_id"]), str(coco_name))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DatasetError(
            "COCO-to-synset map: expected {name: {'coco_cat_id': int, 'synset': str}} entries "
            f"({exc})"
        ) from exc
    return out


def is_coco_val_image(image: dict) -> bool:
    """True for an LVIS image entry that comes from COCO val2017 (judged by its ``coco_url``)."""
    return "/val2017/" in str(image.get("coco_url", ""))


def cocofy_lvis(
    lvis: str | os.PathLike | dict,
    synsets: str | os.PathLike | dict,
    coco_val_only: bool = True,
) -> dict:
    """Build the COCO-category ("cocofied") version of an LVIS annotation file.

    Annotations of non-COCO categories are dropped and the rest get COCO category ids (their
    annotation ids are kept). Each image's ``neg_category_ids`` and
    ``not_exhaustive_category_ids`` are translated the same way. With ``coco_val_only`` only the
    images from COCO val2017 are kept (about 5,000 of LVIS val's 19,809), as in detectron2's
    ``lvis_v1_val_cocofied`` split.

    Arguments:
      lvis: LVIS JSON path or loaded dict (not modified).
      synsets: ``coco_to_synset.json`` path or dict.
      coco_val_only: keep only COCO val2017 images.

    Returns:
      dict: the cocofied annotation dict (LVIS/COCO format).
    """
    data = _load(lvis, "LVIS annotations")
    synset_map = load_synset_map(synsets)
    try:
        lvis_to_coco = {
            int(c["id"]): synset_map[c["synset"]]
            for c in data["categories"]
            if c.get("synset") in synset_map
        }
        images = [im for im in data["images"] if not coco_val_only or is_coco_val_image(im)]
        annotations = data["annotations"]
    except (KeyError, TypeError) as exc:
        raise DatasetError(f"LVIS annotations: missing field {exc}") from exc
    if not lvis_to_coco:
        raise DatasetError("LVIS annotations: no category matches a COCO synset")
    kept_ids = {int(im["id"]) for im in images}
    out = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("images", "annotations")}
    new_images = []
    for im in images:
        im = dict(im)
        for key in ("neg_category_ids", "not_exhaustive_category_ids"):
            if key in im:
                im[key] = sorted({lvis_to_coco[c][0] for c in im[key] if int(c) in lvis_to_coco})
        new_images.append(im)
    new_anns = []
    for ann in annotations:
        cat = int(ann["category_id"])
        if cat in lvis_to_coco and int(ann["image_id"]) in kept_ids:
            new_anns.append({**ann, "category_id": lvis_to_coco[cat][0]})
    categories = []
    for c in data["categories"]:
        if int(c["id"]) in lvis_to_coco:
            coco_id, coco_name = lvis_to_coco[int(c["id"])]
            categories.append({**c, "id": coco_id, "lvis_id": int(c["id"]), "coco_name": coco_name})
    out["images"] = new_images
    out["annotations"] = new_anns
    out["categories"] = sorted(categories, key=lambda c: c["id"])
    return out


def write_json(data: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically (temporary file, then rename).

    Arguments:
      data: JSON-serialisable object.
      path: destination.

    Returns:
      Path: ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
    return path
