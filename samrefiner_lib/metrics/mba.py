"""Mean boundary accuracy (mBA), as defined by CascadePSP (Cheng et al., CVPR 2020).

For a ground truth of size HxW, five radii are used:

    r_i = 1 + int((R - 1) / 5 * i),  i = 0..4,  R = (H + W) / 300

with ``int`` truncating toward zero, exactly as CascadePSP computes them. So the radii start at 1
and step toward R without reaching it (H + W = 1500 gives 1, 1, 2, 3, 4); images with
H + W < 300 get R < 1, the truncation keeps every radius at 1.

For each radius the band is the morphological gradient (dilation minus erosion) of the ground
truth with OpenCV's elliptical structuring element of size (2r+1)x(2r+1); pixels outside the image
take no part (OpenCV's default morphology border), so the image border is not a boundary. The
accuracy at that radius is the fraction of band pixels where the prediction equals the ground
truth, and mBA is the mean of the five accuracies.

A uniform ground truth (all background or all foreground) has an empty band: CascadePSP then
divides 0 by 0. Here such a radius is scored ``empty_value`` (NaN by default), so a dataset mean
must decide explicitly how to treat those images (``np.nanmean`` skips them).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ._validate import mask_pair

NUM_RADII = 5


def mba_radii(height: int, width: int, num_steps: int = NUM_RADII) -> list[int]:
    """The CascadePSP radii for an HxW image: ``1 + int((R - 1) / num_steps * i)``, R=(H+W)/300."""
    max_radius = (height + width) / 300
    return [1 + int((max_radius - 1) / num_steps * i) for i in range(num_steps)]


def gt_boundary_band(gt: np.ndarray, radius: int) -> np.ndarray:
    """HxW bool morphological gradient of ``gt`` with an elliptical (2r+1)x(2r+1) element."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.morphologyEx(gt.astype(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0


def boundary_accuracy(pred: Any, gt: Any, radius: int, empty_value: float = float("nan")) -> float:
    """Pixel accuracy of ``pred`` inside the radius-``radius`` boundary band of ``gt``.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      radius: band radius in pixels (>= 1).
      empty_value: returned when the band is empty (uniform ground truth).

    Returns:
      float: fraction of band pixels where ``pred == gt``.
    """
    p, g, _ = mask_pair(pred, gt)
    if radius < 1:
        raise ValueError(f"radius must be >= 1, got {radius}")
    band = gt_boundary_band(g, radius)
    n = int(np.count_nonzero(band))
    if n == 0:
        return float(empty_value)
    return int(np.count_nonzero(p[band] == g[band])) / n


def mean_boundary_accuracy(pred: Any, gt: Any, empty_value: float = float("nan")) -> float:
    """CascadePSP's mBA: mean of :func:`boundary_accuracy` over :func:`mba_radii`.

    Arguments:
      pred: HxW bool (or {0, 1} integer) predicted mask.
      gt: HxW bool (or {0, 1} integer) ground-truth mask.
      empty_value: score of a radius whose band is empty (only for a uniform ground truth).

    Returns:
      float: in [0, 1] (or ``empty_value`` for a uniform ground truth).
    """
    p, g, _ = mask_pair(pred, gt)
    h, w = g.shape
    accs = [boundary_accuracy(p, g, r, empty_value) for r in mba_radii(h, w)]
    return float(np.mean(accs))
