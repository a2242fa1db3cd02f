"""Metrics used by SAMRefiner and its peers (METHOD.md sections 3 and 4).

- :mod:`.iou`: mask IoU, with dataset aggregates ``cumulative`` (sum I / sum U, the reference
  code's number) and ``mean`` (per-sample mean, the CascadePSP convention).
- :mod:`.boundary`: Boundary IoU (Cheng et al. 2021).
- :mod:`.mba`: CascadePSP's mean boundary accuracy.
- :mod:`.semantic`: confusion matrix and mIoU for label maps.
- :mod:`.ranking`: top-1 accuracy of SAM's IoU head.
- :mod:`.coco`: COCO mask AP and boundary AP, plus RLE and COCO-dict helpers.

Binary-mask inputs are bool arrays or {0, 1} integer arrays; a pred/gt shape mismatch raises
ValueError naming both shapes. An empty union scores IoU 1.0 throughout.
"""

from .boundary import (
    BoundaryIoUAccumulator,
    boundary_band,
    boundary_intersection_union,
    boundary_iou,
    boundary_width,
)
from .coco import (
    STAT_NAMES,
    BoundaryCOCOeval,
    coco_boundary_ap,
    coco_mask_ap,
    decode_rle,
    encode_rle,
    load_coco_gt,
    load_coco_results,
    masks_to_coco,
    masks_to_results,
    to_rle,
)
from .iou import EMPTY_IOU, IoUAccumulator, intersection_union, iou_from_counts, mask_iou
from .mba import boundary_accuracy, mba_radii, mean_boundary_accuracy
from .ranking import candidate_ious, top1_accuracy, top1_correct
from .semantic import ConfusionMatrix

__all__ = [
    "EMPTY_IOU",
    "STAT_NAMES",
    "BoundaryCOCOeval",
    "BoundaryIoUAccumulator",
    "ConfusionMatrix",
    "IoUAccumulator",
    "boundary_accuracy",
    "boundary_band",
    "boundary_intersection_union",
    "boundary_iou",
    "boundary_width",
    "candidate_ious",
    "coco_boundary_ap",
    "coco_mask_ap",
    "decode_rle",
    "encode_rle",
    "intersection_union",
    "iou_from_counts",
    "load_coco_gt",
    "load_coco_results",
    "mask_iou",
    "masks_to_coco",
    "masks_to_results",
    "mba_radii",
    "mean_boundary_accuracy",
    "to_rle",
    "top1_accuracy",
    "top1_correct",
]
