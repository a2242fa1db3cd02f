"""Boundary IoU (Cheng et al., "Boundary IoU: Improving Object-Centric Image Segmentation
Evaluation", CVPR 2021).

The boundary band of a mask is the mask minus its erosion by ``d`` pixels, where
``d = max(1, round(dilation_ratio * sqrt(H^2 + W^2)))`` (Python's ``round``, as in the Boundary
IoU API) and the erosion is ``d`` passes of a 3x3 square kernel, i.e. one (2d+1)x(2d+1) square.
Outside the image counts as background (zero padding), so foreground pixels within ``d`` of the
image border belong to the band: a mask cut by the border has a boundary there.

Boundary IoU is the IoU of the two bands. ``ignore`` pixels are removed from both bands after the
bands are computed on the full masks (so an ignore region never creates boundary of its own), and
an empty union gives 1.0, as for :func:`~samrefiner_lib.metrics.iou.mask_iou`.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ._validate import as_mask, mask_pair
from .iou import IoUAccumulator, iou_from_counts

DEFAULT_DILATION_RATIO = 0.02


def boundary_width(height: int, width: int, dilation_ratio: float = DEFAULT_DILATION_RATIO) -> int:
    """Band width ``d = max(1, round(dilation_ratio * image diagonal))`` in pixels."""
    if dilation_ratio <= 0:
        raise ValueError(f"dilation_ratio must be positive, got {dilation_ratio}")
    return max(1, int(round(dilation_ratio * math.hypot(height, width))))


def boundary_band(mask: Any, dilation_ratio: float = DEFAULT_DILATION_RATIO) -> np.ndarray:
    """Inner boundary band of a mask.

    Arguments:
      mask: HxW bool (or {0, 1} integer) mask.
      dilation_ratio: band width as a fraction of the image diagonal.

    Returns:
      np.ndarray: HxW bool, the pixels of ``mask`` within ``d`` (chessboard distance) of a
      background pixel or of the image border.
    """
    m = as_mask(mask, "mask")
    h, w = m.shape
    if m.size == 0:
        return m.copy()
    d = boundary_width(h, w, dilation_ratio)
    # A (2d+1) square erosion equals d passes of the 3x3 kernel; a constant 0 border makes
    # everything outside the image background.
    kernel = np.ones((2 * d + 1, 2 * d + 1), np.uint8)
    eroded = cv2.erode(
        m.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0
    ).astype(bool)
    return m & ~eroded


def boundary_intersection_union(
    pred: Any,
    gt: Any,
    dilation_ratio: float = DEFAULT_DILATION_RATIO,
    ignore: Any = None,
) -> tuple[int, int]:
    """Pixel counts of the intersection and union of the two boundary bands.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      dilation_ratio: band width as a fraction of the image diagonal.
      ignore: HxW bool pixels excluded from both bands, or None.

    Returns:
      tuple[int, int]: (|Bp & Bg|, |Bp | Bg|) over the pixels not ignored.
    """
    p, g, ig = mask_pair(pred, gt, ignore)
    bp = boundary_band(p, dilation_ratio)
    bg = boundary_band(g, dilation_ratio)
    inter = bp & bg
    union = bp | bg
    if ig is not None:
        inter &= ~ig
        union &= ~ig
    return int(np.count_nonzero(inter)), int(np.count_nonzero(union))


def boundary_iou(
    pred: Any,
    gt: Any,
    dilation_ratio: float = DEFAULT_DILATION_RATIO,
    ignore: Any = None,
) -> float:
    """Boundary IoU of two masks: the IoU of their boundary bands.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      dilation_ratio: band width as a fraction of the image diagonal (0.02 in the paper).
      ignore: HxW bool pixels excluded from both bands, or None.

    Returns:
      float: in [0, 1]; 1.0 when both bands are empty.
    """
    return iou_from_counts(*boundary_intersection_union(pred, gt, dilation_ratio, ignore))


class BoundaryIoUAccumulator(IoUAccumulator):
    """:class:`IoUAccumulator` over boundary bands (cumulative and per-sample mean).

    Arguments:
      dilation_ratio: band width as a fraction of each image's diagonal.
    """

    def __init__(self, dilation_ratio: float = DEFAULT_DILATION_RATIO) -> None:
        super().__init__()
        self.dilation_ratio = dilation_ratio

    def counts(self, pred: Any, gt: Any, ignore: Any = None) -> tuple[int, int]:
        """Boundary-band counts of one sample (see :func:`boundary_intersection_union`)."""
        return boundary_intersection_union(pred, gt, self.dilation_ratio, ignore)

    def merge(self, other: IoUAccumulator) -> IoUAccumulator:
        """Add every sample of ``other`` (same dilation ratio) to this accumulator; returns self."""
        if (
            isinstance(other, BoundaryIoUAccumulator)
            and other.dilation_ratio != self.dilation_ratio
        ):
            raise ValueError(
                f"cannot merge dilation ratios {other.dilation_ratio} and {self.dilation_ratio}"
            )
        return super().merge(other)
