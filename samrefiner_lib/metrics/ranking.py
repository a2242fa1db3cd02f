"""Top-1 accuracy of an IoU head (METHOD.md section 3).

For each prompt SAM returns K candidate masks (K = 3 with ``multimask_output``) and a predicted
IoU for each. The head's choice is right when it picks the candidate that best matches the ground
truth.

Conventions:
- The chosen candidate is ``argmax`` of the predicted IoUs; ties among predicted IoUs go to the
  lowest index (NumPy / PyTorch ``argmax``, which is what a refiner's selection does).
- Ties among the true IoUs: the choice counts as correct when its true IoU equals the maximum
  true IoU exactly, i.e. when it is any of the best candidates. (Comparing two argmaxes instead
  would call a choice wrong merely for picking the second of two identical masks.)
- Candidate IoUs use :func:`~samrefiner_lib.metrics.iou.mask_iou`'s convention: an empty
  candidate against an empty ground truth scores 1.0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_mask
from .iou import EMPTY_IOU


def _scores(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected an NxK array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: contains NaN")
    return arr


def top1_correct(predicted_ious: Any, true_ious: Any) -> np.ndarray:
    """Per-sample correctness of the predicted-IoU choice.

    Arguments:
      predicted_ious: NxK IoUs predicted by the head.
      true_ious: NxK IoUs of the same candidates with the ground truth.

    Returns:
      np.ndarray: (N,) bool, True where the predicted argmax is among the true maxima.
    """
    pred = _scores(predicted_ious, "predicted_ious")
    true = _scores(true_ious, "true_ious")
    if pred.shape != true.shape:
        raise ValueError(
            f"shape mismatch: predicted_ious has shape {pred.shape}, "
            f"true_ious has shape {true.shape}"
        )
    if pred.shape[1] == 0:
        raise ValueError("no candidates (K = 0)")
    chosen = np.argmax(pred, axis=1)
    chosen_true = np.take_along_axis(true, chosen[:, None], axis=1)[:, 0]
    return chosen_true == true.max(axis=1)


def top1_accuracy(predicted_ious: Any, true_ious: Any) -> float:
    """Fraction of samples where the head picks a best candidate (see :func:`top1_correct`).

    Arguments:
      predicted_ious: NxK IoUs predicted by the head.
      true_ious: NxK IoUs of the same candidates with the ground truth.

    Returns:
      float: in [0, 1].

    Raises:
      ValueError: for N = 0, mismatched shapes or NaN scores.
    """
    correct = top1_correct(predicted_ious, true_ious)
    if correct.size == 0:
        raise ValueError("top-1 accuracy of zero samples is undefined")
    return float(correct.mean())


def candidate_ious(candidates: Any, gt: Any) -> np.ndarray:
    """IoU of every candidate mask with its ground truth.

    Arguments:
      candidates: NxKxHxW bool (or {0, 1} integer) candidate masks.
      gt: NxHxW bool (or {0, 1} integer) ground-truth masks, one per sample.

    Returns:
      np.ndarray: NxK float64 IoUs (1.0 where candidate and ground truth are both empty).
    """
    c = as_mask(candidates, "candidates", ndim=4)
    g = as_mask(gt, "gt", ndim=3)
    if c.shape[0] != g.shape[0] or c.shape[2:] != g.shape[1:]:
        raise ValueError(
            f"shape mismatch: candidates has shape {c.shape}, gt has shape {g.shape} "
            "(expected NxKxHxW and NxHxW)"
        )
    g4 = g[:, None]
    inter = np.count_nonzero(c & g4, axis=(2, 3))
    union = np.count_nonzero(c | g4, axis=(2, 3))
    out = np.full(inter.shape, EMPTY_IOU, dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out
