"""Exact, repeatable Euclidean distance transforms.

OpenCV's precise distance transform is about 7x faster than SciPy's, but its float32 values
vary in the last bits from call to call, which would make argmax ties, thresholds and so the
prompts and simulated masks change between runs of the same command. Squared distances between
pixels are integers, so rounding the square of OpenCV's value restores the exact distance while
its error stays below half a unit, i.e. for distances up to about 1000 px; beyond that SciPy's
exact transform is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

#: Above this distance float32 rounding could reach half a unit of squared distance.
EXACT_LIMIT = 1000.0


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
