"""Distance-guided point prompts (METHOD.md section 1.1) and the simpler points they replace.

The positive point is the foreground pixel farthest (Euclidean) from the background: unlike the
box centre or the centroid it always lies inside the mask and is far from its noisy boundary. The
negative point is the background pixel inside the tight box that lies farthest from the
foreground.

Distances are exact Euclidean distance transforms (OpenCV's precise mode, which equals
``scipy.ndimage.distance_transform_edt``). The reference code uses FastGeodis, an approximation,
so its argmax can differ by a few pixels. Pixels outside the image do not count as background: a
mask cut by the image border is treated as continuing beyond it.

Both transforms are computed on the mask's box (plus a one-pixel ring) instead of the whole image,
which gives the same values: every foreground pixel's nearest background pixel can be moved onto
that ring without getting farther away, and every foreground pixel lies inside the box.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..distance import exact_argmax, exact_distances, raw_distances
from .boxes import box_center, mask_bbox


class MaskDistances:
    """Distance transform of one mask, computed on its box plus a one-pixel ring.

    Attributes:
      box: tight box (x0, y0, x1, y1), inclusive.
      origin: (x, y) of the crop's top-left pixel in the image.
      inside: crop of the mask, bool, hxw.
      raw: OpenCV's float32 distances on the crop (last bits not repeatable).
      has_background: False when the image holds no background pixel at all (distances are then
        meaningless and the image centre is used as the positive point).
    """

    def __init__(self, box: tuple[int, int, int, int], origin: tuple[int, int],
                 inside: np.ndarray, raw: np.ndarray, has_background: bool) -> None:
        self.box = box
        self.origin = origin
        self.inside = inside
        self.raw = raw
        self.has_background = has_background

    @classmethod
    def of(cls, mask: np.ndarray) -> MaskDistances:
        """Compute the distances of a non-empty HxW bool mask."""
        box = mask_bbox(mask)
        if box is None:
            raise ValueError("MaskDistances: the mask is empty")
        h, w = mask.shape
        x0, y0, x1, y1 = box
        cx0, cy0 = max(x0 - 1, 0), max(y0 - 1, 0)
        cx1, cy1 = min(x1 + 2, w), min(y1 + 2, h)
        inside = mask[cy0:cy1, cx0:cx1]
        has_background = not bool(inside.all())
        raw = raw_distances(inside) if has_background else np.zeros(inside.shape, np.float32)
        return cls(box, (cx0, cy0), inside, raw, has_background)

    @cached_property
    def dist(self) -> np.ndarray:
        """Exact distance of each foreground pixel of the crop to the background (float64)."""
        if not self.has_background:
            return self.raw.astype(np.float64)
        return exact_distances(self.raw, self.inside)

    @property
    def max_distance(self) -> float:
        return float(self.dist.max())

    def argmax(self) -> tuple[int, int]:
        """(row, col) in the crop of the first maximum of the exact distance."""
        return np.unravel_index(exact_argmax(self.raw, self.inside), self.raw.shape)

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The distance map pasted into an all-zero array of the image's shape (HxW float64)."""
        out = np.zeros(shape)
        cx0, cy0 = self.origin
        ch, cw = self.dist.shape
        out[cy0 : cy0 + ch, cx0 : cx0 + cw] = self.dist
        return out


def positive_point(mask: np.ndarray, distances: MaskDistances | None = None) -> np.ndarray:
    """Foreground pixel farthest from the background, as (x, y).

    Ties go to the first pixel in raster order, as in the reference code. When the image has no
    background at all, the image centre is returned.

    Arguments:
      mask: HxW bool, non-empty.
      distances: precomputed :class:`MaskDistances` of ``mask`` (optional).

    Returns:
      np.ndarray: shape (2,), float64, pixel indices (x, y).
    """
    d = distances if distances is not None else MaskDistances.of(mask)
    if not d.has_background:
        h, w = mask.shape
        return np.array([float(w // 2), float(h // 2)])
    # Row-major order inside the crop is row-major order in the image, so argmax keeps the
    # reference code's raster-order tie break.
    iy, ix = d.argmax()
    return np.array([float(ix + d.origin[0]), float(iy + d.origin[1])])


def negative_point(
    mask: np.ndarray, box: tuple[int, int, int, int] | None = None
) -> np.ndarray | None:
    """Background pixel inside the tight box farthest from the foreground, as (x, y).

    Every foreground pixel lies in the tight box, so the distance is exact when computed on the
    box alone. Returns None when the box holds no background pixel.

    Arguments:
      mask: HxW bool, non-empty.
      box: the mask's tight box (inclusive XYXY ints); computed when omitted.

    Returns:
      np.ndarray | None: shape (2,), float64, pixel indices (x, y).
    """
    if box is None:
        box = mask_bbox(mask)
        if box is None:
            raise ValueError("negative_point: the mask is empty")
    x0, y0, x1, y1 = box
    crop = mask[y0 : y1 + 1, x0 : x1 + 1]
    if crop.all():
        return None
    outside = ~crop
    iy, ix = np.unravel_index(exact_argmax(raw_distances(outside), outside), outside.shape)
    return np.array([float(ix + x0), float(iy + y0)])


def centroid_point(mask: np.ndarray) -> np.ndarray:
    """Centre of mass of the foreground, rounded to a pixel (may fall outside the mask)."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        raise ValueError("centroid_point: the mask is empty")
    return np.array([float(np.floor(xs.mean())), float(np.floor(ys.mean()))])


def box_center_point(mask: np.ndarray) -> np.ndarray:
    """Centre of the tight box (may fall outside a concave mask): the baseline of Table 2a."""
    box = mask_bbox(mask)
    if box is None:
        raise ValueError("box_center_point: the mask is empty")
    return box_center(np.asarray(box, dtype=np.float64))
