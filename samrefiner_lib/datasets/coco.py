"""COCO-format instance annotations and detection results, decoded lazily image by image.

Ground truth comes from an annotation JSON (COCO, LVIS, "cocofied" LVIS); masks may be polygons,
uncompressed RLE (crowd regions) or compressed RLE, all decoded with pycocotools. Coarse masks
come from a detection-result JSON (the list format that ``COCOeval`` reads, with a
``segmentation`` per detection), matched to images by ``image_id``.

Also here: the seeded selection of an image subset (the COCO "train5K" split) and writing a
subset annotation file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from ..metrics.coco import check_segmentations, segmentation_problem
from .readers import read_rgb
from .sample import DatasetError, Sample

CROWD_MODES = ("ignore", "gt", "drop")


def _load_json(path: str | os.PathLike, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what}: file not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{what}: {path} is not valid JSON ({exc})") from exc


def segmentation_to_rle(segm: Any, height: int, width: int, where: str) -> dict:
    """Turn any COCO segmentation (polygons, uncompressed or compressed RLE) into one RLE.

    Arguments:
      segm: the ``segmentation`` value of an annotation or detection.
      height: image height H.
      width: image width W.
      where: how error messages refer to this segmentation.

    Returns:
      dict: compressed RLE with ``size == [H, W]``.
    """
    problem = segmentation_problem(segm)
    if problem is not None:
        raise DatasetError(f"{where}: malformed segmentation: {problem}")
    if isinstance(segm, list):
        try:
            rles = mask_utils.frPyObjects(segm, height, width)
        except Exception as exc:  # pycocotools raises bare Exceptions
            raise DatasetError(f"{where}: malformed polygon segmentation ({exc})") from exc
        return mask_utils.merge(rles)
    if list(segm["size"]) != [height, width]:
        raise DatasetError(
            f"{where}: RLE size {list(segm['size'])} differs from the image size "
            f"{[height, width]} (HxW)"
        )
    if isinstance(segm["counts"], list):
        try:
            return mask_utils.frPyObjects(segm, height, width)
        except Exception as exc:
            raise DatasetError(f"{where}: malformed uncompressed RLE ({exc})") from exc
    counts = segm["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [height, width], "counts": counts}


def decode_segmentations(segms: Sequence[Any], height: int, width: int,
                         where: str | Sequence[str]) -> np.ndarray:
    """Decode several COCO segmentations of one image.

    Arguments:
      segms: segmentation values (see :func:`segmentation_to_rle`).
      height: image height H.
      width: image width W.
      where: prefix for error messages (``<where>[i]`` names segmentation i), or one name per
        segmentation (e.g. its annotation id).

    Returns:
      np.ndarray: NxHxW bool (0xHxW when ``segms`` is empty).
    """
    if not segms:
        return np.zeros((0, height, width), dtype=bool)
    names = [f"{where}[{i}]" for i in range(len(segms))] if isinstance(where, str) else list(where)
    rles = [segmentation_to_rle(s, height, width, n) for s, n in zip(segms, names, strict=True)]
    with warnings.catch_warnings():
        # pycocotools 2.0.x trips numpy 2's __array__(copy=...) deprecation on every decode.
        warnings.simplefilter("ignore", DeprecationWarning)
        masks = mask_utils.decode(rles)  # HxWxN, Fortran order
    return np.ascontiguousarray(np.transpose(masks, (2, 0, 1)).astype(bool))


def load_detections(
    source: str | os.PathLike | list[dict],
    min_score: float = 0.0,
    what: str = "detection results",
) -> dict[int, list[dict]]:
    """Group detection results (COCO result format with segmentations) by image id.

    Arguments:
      source: a result JSON file, or the already-loaded list.
      min_score: drop detections scoring below this.
      what: how error messages refer to the source.

    Returns:
      dict[int, list[dict]]: image id -> detections, each with ``category_id``, ``segmentation``,
      ``score`` (1.0 when absent) and ``index`` (position in the source list).
    """
    if not isinstance(source, list):
        what = f"{what} {source}"
        source = _load_json(source, what)
    if not isinstance(source, list):
        raise DatasetError(f"{what}: expected a JSON list of detections, got a {type(source)}")
    grouped: dict[int, list[dict]] = defaultdict(list)
    for i, det in enumerate(source):
        if not isinstance(det, dict) or "image_id" not in det or "segmentation" not in det:
            raise DatasetError(
                f"{what}: entry {i} needs 'image_id' and 'segmentation' (mask results, not "
                "boxes only)"
            )
        problem = segmentation_problem(det["segmentation"])
        if problem is not None:
            raise DatasetError(
                f"{what}: entry {i} (image id {det['image_id']!r}): malformed segmentation: "
                f"{problem}"
            )
        score = float(det.get("score", 1.0))
        if score < min_score:
            continue
        grouped[int(det["image_id"])].append(
            {
                "category_id": det.get("category_id"),
                "segmentation": det["segmentation"],
                "score": score,
                "index": i,
            }
        )
    return dict(grouped)


class CocoInstances:
    """Lazy loader of a COCO-format instance dataset, one :class:`Sample` per image.

    ``gt`` holds the non-crowd instances (NxHxW); crowd regions go to ``ignore`` (default),
    into ``gt``, or nowhere, per ``crowd``. ``coarse`` holds the detections of that image
    (MxHxW, possibly M = 0) when a result file is given, else None. ``meta`` has ``image_id``,
    ``file_name``, ``gt_ids``, ``gt_labels`` (category ids), ``gt_iscrowd``, and with
    detections ``coarse_labels``, ``coarse_scores``, ``coarse_index``; ``pairing`` is
    ``"none"`` (match detections to annotations in the evaluation).

    Arguments:
      ann_file: annotation JSON (COCO / LVIS format), or an image-info JSON without annotations
        (``gt`` is then None).
      image_dir: folder with the images. ``file_name`` is looked up there; for LVIS entries
        without ``file_name``, ``<split>/<name>`` from ``coco_url`` and then ``<name>``.
      detections: optional detection-result JSON (or list) to use as coarse masks.
      crowd: ``"ignore"``, ``"gt"`` or ``"drop"``.
      image_ids: restrict to (and order by) these image ids; default all, sorted.
      min_score: drop detections below this score.
      strict: with detections, refuse results whose ``image_id`` is not in ``ann_file``.
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        image_dir: str | os.PathLike,
        detections: str | os.PathLike | list[dict] | None = None,
        *,
        crowd: str = "ignore",
        image_ids: Sequence[int] | None = None,
        min_score: float = 0.0,
        strict: bool = True,
    ) -> None:
        if crowd not in CROWD_MODES:
            raise ValueError(f"crowd must be one of {CROWD_MODES}, got {crowd!r}")
        self.ann_file = Path(ann_file)
        self.image_dir = Path(image_dir)
        self.crowd = crowd
        data = _load_json(self.ann_file, "annotation file")
        if not isinstance(data, dict) or "images" not in data:
            raise DatasetError(
                f"annotation file {self.ann_file}: expected a COCO-format object with 'images'"
            )
        self.has_annotations = "annotations" in data
        if self.has_annotations:
            try:  # every segmentation, before any work: a bad one names its id and image
                check_segmentations(data["annotations"], f"annotation file {self.ann_file}")
            except ValueError as exc:
                raise DatasetError(str(exc)) from exc
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            self.coco = COCO()
            self.coco.dataset = data
            self.coco.createIndex()
        if image_ids is None:
            self.image_ids = sorted(self.coco.imgs)
        else:
            unknown = [i for i in image_ids if i not in self.coco.imgs]
            if unknown:
                raise DatasetError(
                    f"{self.ann_file}: {len(unknown)} requested image id(s) are not in the file, "
                    f"e.g. {unknown[:5]}"
                )
            self.image_ids = [int(i) for i in image_ids]
        self.detections: dict[int, list[dict]] | None = None
        self._detections_label = "detection results" + (
            "" if detections is None or isinstance(detections, list) else f" {detections}")
        if detections is not None:
            self.detections = load_detections(detections, min_score)
            stray = sorted(set(self.detections) - set(self.coco.imgs))
            if stray and strict:
                raise DatasetError(
                    f"detection results: {len(stray)} image id(s) are not in {self.ann_file}, "
                    f"e.g. {stray[:5]}; wrong annotation file? (strict=False drops them)"
                )

    def _ann_names(self, anns: list[dict], image_id: int) -> list[str]:
        """How error messages name each annotation: file, annotation id and image id."""
        return [f"{self.ann_file}: annotation id {a.get('id')!r} (image id {image_id})"
                for a in anns]

    @property
    def categories(self) -> dict[int, str]:
        """Category id -> name."""
        return {int(k): v.get("name", str(k)) for k, v in self.coco.cats.items()}

    def __len__(self) -> int:
        return len(self.image_ids)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def image_path(self, image_id: int) -> Path:
        """Where the image of ``image_id`` is expected on disk."""
        info = self.coco.imgs[image_id]
        if "file_name" in info:
            return self.image_dir / info["file_name"]
        url = info.get("coco_url")
        if not url:
            raise DatasetError(
                f"{self.ann_file}: image {image_id} has neither file_name nor coco_url"
            )
        split, name = url.rstrip("/").split("/")[-2:]
        candidate = self.image_dir / split / name
        return candidate if candidate.exists() else self.image_dir / name

    def __getitem__(self, index: int) -> Sample:
        return self.get(self.image_ids[index])

    def get(self, image_id: int) -> Sample:
        """Decode the sample of one image id.

        Arguments:
          image_id: COCO image id.

        Returns:
          Sample: see the class docstring.
        """
        info = self.coco.imgs[image_id]
        h, w = int(info["height"]), int(info["width"])
        path = self.image_path(image_id)
        image = read_rgb(path)
        if image.shape[:2] != (h, w):
            raise DatasetError(
                f"{path}: image is {image.shape[0]}x{image.shape[1]} but {self.ann_file} says "
                f"{h}x{w} (HxW) for image id {image_id}"
            )
        meta: dict[str, Any] = {
            "dataset": "coco",
            "image_id": int(image_id),
            "file_name": path.name,
            "image_path": str(path),
            "pairing": "none",
        }
        gt = ignore = None
        if self.has_annotations:
            anns = self.coco.imgToAnns.get(image_id, [])
            keep = [a for a in anns if not a.get("iscrowd", 0) or self.crowd == "gt"]
            crowd = [a for a in anns if a.get("iscrowd", 0)]
            gt = decode_segmentations([a["segmentation"] for a in keep], h, w,
                                      self._ann_names(keep, image_id))
            meta["gt_ids"] = [a.get("id") for a in keep]
            meta["gt_labels"] = [a.get("category_id") for a in keep]
            meta["gt_iscrowd"] = [int(a.get("iscrowd", 0)) for a in keep]
            if self.crowd == "ignore" and crowd:
                ignore = decode_segmentations(
                    [a["segmentation"] for a in crowd], h, w, self._ann_names(crowd, image_id)
                ).any(axis=0)
        coarse = None
        if self.detections is not None:
            dets = self.detections.get(image_id, [])
            coarse = decode_segmentations(
                [d["segmentation"] for d in dets], h, w,
                [f"{self._detections_label}: entry {d['index']} (image id {image_id})"
                 for d in dets],
            )
            meta["coarse_labels"] = [d["category_id"] for d in dets]
            meta["coarse_scores"] = [d["score"] for d in dets]
            meta["coarse_index"] = [d["index"] for d in dets]
        return Sample(image=image, gt=gt, coarse=coarse, ignore=ignore, name=path.stem, meta=meta)


# --------------------------------------------------------------------------- subsets


def select_coco_subset(
    ann: str | os.PathLike | dict,
    count: int = 5000,
    seed: int = 0,
    require_instances: bool = True,
) -> list[int]:
    """Pick a reproducible random subset of image ids (the "train5K" construction).

    Candidates are the images with at least one non-crowd instance (when
    ``require_instances``), sorted by id; ``random.Random(seed).sample`` picks ``count`` of
    them; the result is sorted. Same file + same seed = same list, on any machine.

    Arguments:
      ann: annotation JSON path or loaded dict.
      count: number of images.
      seed: random seed.
      require_instances: skip images without non-crowd instances.

    Returns:
      list[int]: sorted image ids.
    """
    data = ann if isinstance(ann, dict) else _load_json(ann, "annotation file")
    ids = sorted(int(im["id"]) for im in data["images"])
    if require_instances:
        with_instances = {
            int(a["image_id"]) for a in data.get("annotations", []) if not a.get("iscrowd", 0)
        }
        ids = [i for i in ids if i in with_instances]
    if count > len(ids):
        raise DatasetError(f"asked for {count} images but only {len(ids)} qualify")
    return sorted(random.Random(seed).sample(ids, count))


def write_coco_subset(
    ann: str | os.PathLike | dict,
    image_ids: Sequence[int],
    out_path: str | os.PathLike,
    note: str = "",
) -> Path:
    """Write an annotation JSON restricted to some images (all other top-level keys kept).

    Arguments:
      ann: annotation JSON path or loaded dict.
      image_ids: images to keep.
      out_path: destination JSON (written atomically).
      note: text stored under ``info.subset`` (how the subset was made).

    Returns:
      Path: ``out_path``.
    """
    data = ann if isinstance(ann, dict) else _load_json(ann, "annotation file")
    keep = set(int(i) for i in image_ids)
    out = {k: v for k, v in data.items() if k not in ("images", "annotations")}
    out["images"] = [im for im in data["images"] if int(im["id"]) in keep]
    out["annotations"] = [a for a in data.get("annotations", []) if int(a["image_id"]) in keep]
    info = dict(out.get("info") or {})
    if note:
        info["subset"] = note
    out["info"] = info
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    os.replace(tmp, out_path)
    return out_path
