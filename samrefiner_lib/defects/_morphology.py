"""Small raster helpers shared by the defect simulators: windows, distances, noise and blobs.

All helpers work on local windows so that a defect near a small object costs the same on a
256x256 image as on a 4000x3000 one.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..distance import exact_edt


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight box (y0, x0, y1, x1) of a non-empty HxW mask, end-exclusive."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def window(
    cy: float, cx: float, radius: float, shape: tuple[int, int]
) -> tuple[slice, slice, int, int]:
    """Square window of half-size ``radius`` around (cy, cx), clipped to an image of ``shape``.

    Returns:
      (row slice, column slice, y0, x0): the slices and the window's top-left pixel.
    """
    r = int(np.ceil(radius))
    iy, ix = int(round(cy)), int(round(cx))
    y0, x0 = max(iy - r, 0), max(ix - r, 0)
    y1, x1 = min(iy + r + 1, shape[0]), min(ix + r + 1, shape[1])
    return slice(y0, max(y1, y0)), slice(x0, max(x1, x0)), y0, x0


def distance_inside(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of every foreground pixel to the nearest background pixel.

    Arguments:
      mask: HxW bool.

    Returns:
      HxW float32, 0 on background. Pixels beyond the array edge do not count as background.
    """
    if mask.all():
        # OpenCV returns huge values when there is no zero pixel; "far from everything" is fine,
        # but keep it finite and proportional to the array size.
        return np.full(mask.shape, float(sum(mask.shape)), dtype=np.float32)
    return exact_edt(mask).astype(np.float32)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed Euclidean distance to the mask boundary: positive inside, negative outside.

    Arguments:
      mask: HxW bool.

    Returns:
      HxW float32; foreground pixels hold their distance to the background (>= 1), background
      pixels minus their distance to the foreground (<= -1).
    """
    return distance_inside(mask) - distance_inside(~mask)


def inner_boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels with a 4-connected background neighbour (the array edge is not one).

    Arguments:
      mask: HxW bool.

    Returns:
      HxW bool.
    """
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    # cv2.erode pads with the maximum value, so pixels on the array edge are not boundary unless
    # a background pixel touches them from inside the array.
    eroded = cv2.erode(mask.astype(np.uint8), cross).astype(bool)
    return mask & ~eroded


def smooth_noise(shape: tuple[int, int], cells: float, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise roughly in [-1, 1]: a random coarse grid upsampled bicubically.

    Arguments:
      shape: (H, W) of the output.
      cells: number of random values along the longer side (a larger value gives finer detail).
      rng: random generator.

    Returns:
      HxW float32.
    """
    h, w = shape
    longest = max(h, w, 1)
    gh = max(2, int(round(cells * h / longest)) + 1)
    gw = max(2, int(round(cells * w / longest)) + 1)
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)
    return cv2.resize(grid, (max(w, 1), max(h, 1)), interpolation=cv2.INTER_CUBIC)


def irregular_blob(
    shape: tuple[int, int],
    cy: float,
    cx: float,
    area: float,
    rng: np.random.Generator,
    *,
    aspect: float = 1.0,
    angle: float = 0.0,
    roughness: float = 0.25,
) -> tuple[slice, slice, np.ndarray]:
    """A lumpy ellipse of about ``area`` pixels centred at (cy, cx), clipped to the image.

    The ellipse's normalised radius is perturbed by smooth noise of amplitude ``roughness``,
    which gives the irregular outline of a real mistake rather than a perfect disk.

    Arguments:
      shape: (H, W) of the image.
      cy, cx: centre in pixels.
      area: target area in pixels before clipping (the noise changes it by a few percent).
      rng: random generator.
      aspect: major / minor axis ratio (>= 1).
      angle: orientation of the major axis in radians.
      roughness: amplitude of the outline noise, relative to the radius.

    Returns:
      (row slice, column slice, blob): blob is the hxw bool content of that window.
    """
    a = np.sqrt(max(area, 1.0) * aspect / np.pi)
    b = max(area, 1.0) / (np.pi * a)
    rows, cols, y0, x0 = window(cy, cx, a * (1.0 + roughness) + 2.0, shape)
    h, w = rows.stop - rows.start, cols.stop - cols.start
    if h <= 0 or w <= 0:
        return rows, cols, np.zeros((max(h, 0), max(w, 0)), dtype=bool)
    yy, xx = np.mgrid[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    cos, sin = np.cos(angle), np.sin(angle)
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    blob = rho + roughness * smooth_noise((h, w), 5.0, rng) < 1.0
    iy, ix = int(round(cy)) - y0, int(round(cx)) - x0
    if 0 <= iy < h and 0 <= ix < w:
        blob[iy, ix] = True  # never return an empty blob whose centre is in the image
    return rows, cols, blob
