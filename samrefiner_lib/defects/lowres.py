"""Low-resolution instance masks, as the mask head of a Mask R-CNN produces them.

A Mask R-CNN predicts each instance mask as a small probability grid (28x28 by default) over its
detected box, then pastes it into the image by bilinear upsampling and a 0.5 threshold. Its masks
therefore have blobby, staircase-free but over-smoothed outlines, lose structures thinner than a
grid cell (legs, poles, antennas), fill thin gaps, and never leave the detected box. This module
makes such masks from ground truth:

1. Box: the tight box of ``gt`` in pixel-edge coordinates (x0, y0, x1, y1), each side moved by
   ``N(0, box_jitter)`` times the box width (x) or height (y), truncated at 3 standard deviations,
   like a detector's box regression error; then clipped to the image (at least 1 px wide).
2. Grid: the area average of ``gt`` over each of the ``resolution x resolution`` cells of that box
   (exact fractional overlaps, the target a mask head is trained to predict).
3. Perturbation: Gaussian noise of standard deviation ``noise_std`` per cell, then a Gaussian blur
   of ``blur_sigma`` cells (a network's output is smooth and not fully confident), clipped to
   [0, 1].
4. Paste: every image pixel whose centre lies in the box samples the grid bilinearly (cell centres
   at half-cell offsets, zero outside the grid, like ``grid_sample`` with ``align_corners=False``
   in Detectron2's paster), and is foreground when the value is >= ``threshold``.

The output lies inside the jittered box, hence inside the ground-truth box grown by
``3 * box_jitter`` times its size plus one pixel. Tiny objects can vanish completely (the
returned mask may be empty), as they do for a real detector's mask head.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._morphology import mask_box
from ._validation import RngLike, as_generator, check_count, check_mask, check_number


def lowres_coarse_mask(
    gt: np.ndarray,
    rng: RngLike,
    resolution: int = 28,
    box_jitter: float = 0.05,
    noise_std: float = 0.05,
    blur_sigma: float = 0.5,
    threshold: float = 0.5,
) -> np.ndarray:
    """Simulate a Mask R-CNN mask of the object ``gt`` (see the module docstring).

    Arguments:
      gt: HxW bool ground-truth mask, not empty.
      rng: int seed or numpy Generator (the only source of randomness).
      resolution: side of the square probability grid (28 for Mask R-CNN).
      box_jitter: standard deviation of each box side's shift, relative to the box size
        (0 keeps the tight box).
      noise_std: standard deviation of the noise added to each grid probability.
      blur_sigma: Gaussian blur of the grid, in cells (0 for none).
      threshold: probability at or above which a pasted pixel is foreground.

    Returns:
      HxW bool mask (a new array; possibly empty for tiny objects).
    """
    gt = check_mask(gt, "gt")
    generator = as_generator(rng)
    resolution = check_count(resolution, "resolution", minimum=2)
    box_jitter = check_number(box_jitter, "box_jitter", 0.0, 1.0)
    noise_std = check_number(noise_std, "noise_std", 0.0)
    blur_sigma = check_number(blur_sigma, "blur_sigma", 0.0)
    threshold = check_number(threshold, "threshold", 0.0, 1.0, strict=True)

    height, width = gt.shape
    y0, x0, y1, x1 = mask_box(gt)
    box = np.array([x0, y0, x1, y1], dtype=np.float64)
    size = np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0], dtype=np.float64)
    shift = np.clip(generator.standard_normal(4), -3.0, 3.0) * box_jitter * size
    bx0, by0, bx1, by1 = box + shift
    bx0, bx1 = _ordered_side(bx0, bx1, width)
    by0, by1 = _ordered_side(by0, by1, height)

    grid = _area_average(gt, (by0, bx0, by1, bx1), resolution)
    if noise_std > 0:
        grid = grid + generator.normal(0.0, noise_std, size=grid.shape)
    if blur_sigma > 0:
        grid = cv2.GaussianBlur(grid, (0, 0), blur_sigma, borderType=cv2.BORDER_REPLICATE)
    grid = np.clip(grid, 0.0, 1.0).astype(np.float32)

    # Paste: bilinear sampling at pixel centres, zero beyond the grid's outer cell centres.
    py0, py1 = _centres_inside(by0, by1)
    px0, px1 = _centres_inside(bx0, bx1)
    coarse = np.zeros_like(gt)
    if py1 <= py0 or px1 <= px0:
        return coarse
    u = ((np.arange(px0, px1) + 0.5 - bx0) / (bx1 - bx0) * resolution - 0.5).astype(np.float32)
    v = ((np.arange(py0, py1) + 0.5 - by0) / (by1 - by0) * resolution - 0.5).astype(np.float32)
    map_x = np.broadcast_to(u[None, :], (v.size, u.size)).copy()
    map_y = np.broadcast_to(v[:, None], (v.size, u.size)).copy()
    pasted = cv2.remap(
        grid, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0
    )
    coarse[py0:py1, px0:px1] = pasted >= threshold
    return coarse


def _ordered_side(lo: float, hi: float, limit: int) -> tuple[float, float]:
    """Clip a box side to [0, limit] and keep it at least one pixel long."""
    lo, hi = min(lo, hi), max(lo, hi)
    lo, hi = float(np.clip(lo, 0.0, limit)), float(np.clip(hi, 0.0, limit))
    if hi - lo < 1.0:
        centre = float(np.clip(0.5 * (lo + hi), 0.5, limit - 0.5))
        lo, hi = centre - 0.5, centre + 0.5
    return lo, hi


def _area_average(
    mask: np.ndarray, box: tuple[float, float, float, float], cells: int
) -> np.ndarray:
    """Exact mean of ``mask`` over each cell of a cells x cells grid on a fractional box.

    The integral of a pixel-wise constant image is bilinear inside every pixel, so sampling its
    summed-area table bilinearly at the (fractional) cell edges is exact. (This also avoids a
    matrix product, whose multi-threaded BLAS start-up costs more than the work here.)

    Arguments:
      mask: HxW bool.
      box: (y0, x0, y1, x1) in pixel-edge coordinates, inside the image.
      cells: grid side R.

    Returns:
      RxR float64 means in [0, 1].
    """
    y0, x0, y1, x1 = box
    iy0, iy1 = int(np.floor(y0)), int(np.ceil(y1))
    ix0, ix1 = int(np.floor(x0)), int(np.ceil(x1))
    crop = mask[iy0:iy1, ix0:ix1]
    table = np.zeros((crop.shape[0] + 1, crop.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(crop, axis=0, dtype=np.float64), axis=1, out=table[1:, 1:])
    edges_y = y0 - iy0 + (y1 - y0) * np.arange(cells + 1) / cells
    edges_x = x0 - ix0 + (x1 - x0) * np.arange(cells + 1) / cells
    table = _interpolate_rows(table, edges_y)
    table = _interpolate_rows(table.T, edges_x).T
    sums = table[1:, 1:] - table[:-1, 1:] - table[1:, :-1] + table[:-1, :-1]
    return np.clip(sums / ((y1 - y0) * (x1 - x0) / cells**2), 0.0, 1.0)


def _interpolate_rows(table: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``table`` at fractional row ``positions``."""
    below = np.clip(np.floor(positions).astype(int), 0, table.shape[0] - 2)
    frac = (positions - below)[:, None]
    return table[below] * (1.0 - frac) + table[below + 1] * frac


def _centres_inside(lo: float, hi: float) -> tuple[int, int]:
    """Pixel index range [first, stop) whose centres (i + 0.5) lie in [lo, hi]."""
    return int(np.ceil(lo - 0.5)), int(np.floor(hi - 0.5)) + 1
