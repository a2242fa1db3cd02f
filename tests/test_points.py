"""Distance-guided points: properties against brute force and hand-made cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from samrefiner_lib.prompts import (
    MaskDistances,
    box_center_point,
    centroid_point,
    mask_bbox,
    negative_point,
    positive_point,
)

masks = arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24))).filter(lambda m: m.any())


@settings(max_examples=150, deadline=None)
@given(masks)
def test_positive_point_is_inside_and_maximises_distance(mask):
    x, y = positive_point(mask).astype(int)
    assert mask[y, x]
    if (~mask).any():
        # Exact EDT on the whole image: the point's distance equals the maximum, and it is the
        # first maximum in raster order.
        edt = ndimage.distance_transform_edt(mask)
        assert np.isclose(edt[y, x], edt.max())
        first = np.unravel_index(np.argmax(np.isclose(edt, edt.max())), edt.shape)
        assert (y, x) == tuple(int(v) for v in first)


@settings(max_examples=150, deadline=None)
@given(masks)
def test_negative_point_in_box_outside_mask_and_farthest(mask):
    box = mask_bbox(mask)
    pt = negative_point(mask, box)
    x0, y0, x1, y1 = box
    inbox = np.zeros_like(mask)
    inbox[y0 : y1 + 1, x0 : x1 + 1] = True
    if not (inbox & ~mask).any():
        assert pt is None
        return
    x, y = pt.astype(int)
    assert x0 <= x <= x1 and y0 <= y <= y1
    assert not mask[y, x]
    edt = ndimage.distance_transform_edt(~mask)
    assert np.isclose(edt[y, x], edt[inbox].max())


def test_crop_distances_equal_full_image_distances():
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = ndimage.binary_opening(rng.random((60, 70)) > 0.4, iterations=2)
        if not mask.any():
            continue
        d = MaskDistances.of(mask)
        full = ndimage.distance_transform_edt(mask)
        assert np.allclose(d.full(mask.shape), full, atol=1e-4)


def test_concave_mask_point_inside_where_box_centre_and_centroid_are_not():
    mask = np.zeros((50, 50), bool)
    mask[5:45, 5:12] = True  # a "C" shape
    mask[5:12, 5:45] = True
    mask[38:45, 5:45] = True
    x, y = positive_point(mask).astype(int)
    assert mask[y, x]
    bx, by = box_center_point(mask).astype(int)
    cx, cy = centroid_point(mask).astype(int)
    assert not mask[by, bx]
    assert not mask[cy, cx]


def test_all_foreground_mask_uses_image_centre_and_has_no_negative():
    mask = np.ones((9, 14), bool)
    assert positive_point(mask).tolist() == [7.0, 4.0]
    assert negative_point(mask) is None


def test_border_is_not_background():
    # A band touching the top border: the farthest pixel from real background is on row 0.
    mask = np.zeros((20, 20), bool)
    mask[:6, :] = True
    x, y = positive_point(mask)
    assert y == 0


def test_one_pixel_mask():
    mask = np.zeros((5, 5), bool)
    mask[2, 3] = True
    assert positive_point(mask).tolist() == [3.0, 2.0]
    assert negative_point(mask) is None


def test_points_are_repeatable_bit_for_bit():
    """Distances are exact, so ties and prompts never change between calls."""
    yy, xx = np.mgrid[:90, :120]
    mask = (yy - 40) ** 2 + (xx - 40) ** 2 <= 18**2
    d0 = MaskDistances.of(mask).dist
    for _ in range(20):
        assert np.array_equal(MaskDistances.of(mask).dist, d0)
        assert negative_point(mask).tolist() == negative_point(mask).tolist()


def test_large_mask_uses_exact_path():
    mask = np.zeros((2200, 2300), bool)
    mask[50:2150, 60:2250] = True
    x, y = positive_point(mask)
    edt = MaskDistances.of(mask).dist
    assert np.isclose(edt.max(), 1050.0)
    assert mask[int(y), int(x)]
