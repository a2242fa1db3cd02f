"""Mask IoU and its two dataset-level aggregates.

Conventions:
- ``ignore`` marks pixels that count for neither mask (void labels, out-of-image padding): they
  are removed from the intersection and from the union.
- Empty versus empty: when the union is empty (both masks empty, or everything ignored) the IoU
  is defined as 1.0, since the prediction agrees with the ground truth on every pixel that counts.
- Dataset aggregates: ``cumulative`` = sum of intersections / sum of unions over all samples (the
  number the SAMRefiner reference code reports; large objects weigh more), ``mean`` = mean of the
  per-sample IoUs (the CascadePSP convention; every sample weighs the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import mask_pair

EMPTY_IOU = 1.0
"""IoU of two masks whose union is empty."""


def intersection_union(pred: Any, gt: Any, ignore: Any = None) -> tuple[int, int]:
    """Pixel counts of the intersection and of the union of two masks.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      ignore: HxW bool pixels excluded from both masks, or None.

    Returns:
      tuple[int, int]: (|pred & gt|, |pred | gt|) over the pixels not ignored.
    """
    p, g, ig = mask_pair(pred, gt, ignore)
    inter = p & g
    union = p | g
    if ig is not None:
        keep = ~ig
        inter &= keep
        union &= keep
    return int(np.count_nonzero(inter)), int(np.count_nonzero(union))


def iou_from_counts(intersection: int, union: int) -> float:
    """IoU from pixel counts, with an empty union giving :data:`EMPTY_IOU`."""
    if union < 0 or intersection < 0 or intersection > union:
        raise ValueError(f"invalid counts: intersection {intersection}, union {union}")
    return EMPTY_IOU if union == 0 else intersection / union


def mask_iou(pred: Any, gt: Any, ignore: Any = None) -> float:
    """Intersection over union of two binary masks.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      ignore: HxW bool pixels excluded from both masks, or None.

    Returns:
      float: in [0, 1]; 1.0 when the union (outside ``ignore``) is empty.
    """
    return iou_from_counts(*intersection_union(pred, gt, ignore))


class IoUAccumulator:
    """Collects intersections and unions over a dataset.

    Subclasses change which pixels are compared by overriding :meth:`counts` (the boundary
    variant compares boundary bands); the aggregation is shared.

    Attributes:
      per_sample: the IoU of every added sample, in order.
    """

    def __init__(self) -> None:
        self.per_sample: list[float] = []
        self._intersection = 0
        self._union = 0

    def counts(self, pred: Any, gt: Any, ignore: Any = None) -> tuple[int, int]:
        """Intersection and union counts of one sample (see :func:`intersection_union`)."""
        return intersection_union(pred, gt, ignore)

    def add(self, pred: Any, gt: Any, ignore: Any = None) -> float:
        """Add one HxW sample.

        Arguments:
          pred: HxW bool (or {0, 1} integer) predicted mask.
          gt: HxW bool (or {0, 1} integer) ground-truth mask.
          ignore: HxW bool pixels excluded from both, or None.

        Returns:
          float: the sample's IoU.
        """
        return self.add_counts(*self.counts(pred, gt, ignore))

    def add_counts(self, intersection: int, union: int) -> float:
        """Add one sample given its counts; returns its IoU."""
        value = iou_from_counts(int(intersection), int(union))
        self._intersection += int(intersection)
        self._union += int(union)
        self.per_sample.append(value)
        return value

    def merge(self, other: IoUAccumulator) -> IoUAccumulator:
        """Add every sample of ``other`` (same class) to this accumulator; returns self."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._intersection += other._intersection
        self._union += other._union
        self.per_sample.extend(other.per_sample)
        return self

    @property
    def count(self) -> int:
        """Number of samples added."""
        return len(self.per_sample)

    @property
    def intersection(self) -> int:
        """Sum of the intersections of all samples."""
        return self._intersection

    @property
    def union(self) -> int:
        """Sum of the unions of all samples."""
        return self._union

    @property
    def cumulative(self) -> float:
        """sum(I) / sum(U) over the samples; NaN before any sample, 1.0 if every union is empty."""
        if not self.per_sample:
            return float("nan")
        return iou_from_counts(self._intersection, self._union)

    @property
    def mean(self) -> float:
        """Mean of the per-sample IoUs; NaN before any sample."""
        if not self.per_sample:
            return float("nan")
        return float(np.mean(self.per_sample))

    def summary(self) -> dict[str, float]:
        """``{"cumulative", "mean", "count"}`` in one dict (handy for tables)."""
        return {"cumulative": self.cumulative, "mean": self.mean, "count": self.count}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(count={self.count}, cumulative={self.cumulative:.4f}, "
            f"mean={self.mean:.4f})"
        )
