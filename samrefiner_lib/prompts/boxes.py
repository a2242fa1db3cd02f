"""Tight bounding boxes of binary masks.

Boxes are XYXY in pixel indices of the original image, with the maximum *inclusive*: a mask
whose foreground spans columns 3..7 has x0 = 3 and x1 = 7, as in the reference code. SAM's prompt
encoder shifts box corners by half a pixel, so this places the corners on the centres of the
extreme foreground pixels.
"""

from __future__ import annotations

import numpy as np


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Return the tight box (x0, y0, x1, y1), inclusive, or None for an empty mask.

    Arguments:
      mask: HxW bool array.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def tight_box(mask: np.ndarray) -> np.ndarray:
    """Tight box of a non-empty mask as a float array [x0, y0, x1, y1] (inclusive maximum).

    Arguments:
      mask: HxW bool array with at least one foreground pixel.

    Returns:
      np.ndarray: shape (4,), float64.
    """
    box = mask_bbox(mask)
    if box is None:
        raise ValueError("tight_box: the mask is empty; there is no box to take")
    return np.asarray(box, dtype=np.float64)


def box_center(box: np.ndarray) -> np.ndarray:
    """Centre (x, y) of an XYXY box, rounded down to a pixel index."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return np.array([np.floor((x0 + x1) / 2.0), np.floor((y0 + y1) / 2.0)])
