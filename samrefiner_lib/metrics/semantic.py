"""Confusion matrix and mIoU for semantic label maps.

Conventions:
- Rows are ground-truth classes, columns predicted classes; counts are pixels.
- Pixels whose ground truth equals ``ignore_index`` (255 by default, the PASCAL VOC void label)
  are skipped entirely.
- A prediction equal to ``ignore_index`` at a valid pixel ("no label", e.g. a pixel no refined
  region claimed) is wrong for that pixel's ground-truth class: it adds to that class's false
  negatives and to no class's false positives. Such pixels are tallied in :attr:`unlabeled`.
- Any other value outside ``[0, num_classes)``, in prediction or ground truth, raises ValueError.
- Per-class IoU = TP / (TP + FP + FN); a class absent from both ground truth and prediction has
  IoU NaN and is left out of the mean (``np.nanmean``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validate import check_same_shape


class ConfusionMatrix:
    """Accumulates a class confusion matrix over label maps.

    Arguments:
      num_classes: K, labels are 0..K-1 (background included when it is a class).
      ignore_index: ground-truth label to skip (and prediction label meaning "unlabeled"), or
        None for no such label. Must lie outside ``[0, K)``.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if ignore_index is not None and 0 <= ignore_index < num_classes:
            raise ValueError(
                f"ignore_index {ignore_index} is a valid class for num_classes={num_classes}"
            )
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        # The extra last column counts predictions equal to ignore_index.
        self._counts = np.zeros((self.num_classes, self.num_classes + 1), dtype=np.int64)

    @property
    def matrix(self) -> np.ndarray:
        """KxK int64 counts, ``matrix[g, p]`` = pixels of ground truth g predicted as p."""
        return self._counts[:, : self.num_classes].copy()

    @property
    def unlabeled(self) -> np.ndarray:
        """(K,) int64: pixels of each ground-truth class predicted as ``ignore_index``."""
        return self._counts[:, self.num_classes].copy()

    def _labels(self, arr: np.ndarray, name: str) -> np.ndarray:
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
            raise TypeError(f"{name}: expected an integer label array, got dtype {arr.dtype}")
        return arr.astype(np.int64, copy=False)

    def update(self, pred: Any, gt: Any) -> None:
        """Add one pair of label maps.

        Arguments:
          pred: HxW (any shape, matching ``gt``) integer predicted labels.
          gt: HxW integer ground-truth labels; ``ignore_index`` pixels are skipped.
        """
        p = self._labels(np.asarray(pred), "pred")
        g = self._labels(np.asarray(gt), "gt")
        check_same_shape(p, g, "pred", "gt")
        p, g = p.ravel(), g.ravel()
        k = self.num_classes
        if self.ignore_index is not None:
            keep = g != self.ignore_index
            p, g = p[keep], g[keep]
        if g.size == 0:
            return
        if g.min() < 0 or g.max() >= k:
            raise ValueError(f"gt labels must lie in [0, {k}) or equal ignore_index")
        unlabeled = p == self.ignore_index if self.ignore_index is not None else None
        in_range = (p >= 0) & (p < k)
        if not np.all(in_range if unlabeled is None else in_range | unlabeled):
            raise ValueError(f"pred labels must lie in [0, {k}) or equal ignore_index")
        if unlabeled is not None:
            p = np.where(unlabeled, k, p)
        flat = np.bincount(g * (k + 1) + p, minlength=k * (k + 1))
        self._counts += flat.reshape(k, k + 1)

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add the counts of ``other`` (same classes and ignore index) in place; returns self."""
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                "cannot merge confusion matrices with different (num_classes, ignore_index): "
                f"{(self.num_classes, self.ignore_index)} vs "
                f"{(other.num_classes, other.ignore_index)}"
            )
        self._counts += other._counts
        return self

    def reset(self) -> None:
        """Clear all counts."""
        self._counts[:] = 0

    def _tp_fp_fn(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self._counts[:, : self.num_classes]
        tp = np.diag(m)
        fp = m.sum(axis=0) - tp
        fn = self._counts.sum(axis=1) - tp  # includes predictions of ignore_index
        return tp, fp, fn

    def iou(self) -> np.ndarray:
        """(K,) float64 per-class IoU; NaN for a class absent from ground truth and prediction."""
        tp, fp, fn = self._tp_fp_fn()
        denom = tp + fp + fn
        out = np.full(self.num_classes, np.nan)
        present = denom > 0
        out[present] = tp[present] / denom[present]
        return out

    def miou(self) -> float:
        """Mean of the per-class IoUs that are defined; NaN if none is."""
        ious = self.iou()
        if np.all(np.isnan(ious)):
            return float("nan")
        return float(np.nanmean(ious))

    def pixel_accuracy(self) -> float:
        """Fraction of counted pixels labelled correctly; NaN before any pixel."""
        total = self._counts.sum()
        return float("nan") if total == 0 else float(np.trace(self._counts) / total)

    def table(self, class_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Per-class table.

        Arguments:
          class_names: K names, or None for ``"0", "1", ...``.

        Returns:
          pd.DataFrame: one row per class, indexed by class id, with columns ``name``, ``iou``,
          ``gt_pixels``, ``pred_pixels`` and ``tp``.
        """
        if class_names is None:
            class_names = [str(c) for c in range(self.num_classes)]
        if len(class_names) != self.num_classes:
            raise ValueError(f"expected {self.num_classes} class names, got {len(class_names)}")
        tp, fp, fn = self._tp_fp_fn()
        df = pd.DataFrame(
            {
                "name": list(class_names),
                "iou": self.iou(),
                "gt_pixels": tp + fn,
                "pred_pixels": tp + fp,
                "tp": tp,
            },
            index=pd.RangeIndex(self.num_classes, name="class_id"),
        )
        return df

    def __repr__(self) -> str:
        return (
            f"ConfusionMatrix(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"miou={self.miou():.4f})"
        )
