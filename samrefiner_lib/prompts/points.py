"""Distance-guided point prompts (METHOD.md section 1.1) and the simpler points they replace.

The positive point is the foreground pixel farthest (Euclidean) from the background: unlike the
box centre or the centroid it always lies inside the mask and is far from its noisy boundary. The
negative point is the background pixel inside the tight box that lies farthest from the
foreground.

Two distance transforms are available (``RefinerConfig.distance``):

* ``"exact"``: exact Euclidean distances (OpenCV's precise mode, which equals
  ``scipy.ndimage.distance_transform_edt``), the quantity the method intends.
* ``"raster2"``: the reference code's FastGeodis transform, a two-iteration raster-scan chamfer
  distance (:func:`~samrefiner_lib.distance.raster_distances`). Its level sets are octagons, so
  its maxima, and with them the points and the Gaussian's centre, can lie elsewhere: a median of
  2 px from the exact ones on real masks, and far more along flat ridges.

Pixels outside the image do not count as background: a mask cut by the image border is treated
as continuing beyond it (as FastGeodis does too).

Both transforms are computed on the mask's box (plus a one-pixel ring) instead of the whole image,
which gives the same values: every foreground pixel's nearest background pixel can be moved onto
that ring without getting farther away, and every foreground pixel lies inside the box. For the
raster transform the same holds path by path: the part of a scan path after its last visit to
the ring starts at a background pixel (distance 0), stays in the crop and costs no more.
The negative point's transform needs only the box: its seeds (the foreground) all lie in the box,
and a shortest path between two pixels of the box never leaves it.

Two negative-point regions are available (``RefinerConfig.negative_region``):

* ``"box"``: the whole tight box; no negative point when it holds no background pixel.
* ``"reference"``: as the reference code, which zeroes the distances outside
  ``[y0:y1, x0:x1]`` of the inclusive box, so its last row and column are never searched (an
  off-by-one), and which returns the first zero of the zeroed map, pixel (0, 0), when that region
  holds no background pixel.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

import numpy as np

from ..distance import (
    exact_argmax,
    exact_distances,
    first_argmax,
    raster_distances,
    raw_distances,
)
from .boxes import box_center, mask_bbox

DistanceKind = Literal["exact", "raster2"]
NegativeRegion = Literal["box", "reference"]

_DISTANCES = ("exact", "raster2")
_NEGATIVE_REGIONS = ("box", "reference")


def _check_distance(method: str) -> None:
    if method not in _DISTANCES:
        raise ValueError(f"distance must be one of {_DISTANCES}, got {method!r}")


class MaskDistances:
    """Distance transform of one mask, computed on its box plus a one-pixel ring.

    Attributes:
      box: tight box (x0, y0, x1, y1), inclusive.
      origin: (x, y) of the crop's top-left pixel in the image.
      inside: crop of the mask, bool, hxw.
      raw: float32 distances on the crop: OpenCV's (last bits not repeatable) for ``"exact"``,
        the final raster values for ``"raster2"``.
      has_background: False when the image holds no background pixel at all. Exact distances
        are then meaningless and the image centre is used as the positive point; the raster
        transform leaves every pixel at its start value, so its first maximum is pixel (0, 0),
        as in the reference code.
      method: ``"exact"`` or ``"raster2"``.
    """

    def __init__(self, box: tuple[int, int, int, int], origin: tuple[int, int],
                 inside: np.ndarray, raw: np.ndarray, has_background: bool,
                 method: DistanceKind = "exact") -> None:
        self.box = box
        self.origin = origin
        self.inside = inside
        self.raw = raw
        self.has_background = has_background
        self.method = method

    @classmethod
    def of(cls, mask: np.ndarray, method: DistanceKind = "exact") -> MaskDistances:
        """Compute the distances of a non-empty HxW bool mask.

        Arguments:
          mask: HxW bool, non-empty.
          method: ``"exact"`` (Euclidean) or ``"raster2"`` (the reference code's transform).

        Returns:
          MaskDistances
        """
        _check_distance(method)
        box = mask_bbox(mask)
        if box is None:
            raise ValueError("MaskDistances: the mask is empty")
        h, w = mask.shape
        x0, y0, x1, y1 = box
        cx0, cy0 = max(x0 - 1, 0), max(y0 - 1, 0)
        cx1, cy1 = min(x1 + 2, w), min(y1 + 2, h)
        inside = mask[cy0:cy1, cx0:cx1]
        has_background = not bool(inside.all())
        if method == "raster2":
            raw = raster_distances(inside)
        elif has_background:
            raw = raw_distances(inside)
        else:
            raw = np.zeros(inside.shape, np.float32)
        return cls(box, (cx0, cy0), inside, raw, has_background, method)

    @cached_property
    def dist(self) -> np.ndarray:
        """Distance of each foreground pixel of the crop to the background (float64).

        Exact Euclidean distances, or the raster transform's float32 values widened.
        """
        if self.method == "raster2" or not self.has_background:
            return self.raw.astype(np.float64)
        return exact_distances(self.raw, self.inside)

    @property
    def max_distance(self) -> float:
        return float(self.dist.max())

    def argmax(self) -> tuple[int, int]:
        """(row, col) in the crop of the first maximum (raster order) of the distance."""
        if self.method == "raster2":
            return first_argmax(self.raw)
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
    background at all, the image centre is returned with exact distances, and pixel (0, 0) with
    the raster transform (the reference code's outcome).

    Arguments:
      mask: HxW bool, non-empty.
      distances: precomputed :class:`MaskDistances` of ``mask`` (optional).

    Returns:
      np.ndarray: shape (2,), float64, pixel indices (x, y).
    """
    d = distances if distances is not None else MaskDistances.of(mask)
    if not d.has_background and d.method == "exact":
        h, w = mask.shape
        return np.array([float(w // 2), float(h // 2)])
    # Row-major order inside the crop is row-major order in the image, so argmax keeps the
    # reference code's raster-order tie break.
    iy, ix = d.argmax()
    return np.array([float(ix + d.origin[0]), float(iy + d.origin[1])])


def negative_point(
    mask: np.ndarray,
    box: tuple[int, int, int, int] | None = None,
    method: DistanceKind = "exact",
    region: NegativeRegion = "box",
) -> np.ndarray | None:
    """Background pixel inside the tight box farthest from the foreground, as (x, y).

    Every foreground pixel lies in the tight box, so the distance is exact when computed on the
    box alone. With ``region="box"`` the whole box is searched and None is returned when it
    holds no background pixel; with ``region="reference"`` the box's last row and column are
    left out and (0, 0) is returned when what remains holds no background pixel (see the
    module docstring).

    Arguments:
      mask: HxW bool, non-empty.
      box: the mask's tight box (inclusive XYXY ints); computed when omitted.
      method: ``"exact"`` or ``"raster2"`` distances.
      region: ``"box"`` or ``"reference"``.

    Returns:
      np.ndarray | None: shape (2,), float64, pixel indices (x, y).
    """
    _check_distance(method)
    if region not in _NEGATIVE_REGIONS:
        raise ValueError(f"negative_region must be one of {_NEGATIVE_REGIONS}, got {region!r}")
    if box is None:
        box = mask_bbox(mask)
        if box is None:
            raise ValueError("negative_point: the mask is empty")
    x0, y0, x1, y1 = box
    crop = mask[y0 : y1 + 1, x0 : x1 + 1]
    outside = ~crop
    if region == "box":
        if crop.all():
            return None
        if method == "exact":
            iy, ix = np.unravel_index(exact_argmax(raw_distances(outside), outside), crop.shape)
        else:
            iy, ix = first_argmax(raster_distances(outside))
        return np.array([float(ix + x0), float(iy + y0)])
    # The distances still come from the whole box: the last row and column hold seeds.
    searched = (slice(0, crop.shape[0] - 1), slice(0, crop.shape[1] - 1))
    if not outside[searched].any():
        return np.array([0.0, 0.0])
    if method == "exact":
        dist = exact_distances(raw_distances(outside), outside)
    else:
        dist = raster_distances(outside)
    iy, ix = first_argmax(dist[searched])
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
