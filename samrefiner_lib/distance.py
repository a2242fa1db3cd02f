"""Distance transforms: exact and repeatable Euclidean, and the reference code's raster scan.

OpenCV's precise distance transform is about 7x faster than SciPy's, but its float32 values
vary in the last bits from call to call, which would make argmax ties, thresholds and so the
prompts and simulated masks change between runs of the same command. Squared distances between
pixels are integers, so rounding the square of OpenCV's value restores the exact distance while
its error stays below half a unit, i.e. for distances up to about 1000 px; beyond that SciPy's
exact transform is used.

:func:`raster_distances` is the other transform: the reference code's FastGeodis call
(``generalised_geodesic2d`` on a constant image with ``lamb=0``, ``v=1e10``, 2 iterations), a
raster-scan chamfer distance with steps 1 and sqrt(2) written here with numpy. It is not
Euclidean: it measures ``max(|dx|, |dy|) + (sqrt(2) - 1) * min(|dx|, |dy|)`` (an octagon instead
of a circle), so it is flat where the Euclidean distance has a ridge and its argmax can move far
along such plateaus.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

#: Above this distance float32 rounding could reach half a unit of squared distance.
EXACT_LIMIT = 1000.0

#: Start value of non-seed pixels in the raster transform (FastGeodis' ``v`` as the reference
#: code passes it); it stays the value of pixels with no zero pixel in the array.
RASTER_UNREACHED = np.float32(1e10)

#: The diagonal step of the raster transform, rounded to float32 as in FastGeodis.
_DIAGONAL = np.float32(np.sqrt(2.0))


def raw_distances(binary: np.ndarray) -> np.ndarray:
    """Distance of each non-zero pixel to the nearest zero pixel, float32, last bits noisy.

    Pixels beyond the array edge do not count as zero pixels.
    """
    return cv2.distanceTransform(binary.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def exact_distances(raw: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """Exact distances (float64) from :func:`raw_distances` of ``binary``."""
    if raw.size and float(raw.max()) > EXACT_LIMIT:
        return ndimage.distance_transform_edt(binary)
    return np.sqrt(np.rint(np.square(raw, dtype=np.float64)))


def exact_edt(binary: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance transform (float64) of a binary array with a zero pixel."""
    return exact_distances(raw_distances(binary), binary)


def exact_argmax(raw: np.ndarray, binary: np.ndarray) -> int:
    """Flat index of the first (raster order) maximum of the exact distance.

    Only the pixels within rounding noise of the maximum are made exact: distinct exact values
    near a distance d differ by at least 1 / (2d + 1), far more than OpenCV's noise.
    """
    m = float(raw.max())
    if m > EXACT_LIMIT:
        return int(np.argmax(ndimage.distance_transform_edt(binary)))
    cand = np.flatnonzero(raw >= m - 0.25 / (2 * m + 1))
    sq = np.rint(np.square(raw.ravel()[cand], dtype=np.float64))
    return int(cand[int(np.argmax(sq))])


def _down_up(d: np.ndarray) -> None:
    """One top-down then one bottom-up pass over the rows of ``d`` (float32, in place).

    Each pixel takes the minimum of itself and its three neighbours in the row just processed
    (step 1 straight, sqrt(2) diagonally). A row depends only on the row before it, so a whole
    row is one vector operation; neighbours beyond the left and right edges do not exist.
    """
    h = d.shape[0]
    step = np.empty(d.shape[1], np.float32)
    for order in (range(1, h), range(h - 2, -1, -1)):
        offset = -1 if order.step == 1 else 1
        for r in order:
            prev, cur = d[r + offset], d[r]
            np.add(prev, _DIAGONAL, out=step)
            np.minimum(cur[1:], step[:-1], out=cur[1:])
            np.minimum(cur[:-1], step[1:], out=cur[:-1])
            np.add(prev, np.float32(1.0), out=step)
            np.minimum(cur, step, out=cur)


def raster_distances(binary: np.ndarray, iterations: int = 2) -> np.ndarray:
    """The reference code's distance transform: two-pass raster chamfer distances, float32.

    Every non-zero pixel gets the length of the shortest 8-connected path (steps 1 and
    float32 sqrt(2)) to a zero pixel that the scan schedule finds: per iteration a top-down,
    a bottom-up, a left-right and a right-left pass, each updating one row (or column) at a
    time from the previous one. The float32 additions and their order are those of FastGeodis'
    CPU code, so the values are the same bit for bit (:func:`generalised_geodesic2d` with a
    constant image, ``lamb=0``, ``v=1e10``). Pixels beyond the array edge are not zero pixels;
    an array without zero pixels stays at :data:`RASTER_UNREACHED`.

    Arguments:
      binary: HxW array; non-zero pixels get distances, zero pixels are the seeds (distance 0).
      iterations: number of four-pass sweeps (the reference code uses 2).

    Returns:
      np.ndarray: HxW float32 distances (0 on zero pixels).
    """
    if iterations < 1:
        raise ValueError(f"raster_distances: iterations must be >= 1, got {iterations}")
    d = np.where(np.asarray(binary) != 0, RASTER_UNREACHED, np.float32(0.0))
    if d.size == 0:
        return d
    for _ in range(iterations):
        _down_up(d)
        # Columns as rows: contiguous memory for the left-right and right-left passes.
        t = np.ascontiguousarray(d.T)
        _down_up(t)
        d = np.ascontiguousarray(t.T)
    return d


def first_argmax(values: np.ndarray) -> tuple[int, int]:
    """(row, col) of the first maximum in raster order (the reference code's tie break)."""
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(values)), values.shape))
