"""Argument checks and seeding shared by the defect simulators.

Every simulator is seeded only through its ``rng`` argument: an ``int`` seed (a fresh
``numpy.random.default_rng(seed)`` per call, so the same seed always gives the same output) or a
``numpy.random.Generator`` (whose state the call advances, like any numpy sampling call).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

RngLike = np.random.Generator | int


def as_generator(rng: RngLike, name: str = "rng") -> np.random.Generator:
    """Turn an int seed or a Generator into a Generator.

    Arguments:
      rng: a non-negative int seed or a ``numpy.random.Generator``.
      name: the argument name used in error messages.

    Returns:
      numpy.random.Generator
    """
    if isinstance(rng, np.random.Generator):
        return rng
    # bool is an Integral too, but a True/False seed is almost certainly a mistake.
    if isinstance(rng, bool | np.bool_) or not isinstance(rng, numbers.Integral):
        raise ValueError(
            f"{name} must be an int seed or a numpy.random.Generator, got {type(rng).__name__}"
        )
    if rng < 0:
        raise ValueError(f"{name} must be a non-negative seed, got {rng}")
    return np.random.default_rng(int(rng))


def check_mask(mask: object, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Check that ``mask`` is a non-empty HxW bool array and return it (not copied).

    Arguments:
      mask: the array to check.
      name: the argument name used in error messages.
      allow_empty: accept a mask without any foreground pixel.

    Returns:
      HxW bool numpy array (the same object).
    """
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise ValueError(f"{name} must have dtype bool, got {mask.dtype}")
    if mask.ndim != 2:
        raise ValueError(f"{name} must be a 2-D HxW array, got shape {mask.shape}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise ValueError(f"{name} must not have a zero-size side, got shape {mask.shape}")
    if not allow_empty and not mask.any():
        raise ValueError(f"{name} is empty: it has no foreground pixel")
    return mask


def check_interval(
    value: Sequence[float], name: str, low: float, high: float, *, open_ends: bool = False
) -> tuple[float, float]:
    """Check a (lo, hi) pair with low <= lo <= hi <= high (strict at both ends if asked).

    Arguments:
      value: the pair to check.
      name: the argument name used in error messages.
      low: smallest allowed value.
      high: largest allowed value.
      open_ends: require low < lo and hi < high.

    Returns:
      (lo, hi) as floats.
    """
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers, got {value!r}") from None
    bad_low = lo <= low if open_ends else lo < low
    bad_high = hi >= high if open_ends else hi > high
    if not (np.isfinite(lo) and np.isfinite(hi)) or bad_low or bad_high or lo > hi:
        ends = "()" if open_ends else "[]"
        raise ValueError(
            f"{name} must satisfy lo <= hi inside {ends[0]}{low}, {high}{ends[1]}, got {value!r}"
        )
    return lo, hi


def check_number(
    value: float, name: str, low: float = -np.inf, high: float = np.inf, *, strict: bool = False
) -> float:
    """Check a finite number with low <= value <= high (low < value when ``strict``).

    Arguments:
      value: the number to check.
      name: the argument name used in error messages.
      low: smallest allowed value.
      high: largest allowed value.
      strict: exclude ``low`` itself.

    Returns:
      float
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v > high or v < low or (strict and v == low):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be finite, {relation} {low} and <= {high}, got {value!r}")
    return v


def check_count(value: int, name: str, minimum: int = 1) -> int:
    """Check an integer >= ``minimum``.

    Arguments:
      value: the integer to check.
      name: the argument name used in error messages.
      minimum: smallest allowed value.

    Returns:
      int
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two HxW bool masks (1.0 when both are empty)."""
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return np.count_nonzero(a & b) / union
