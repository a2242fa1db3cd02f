"""COCO protocol: refine the masks of detection results and score AP before and after.

Each detection keeps its image, category and score; only its mask changes. The ``coarse`` row
scores the detections as given, every method row the same detections with refined masks, so the
difference is the effect of refinement alone (the paper's Table 3 / Table 6 protocol). Metrics:
COCO mask AP (pycocotools, ``segm``) and boundary AP (Boundary IoU API style), on the evaluated
images only (a ``limit`` run restricts the ground truth to the same images).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from ..datasets import CocoInstances
from ..metrics import coco_boundary_ap, coco_mask_ap, masks_to_results
from ..refiner import SAMRefiner
from .methods import is_sam_method, method_record, refine_instances
from .results_file import ProtocolResult
from .runner import Method

AP_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl")


def ground_truth_subset(coco: CocoInstances) -> dict[str, Any]:
    """The annotation dict restricted to ``coco.image_ids`` (other entries kept)."""
    keep = set(coco.image_ids)
    data = coco.coco.dataset
    out = {k: v for k, v in data.items() if k not in ("images", "annotations")}
    out["images"] = [im for im in data["images"] if int(im["id"]) in keep]
    out["annotations"] = [a for a in data.get("annotations", []) if int(a["image_id"]) in keep]
    return out


def evaluate_coco(
    coco: CocoInstances,
    methods: Mapping[str, Method],
    refiner: SAMRefiner | None = None,
    *,
    dilation_ratio: float = 0.02,
    progress: bool = True,
    info: dict[str, Any] | None = None,
) -> ProtocolResult:
    """Mask AP and boundary AP of the detections before and after each method.

    Arguments:
      coco: loader with detections (``coarse``) and annotations; its ``image_ids`` are scored.
      methods: name -> SAMRefiner configuration or baseline.
      refiner: runs the SAMRefiner configurations (one encoder pass per image for all of them).
      dilation_ratio: boundary band width for boundary AP.
      progress: show a progress bar.
      info: run facts to record.

    Returns:
      ProtocolResult: rows ``coarse`` and each method; columns ``detections``, the AP keys,
      ``boundary AP``, ``boundary AP50``, ``boundary AP75`` (in %) and ``seconds``.
    """
    if coco.detections is None:
        raise ValueError("COCO evaluation needs detection results (the coarse masks)")
    if not coco.has_annotations:
        raise ValueError(f"{coco.ann_file} has no annotations to score against")
    if any(is_sam_method(m) for m in methods.values()) and refiner is None:
        raise ValueError("methods include SAMRefiner configurations but no refiner was given")
    names = ["coarse", *methods]
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    seconds = dict.fromkeys(names, 0.0)
    for image_id in tqdm(coco.image_ids, disable=not progress, desc="evaluate", unit="img"):
        dets = coco.detections.get(image_id, [])
        if not dets:
            continue
        sample = coco.get(image_id)
        labels, scores = sample.meta["coarse_labels"], sample.meta["coarse_scores"]
        results["coarse"] += masks_to_results(image_id, sample.coarse, labels, scores)
        embedding = None
        if refiner is not None and any(is_sam_method(m) for m in methods.values()):
            embedding = refiner.encode(sample.image)
        for name, method in methods.items():
            t = time.perf_counter()
            masks, _ = refine_instances(method, sample.image, sample.coarse, refiner,
                                        embedding if is_sam_method(method) else None)
            seconds[name] += time.perf_counter() - t
            results[name] += masks_to_results(image_id, masks, labels, scores)
    gt = ground_truth_subset(coco)
    rows = []
    for name in names:
        mask = coco_mask_ap(gt, results[name])
        boundary = coco_boundary_ap(gt, results[name], dilation_ratio=dilation_ratio)
        row: dict[str, Any] = {"method": name, "detections": len(results[name])}
        row.update({k: mask[k] for k in AP_KEYS})
        row.update({f"boundary {k}": boundary[k] for k in ("AP", "AP50", "AP75")})
        row["seconds"] = seconds[name]
        rows.append(row)
    records = {"coarse": {"label": "coarse masks (input detections)", "kind": "input",
                          "config": None}}
    records.update({k: method_record(m) for k, m in methods.items()})
    table = pd.DataFrame(rows).set_index("method")
    table.insert(0, "configuration", [records[n]["label"] for n in names])
    return ProtocolResult(table=table, methods=records,
                          info={**(info or {}), "images": len(coco.image_ids)})
