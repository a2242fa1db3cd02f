"""Refine the masks of a COCO-format file: detection results or instance annotations.

Input: a COCO annotation JSON (images, and annotations unless only detections are refined) plus,
optionally, a detection-result JSON with a ``segmentation`` per detection.

* With detections, each detection's mask is refined; its category and image stay, and its
  ``score`` follows ``score_mode``.
* Without, the non-crowd annotations are refined (e.g. coarse polygon annotations).

Output: ``refined_results.json``, a COCO result list (the format ``COCOeval`` and
:func:`samrefiner_lib.metrics.coco_mask_ap` read) ordered by image id and then input order, each
entry with ``image_id``, ``category_id``, ``segmentation`` (compressed RLE), ``score``,
``refine_score`` (SAM's predicted IoU of the chosen candidate; null for baselines) and
``source_index`` (position in the detection file) or ``annotation_id``.

``score_mode``: ``"keep"`` the detection score (1.0 for annotations), ``"sam"`` the predicted
IoU, ``"product"`` their product.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..datasets import CocoInstances
from ..metrics import encode_rle
from .atomic import write_json_atomic
from .refine_fns import InstanceRefine, score_or_none

ScoreMode = Literal["keep", "sam", "product"]
SCORE_MODES = ("keep", "sam", "product")
RESULTS_FILE = "refined_results.json"


class CocoRefineJob:
    """Dataset job over the images of a COCO file (one item per image id).

    Arguments:
      dataset: the loader (with ``detections`` to refine those, else its annotations).
      refine: instance refinement function.
      score_mode: ``"keep"``, ``"sam"`` or ``"product"`` (see the module docstring).
      method: description of the method, for the fingerprint.
    """

    name = "coco"

    def __init__(self, dataset: CocoInstances, refine: InstanceRefine,
                 score_mode: ScoreMode = "keep", method: dict[str, Any] | None = None) -> None:
        if score_mode not in SCORE_MODES:
            raise ValueError(f"--score must be one of {SCORE_MODES}, got {score_mode!r}")
        if dataset.detections is None and not dataset.has_annotations:
            raise ValueError(f"{dataset.ann_file}: no annotations and no detections to refine")
        self.dataset = dataset
        self.refine = refine
        self.score_mode = score_mode
        self.method = method or {}
        self.source = "detections" if dataset.detections is not None else "annotations"

    def keys(self) -> list[str]:
        return [str(i) for i in self.dataset.image_ids]

    def fingerprint(self) -> dict[str, Any]:
        return {"dataset": "coco", "source": self.source, "images": len(self.dataset.image_ids),
                "score_mode": self.score_mode, "method": self.method}

    def _count(self, image_id: int) -> int:
        if self.source == "detections":
            return len(self.dataset.detections.get(image_id, []))
        anns = self.dataset.coco.imgToAnns.get(image_id, [])
        return sum(1 for a in anns if not a.get("iscrowd", 0))

    def _score(self, given: float, sam: float) -> float:
        if self.score_mode == "keep":
            return float(given)
        if not math.isfinite(sam):
            raise ValueError(f"--score {self.score_mode} needs SAM's predicted IoU, which this "
                             "method does not give (use --score keep)")
        return float(sam) if self.score_mode == "sam" else float(given) * float(sam)

    def process(self, key: str, out_dir: Path) -> dict[str, Any]:
        image_id = int(key)
        if self._count(image_id) == 0:
            return {"image_id": image_id, "results": []}  # nothing to refine: skip the decode
        sample = self.dataset.get(image_id)
        if self.source == "detections":
            coarse = sample.coarse
            cats, given = sample.meta["coarse_labels"], sample.meta["coarse_scores"]
            ids = {"source_index": sample.meta["coarse_index"]}
        else:
            coarse = sample.gt
            cats, given = sample.meta["gt_labels"], [1.0] * len(sample.gt)
            ids = {"annotation_id": sample.meta["gt_ids"]}
        masks, sam_scores = self.refine(sample.image, coarse)
        (id_key, id_values), = ids.items()
        results = []
        for j, mask in enumerate(np.asarray(masks, dtype=bool)):
            sam = float(sam_scores[j])
            results.append({
                "image_id": image_id,
                "category_id": cats[j],
                "segmentation": encode_rle(mask),
                "score": self._score(given[j], sam),
                "refine_score": score_or_none(sam),
                id_key: id_values[j],
            })
        return {"image_id": image_id, "results": results}

    def merge(self, out_dir: Path, records: list[dict[str, Any]]) -> list[Path]:
        results = [r for rec in records for r in rec["results"]]
        return [write_json_atomic(out_dir / RESULTS_FILE, results)]
