"""Input checks shared by the metrics.

Masks are boolean arrays. Integer arrays are accepted when every value is 0 or 1 (a label image
read from disk, a uint8 0/1 mask); anything else, floats and 0/255 images included, is refused:
a silent threshold would hide a caller's mistake.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_mask(value: Any, name: str, ndim: int | None = 2) -> np.ndarray:
    """Return ``value`` as a bool array after checking its type and values.

    Arguments:
      value: a bool array, or an integer array holding only 0 and 1 (anything ``np.asarray``
        accepts, CPU torch tensors included).
      name: how error messages call the argument.
      ndim: required number of dimensions, or None for any.

    Returns:
      np.ndarray: bool array of the same shape (no copy for bool input).

    Raises:
      TypeError: for a dtype that is neither bool nor integer.
      ValueError: for integer values outside {0, 1} or a wrong number of dimensions.
    """
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(
                f"{name}: expected a bool array or a {{0, 1}} integer array, got dtype {arr.dtype}"
            )
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                f"{name}: integer masks may only hold 0 and 1, got values in "
                f"[{arr.min()}, {arr.max()}]"
            )
        arr = arr.astype(bool)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {arr.shape}")
    return arr


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError naming both shapes when ``a`` and ``b`` differ in shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"shape mismatch: {name_a} has shape {a.shape}, {name_b} has shape {b.shape}"
        )


def mask_pair(
    pred: Any, gt: Any, ignore: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate an HxW prediction / ground-truth pair and an optional HxW ignore mask."""
    p = as_mask(pred, "pred")
    g = as_mask(gt, "gt")
    check_same_shape(p, g, "pred", "gt")
    ig = None
    if ignore is not None:
        ig = as_mask(ignore, "ignore")
        check_same_shape(ig, g, "ignore", "gt")
    return p, g, ig
