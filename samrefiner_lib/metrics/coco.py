"""COCO mask AP and boundary AP, computed in memory with pycocotools.

``coco_mask_ap`` is the standard ``COCOeval(iouType="segm")`` evaluation. ``coco_boundary_ap``
follows the Boundary IoU API (Cheng et al., CVPR 2021): the same matching and averaging, but the
overlap between a detection and a ground-truth instance is

    min(mask IoU, boundary IoU)   (combine="min", the API's definition, the default), or
    boundary IoU                  (combine="boundary"),

with boundary bands from :func:`~samrefiner_lib.metrics.boundary.boundary_band` (dilation ratio
0.02 of each image's diagonal). Taking the minimum keeps a detection from scoring well on its
outline alone while missing the interior. Crowd ground truth is handled as in the API: the
overlap with a crowd region stays the plain mask overlap under pycocotools' crowd convention
(intersection over the detection's area), since crowd regions only absorb detections and have
no meaningful outline.

Results are lists of dicts with ``image_id``, ``category_id``, ``segmentation`` and ``score``;
the segmentation may be a compressed RLE (``counts`` as str or bytes), an uncompressed RLE, a
polygon list or an HxW bool array. pycocotools' progress messages are swallowed unless
``verbose=True``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import numbers
import warnings
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from typing import Any, Literal

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ._validate import as_mask
from .boundary import DEFAULT_DILATION_RATIO, boundary_band

STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)
"""Names of the 12 entries of ``COCOeval.stats`` for detection-style evaluation, in order."""

GroundTruth = COCO | Mapping[str, Any] | str | PathLike


# ---------------------------------------------------------------------------------------------
# RLE helpers


def encode_rle(mask: Any) -> dict[str, Any]:
    """Compressed COCO RLE of one mask, JSON-serialisable.

    Arguments:
      mask: HxW bool (or {0, 1} integer) mask.

    Returns:
      dict: ``{"size": [H, W], "counts": str}``.
    """
    m = as_mask(mask, "mask")
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def segmentation_problem(segmentation: Any) -> str | None:
    """What is wrong with the structure of a COCO segmentation, or None when nothing is.

    A polygon segmentation is a non-empty list of polygons, each a flat list of an even number
    of coordinates ``[x1, y1, x2, y2, ...]`` with at least 3 points (6 numbers); an RLE is a
    dict with ``size`` ``[height, width]`` and ``counts`` (a string or a list of run lengths).
    pycocotools would otherwise read a 4-number polygon as a box, drop the last number of an
    odd-length one and return an empty mask for a 5-number one. Coordinate values are checked
    when the polygon is decoded.

    Arguments:
      segmentation: the ``segmentation`` value of an annotation or result.

    Returns:
      str | None: a short description of the problem.
    """
    if isinstance(segmentation, list):
        if not segmentation:
            return "empty polygon list"
        if not isinstance(segmentation[0], (list, tuple)):
            return ("polygons must be nested lists [[x1, y1, x2, y2, ...], ...], got a flat "
                    f"list of {len(segmentation)} values")
        for i, poly in enumerate(segmentation):
            if not isinstance(poly, (list, tuple)):
                return f"polygon {i} is a {type(poly).__name__}, not a list of coordinates"
            if len(poly) < 6 or len(poly) % 2:
                return (f"polygon {i} has {len(poly)} numbers; a polygon needs an even number "
                        "of coordinates x1, y1, x2, y2, ..., at least 6 (3 points)")
        return None
    if isinstance(segmentation, Mapping):
        if "size" not in segmentation or "counts" not in segmentation:
            return "an RLE needs 'size' and 'counts'"
        size = segmentation["size"]
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                           and v >= 0 for v in size)):
            return f"RLE size must be [height, width] (two whole numbers), got {size!r}"
        if not isinstance(segmentation["counts"], (str, bytes, list)):
            return ("RLE counts must be a string (compressed) or a list of run lengths, got "
                    f"{type(segmentation['counts']).__name__}")
        return None
    return ("segmentation must be a polygon list or an RLE dict with 'size' and 'counts', got "
            f"{type(segmentation).__name__}")


def check_segmentations(anns: Sequence[Mapping[str, Any]], source: str,
                        images: Mapping[Any, Mapping[str, Any]] | None = None,
                        kind: str = "annotation") -> None:
    """Check every ``segmentation`` of a list of annotations or results before any decoding.

    Arguments:
      anns: annotations (with ``id``) or results (named by their position).
      source: the file (or other source) they come from, for messages.
      images: image id -> image entry; when given, RLE sizes must match the image's.
      kind: ``"annotation"`` (named by ``id``) or ``"result"`` (named by position).

    Raises:
      ValueError: naming the annotation (or result), its image id and ``source``.
    """
    for i, ann in enumerate(anns):
        if kind == "annotation":
            label = f"annotation id {ann.get('id')!r}" if isinstance(ann, Mapping) else (
                f"annotation {i}")
        else:
            label = f"result {i}"
        if not isinstance(ann, Mapping):
            raise ValueError(f"{source}: {label} is a {type(ann).__name__}, not an object")
        where = f"{source}: {label} (image id {ann.get('image_id')!r})"
        if "segmentation" not in ann:
            raise ValueError(f"{where} has no 'segmentation' (mask annotations are needed)")
        segm = ann["segmentation"]
        problem = segmentation_problem(segm)
        if problem is None and images is not None and isinstance(segm, Mapping):
            img = images.get(ann.get("image_id"))
            if img is not None and list(segm["size"]) != [img.get("height"), img.get("width")]:
                problem = (f"RLE size {list(segm['size'])} differs from the image size "
                           f"{[img.get('height'), img.get('width')]} (HxW)")
        if problem is not None:
            raise ValueError(f"{where}: malformed segmentation: {problem}")


def to_rle(segmentation: Any, height: int, width: int) -> dict[str, Any]:
    """Any COCO segmentation (or an HxW mask) as a compressed RLE with ``bytes`` counts.

    Arguments:
      segmentation: HxW bool array, compressed RLE (str or bytes counts), uncompressed RLE
        (list counts) or a polygon list.
      height: image height H.
      width: image width W.

    Returns:
      dict: ``{"size": [H, W], "counts": bytes}``.
    """
    if isinstance(segmentation, list | Mapping):
        problem = segmentation_problem(segmentation)
        if problem is not None:
            raise ValueError(f"malformed segmentation: {problem}")
    if isinstance(segmentation, np.ndarray):
        rle = mask_utils.encode(np.asfortranarray(as_mask(segmentation, "mask").astype(np.uint8)))
    elif isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, Mapping) and isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(dict(segmentation), height, width)
    elif isinstance(segmentation, Mapping):
        counts = segmentation["counts"]
        rle = {
            "size": list(segmentation["size"]),
            "counts": counts.encode() if isinstance(counts, str) else counts,
        }
    else:
        raise TypeError(f"unsupported segmentation type {type(segmentation).__name__}")
    size = [int(v) for v in rle["size"]]
    if size != [height, width]:
        raise ValueError(
            f"segmentation size {size} does not match the image size {[height, width]}"
        )
    return {"size": size, "counts": rle["counts"]}


def _decode(rle: Mapping[str, Any]) -> np.ndarray:
    """``mask_utils.decode`` as HxW bool, without its NumPy 2 copy-keyword deprecation notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*copy keyword")
        return mask_utils.decode(rle).astype(bool)


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """HxW bool mask of a COCO RLE (compressed with str or bytes counts, or uncompressed)."""
    h, w = (int(v) for v in rle["size"])
    return _decode(to_rle(rle, h, w))


# ---------------------------------------------------------------------------------------------
# Building ground truth and results


def _categories(
    categories: Sequence[Mapping[str, Any]] | Mapping[int, str] | None, used: set[int]
) -> list[dict[str, Any]]:
    if categories is None:
        return [{"id": c, "name": str(c), "supercategory": "none"} for c in sorted(used)]
    if isinstance(categories, Mapping):
        return [
            {"id": int(c), "name": str(n), "supercategory": "none"} for c, n in categories.items()
        ]
    return [dict(c) for c in categories]


def masks_to_coco(
    images: Sequence[tuple[tuple[int, int], Any, Sequence[int]]],
    categories: Sequence[Mapping[str, Any]] | Mapping[int, str] | None = None,
    *,
    image_ids: Sequence[int] | None = None,
    iscrowd: Sequence[Sequence[int]] | None = None,
    file_names: Sequence[str] | None = None,
    drop_empty: bool = True,
) -> dict[str, Any]:
    """Build a COCO instance-segmentation ground-truth dict from masks.

    Arguments:
      images: one ``((H, W), masks, category_ids)`` per image; ``masks`` is an NxHxW array or a
        sequence of N HxW masks (bool or {0, 1} integer), ``category_ids`` has N entries.
      categories: COCO category dicts, or ``{id: name}``, or None for one category per id used
        (named after its id).
      image_ids: one id per image; defaults to 1, 2, ...
      iscrowd: per image, N crowd flags; defaults to all 0.
      file_names: per image file name; defaults to ``"{image_id}.png"``.
      drop_empty: skip empty masks (an empty ground-truth instance can never be matched);
        when False they raise ValueError.

    Returns:
      dict: with ``images``, ``annotations`` (compressed RLE with str counts, ``area`` as the
      pixel count, ``bbox`` as XYWH, ids from 1) and ``categories``; JSON-serialisable.
    """
    n_img = len(images)
    ids = list(range(1, n_img + 1)) if image_ids is None else [int(i) for i in image_ids]
    if len(ids) != n_img or len(set(ids)) != n_img:
        raise ValueError("image_ids must hold one distinct id per image")
    out_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    used: set[int] = set()
    for k, ((h, w), masks, cats) in enumerate(images):
        h, w = int(h), int(w)
        name = f"{ids[k]}.png" if file_names is None else str(file_names[k])
        out_images.append({"id": ids[k], "height": h, "width": w, "file_name": name})
        masks = list(masks)
        cats = [int(c) for c in cats]
        crowd = [0] * len(masks) if iscrowd is None else [int(c) for c in iscrowd[k]]
        if len(cats) != len(masks) or len(crowd) != len(masks):
            raise ValueError(
                f"image {ids[k]}: {len(masks)} masks, {len(cats)} category ids, "
                f"{len(crowd)} crowd flags"
            )
        for j, (mask, cat, is_crowd) in enumerate(zip(masks, cats, crowd, strict=True)):
            m = as_mask(mask, f"image {ids[k]} mask {j}")
            if m.shape != (h, w):
                raise ValueError(
                    f"image {ids[k]} mask {j} has shape {m.shape}, the image size is {(h, w)}"
                )
            area = int(np.count_nonzero(m))
            if area == 0:
                if drop_empty:
                    continue
                raise ValueError(f"image {ids[k]} mask {j} is empty")
            rle = encode_rle(m)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": ids[k],
                    "category_id": cat,
                    "segmentation": rle,
                    "area": area,
                    "bbox": [float(v) for v in mask_utils.toBbox(to_rle(rle, h, w))],
                    "iscrowd": is_crowd,
                }
            )
            used.add(cat)
    cat_list = _categories(categories, used)
    missing = used - {int(c["id"]) for c in cat_list}
    if missing:
        raise ValueError(f"category ids {sorted(missing)} are not among the categories")
    return {"images": out_images, "annotations": annotations, "categories": cat_list}


def masks_to_results(
    image_id: int, masks: Any, category_ids: Sequence[int], scores: Sequence[float]
) -> list[dict[str, Any]]:
    """Detection results of one image in COCO result format.

    Arguments:
      image_id: the image's id in the ground truth.
      masks: NxHxW array or a sequence of N HxW masks (bool or {0, 1} integer).
      category_ids: N category ids.
      scores: N confidences (higher ranks first).

    Returns:
      list[dict]: N dicts with ``image_id``, ``category_id``, ``segmentation`` (RLE, str counts)
      and ``score``.
    """
    masks = list(masks)
    if not len(masks) == len(category_ids) == len(scores):
        raise ValueError(
            f"{len(masks)} masks, {len(category_ids)} category ids, {len(scores)} scores"
        )
    return [
        {
            "image_id": int(image_id),
            "category_id": int(c),
            "segmentation": encode_rle(m),
            "score": float(s),
        }
        for m, c, s in zip(masks, category_ids, scores, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Loading


def _quiet(verbose: bool) -> contextlib.AbstractContextManager[Any]:
    """Swallow pycocotools' prints unless ``verbose``."""
    return contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())


def load_coco_gt(gt: GroundTruth, verbose: bool = False) -> COCO:
    """A pycocotools ``COCO`` from a dict (copied), a JSON path, or a ``COCO`` (returned as is).

    A ``COCO`` passed in is used directly, so, as with pycocotools itself, an evaluation rewrites
    its annotations' segmentations as RLE in place; a dict passed in is never modified.
    """
    if isinstance(gt, COCO):
        return gt
    if isinstance(gt, str | PathLike):
        with open(gt) as f:
            dataset = json.load(f)
    elif isinstance(gt, Mapping):
        # COCOeval rewrites annotations in place; keep the caller's dict intact.
        dataset = copy.deepcopy(dict(gt))
    else:
        raise TypeError(f"unsupported ground truth type {type(gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in dataset:
            raise ValueError(f"ground truth has no {key!r} entry")
    source = f"ground truth {gt}" if isinstance(gt, str | PathLike) else "ground truth"
    images = {im.get("id"): im for im in dataset["images"] if isinstance(im, Mapping)}
    check_segmentations(dataset["annotations"], source, images)
    coco = COCO()
    coco.dataset = dataset
    with _quiet(verbose):
        coco.createIndex()
    return coco


def load_coco_results(
    coco_gt: COCO, results: Sequence[Mapping[str, Any]] | COCO, verbose: bool = False
) -> COCO:
    """Detection results as a ``COCO`` object tied to ``coco_gt``'s images and categories.

    Unlike ``COCO.loadRes`` this accepts an empty list, leaves the caller's dicts untouched,
    accepts masks as arrays, and checks each segmentation's size against its image.
    """
    if isinstance(results, COCO):
        return results
    anns: list[dict[str, Any]] = []
    for i, r in enumerate(results):
        for key in ("image_id", "category_id", "segmentation", "score"):
            if key not in r:
                raise ValueError(f"result {i} has no {key!r} entry")
        img = coco_gt.imgs.get(r["image_id"])
        if img is None:
            raise ValueError(f"result {i}: image_id {r['image_id']} is not in the ground truth")
        try:
            rle = to_rle(r["segmentation"], int(img["height"]), int(img["width"]))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"result {i} (image id {r['image_id']}): {exc}") from exc
        anns.append(
            {
                "id": i + 1,  # pycocotools reserves id 0 for "unmatched"
                "image_id": r["image_id"],
                "category_id": int(r["category_id"]),
                "segmentation": rle,
                "score": float(r["score"]),
                "area": float(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
            }
        )
    res = COCO()
    res.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": copy.deepcopy(coco_gt.dataset.get("categories", [])),
        "annotations": anns,
    }
    with _quiet(verbose):
        res.createIndex()
    return res


# ---------------------------------------------------------------------------------------------
# Boundary AP


class BoundaryCOCOeval(COCOeval):
    """``COCOeval`` with the Boundary IoU API's ``iouType="boundary"``.

    pycocotools dispatches on ``params.iouType`` in ``_prepare``, ``evaluate`` and ``summarize``
    and knows no "boundary"; those steps therefore run under "segm" (RLE conversion, area
    ranges, the 12-number summary are all those of mask AP) while :meth:`computeIoU`, which
    ``evaluate`` calls per image and category, supplies the boundary overlaps. Outside those
    calls ``params.iouType`` reads "boundary".

    Arguments:
      cocoGt: ground truth.
      cocoDt: detections (``segmentation`` as RLE or polygons).
      iouType: must be "boundary" (use ``COCOeval`` for the others).
      dilation_ratio: band width as a fraction of each image's diagonal.
      combine: "min" (min of mask and boundary IoU, the API's definition) or "boundary".
    """

    def __init__(
        self,
        cocoGt: COCO | None = None,
        cocoDt: COCO | None = None,
        iouType: str = "boundary",
        dilation_ratio: float = DEFAULT_DILATION_RATIO,
        combine: Literal["min", "boundary"] = "min",
    ) -> None:
        if iouType != "boundary":
            raise ValueError(f"BoundaryCOCOeval only evaluates iouType 'boundary', not {iouType!r}")
        if combine not in ("min", "boundary"):
            raise ValueError(f"combine must be 'min' or 'boundary', got {combine!r}")
        super().__init__(cocoGt, cocoDt, iouType="segm")
        self.params.iouType = "boundary"
        self.dilation_ratio = dilation_ratio
        self.combine = combine
        self._bands: dict[tuple[str, int], dict[str, Any]] = {}

    @contextlib.contextmanager
    def _run_as_segm(self) -> Iterator[None]:
        self.params.iouType = "segm"
        try:
            yield
        finally:
            self.params.iouType = "boundary"
            if hasattr(self._paramsEval, "iouType"):
                self._paramsEval.iouType = "boundary"

    def evaluate(self) -> None:
        """Per-image evaluation with boundary overlaps (see the class docstring)."""
        with self._run_as_segm():
            super().evaluate()

    def summarize(self) -> None:
        """The 12 detection statistics, as for mask AP."""
        with self._run_as_segm():
            super().summarize()

    def _band(self, source: str, ann: Mapping[str, Any]) -> dict[str, Any]:
        """Boundary band of one annotation (its segmentation is an RLE after ``_prepare``)."""
        key = (source, int(ann["id"]))
        if key not in self._bands:
            mask = _decode(ann["segmentation"])
            band = boundary_band(mask, self.dilation_ratio)
            self._bands[key] = mask_utils.encode(np.asfortranarray(band.astype(np.uint8)))
        return self._bands[key]

    def computeIoU(self, imgId: int, catId: int) -> np.ndarray | list:
        """DxG overlaps of the image's detections (by descending score) with its ground truth."""
        p = self.params
        if p.useCats:
            gts = self._gts[imgId, catId]
            dts = self._dts[imgId, catId]
        else:
            gts = [g for c in p.catIds for g in self._gts[imgId, c]]
            dts = [d for c in p.catIds for d in self._dts[imgId, c]]
        if not gts or not dts:
            return []
        # Same order and cut as pycocotools, which indexes these rows by rank later.
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in order][: p.maxDets[-1]]
        crowd = np.array([int(g["iscrowd"]) for g in gts], dtype=bool)
        mask_ious = np.asarray(
            mask_utils.iou(
                [d["segmentation"] for d in dts],
                [g["segmentation"] for g in gts],
                crowd.astype(np.uint8).tolist(),
            ),
            dtype=np.float64,
        )
        regular = np.flatnonzero(~crowd)
        if regular.size:
            band_ious = np.asarray(
                mask_utils.iou(
                    [self._band("dt", d) for d in dts],
                    [self._band("gt", gts[j]) for j in regular],
                    [0] * regular.size,
                ),
                dtype=np.float64,
            ).reshape(len(dts), regular.size)
            if self.combine == "min":
                band_ious = np.minimum(band_ious, mask_ious[:, regular])
            mask_ious[:, regular] = band_ious
        return mask_ious


# ---------------------------------------------------------------------------------------------
# Entry points


def _stats_dict(stats: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(STAT_NAMES, stats, strict=True):
        # pycocotools uses -1 for "no ground truth in this setting".
        out[name] = float("nan") if value < 0 else float(value) * 100.0
    out["stats"] = [float(v) for v in stats]
    return out


def _run(evaluator: COCOeval, verbose: bool) -> dict[str, Any]:
    with _quiet(verbose):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return _stats_dict(np.asarray(evaluator.stats))


def coco_mask_ap(
    gt: GroundTruth, results: Sequence[Mapping[str, Any]] | COCO, verbose: bool = False
) -> dict[str, Any]:
    """COCO mask AP (``COCOeval`` with ``iouType="segm"``).

    Arguments:
      gt: ground truth as a COCO dict, a JSON path or a ``COCO`` object.
      results: detection dicts (``image_id``, ``category_id``, ``segmentation``, ``score``).
      verbose: let pycocotools print its progress and summary table.

    Returns:
      dict: ``AP``, ``AP50``, ``AP75``, ``APs``, ``APm``, ``APl`` and ``AR1`` ... ``ARl`` in
      percent (NaN where no ground truth falls in the setting), and ``stats``, pycocotools' raw
      12-entry array as a list of fractions (-1 for undefined).
    """
    coco_gt = load_coco_gt(gt, verbose)
    coco_dt = load_coco_results(coco_gt, results, verbose)
    with _quiet(verbose):
        evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
    return _run(evaluator, verbose)


def coco_boundary_ap(
    gt: GroundTruth,
    results: Sequence[Mapping[str, Any]] | COCO,
    dilation_ratio: float = DEFAULT_DILATION_RATIO,
    combine: Literal["min", "boundary"] = "min",
    verbose: bool = False,
) -> dict[str, Any]:
    """Boundary AP (Boundary IoU API style, see the module docstring).

    Arguments:
      gt: ground truth as a COCO dict, a JSON path or a ``COCO`` object.
      results: detection dicts (``image_id``, ``category_id``, ``segmentation``, ``score``).
      dilation_ratio: band width as a fraction of each image's diagonal.
      combine: "min" (the API's min of mask and boundary IoU) or "boundary" (boundary IoU only).
      verbose: let pycocotools print its progress and summary table.

    Returns:
      dict: same keys as :func:`coco_mask_ap`.
    """
    coco_gt = load_coco_gt(gt, verbose)
    coco_dt = load_coco_results(coco_gt, results, verbose)
    evaluator = BoundaryCOCOeval(coco_gt, coco_dt, dilation_ratio=dilation_ratio, combine=combine)
    return _run(evaluator, verbose)
