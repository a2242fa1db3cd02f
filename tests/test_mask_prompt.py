"""Gaussian mask prompts: peak, amplitude, outside value, and the grid mapping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samrefiner_lib.prompts import (
    MaskDistances,
    gaussian_weights,
    mask_prompt_logits,
    positive_point,
    to_mask_grid,
)

from .conftest import disk


@pytest.mark.parametrize("form", ["paper", "reference"])
def test_weights_peak_at_positive_point(form):
    mask = disk(60, 80, 30, 35, 20) | disk(60, 80, 30, 60, 8)
    pt = positive_point(mask)
    w = gaussian_weights(mask, form, 4.0, pt, MaskDistances.of(mask))
    x, y = pt.astype(int)
    assert w[y, x] == pytest.approx(1.0)
    assert w.max() == pytest.approx(1.0)
    assert (w[~mask] == 0).all()
    assert (w[mask] > 0).all()


@settings(max_examples=40, deadline=None)
@given(gamma=st.floats(0.5, 50), r=st.integers(3, 20))
def test_paper_form_matches_formula(gamma, r):
    mask = disk(50, 50, 25, 25, r)
    pt = positive_point(mask)
    w = gaussian_weights(mask, "paper", gamma, pt)
    yy, xx = np.nonzero(mask)
    expect = np.exp(-((xx - pt[0]) ** 2 + (yy - pt[1]) ** 2) / (mask.sum() * gamma))
    assert np.allclose(w[yy, xx], expect, atol=1e-6)


def test_larger_gamma_is_flatter():
    mask = disk(60, 60, 30, 30, 25)
    pt = positive_point(mask)
    lo = gaussian_weights(mask, "paper", 1.0, pt)
    hi = gaussian_weights(mask, "paper", 16.0, pt)
    assert lo[mask].mean() < hi[mask].mean()


@pytest.mark.parametrize("mapping", ["area", "reference"])
def test_grid_logits_amplitude_and_padding(mapping):
    # A 40x80 image in a 64 px model with a 16x16 grid: the lower half of the grid is padding.
    mask = np.zeros((40, 80), bool)
    mask[5:35, 10:70] = True
    pt = positive_point(mask)
    w = gaussian_weights(mask, "paper", 4.0, pt)
    g = mask_prompt_logits(mask, w, 15.0, (32, 64), 64, (16, 16), mapping)
    assert g.shape == (16, 16)
    assert g.max() <= 15.0 + 1e-4
    assert g.max() > 10.0
    assert np.allclose(g[9:, :], -15.0)  # padding rows (32 px of 64 -> 8 of 16 rows valid)
    assert g[4, 8] > 0  # the object's centre


def test_binary_form_is_plain_mask():
    mask = disk(32, 32, 16, 16, 10)
    w = gaussian_weights(mask, "binary", 4.0)
    g = mask_prompt_logits(mask, w, 20.0, (32, 32), 32, (32, 32))
    assert np.allclose(g[mask], 20.0)
    assert np.allclose(g[~mask], -20.0)


def test_to_mask_grid_sizes_come_from_arguments():
    logits = np.zeros((300, 200), np.float32)
    out = to_mask_grid(logits, (1024, 683), 1024, (256, 256), -1.0)
    assert out.shape == (256, 256)
    assert np.allclose(out[:, 171:], -1.0)


def test_bad_values_raise():
    mask = disk(20, 20, 10, 10, 5)
    with pytest.raises(ValueError, match="gamma"):
        gaussian_weights(mask, "paper", 0.0, positive_point(mask))
    with pytest.raises(ValueError, match="positive point"):
        gaussian_weights(mask, "paper", 4.0, None)
    with pytest.raises(ValueError, match="form"):
        gaussian_weights(mask, "cubic", 4.0, positive_point(mask))
    with pytest.raises(ValueError, match="amplitude"):
        mask_prompt_logits(mask, mask.astype(np.float32), 0.0, (20, 20), 20, (5, 5))


@pytest.mark.parametrize("form", ["paper", "reference", "binary"])
@pytest.mark.parametrize("mapping", ["area", "reference"])
def test_window_weights_equal_full_weights(form, mapping):
    from samrefiner_lib.prompts import crop_weights

    mask = disk(70, 90, 30, 60, 14) | disk(70, 90, 50, 20, 6)
    pt = positive_point(mask)
    full = gaussian_weights(mask, form, 4.0, pt)
    crop, origin = crop_weights(mask, form, 4.0, pt)
    a = mask_prompt_logits(mask, full, 15.0, (50, 64), 64, (16, 16), mapping)
    b = mask_prompt_logits(mask, crop, 15.0, (50, 64), 64, (16, 16), mapping, origin)
    np.testing.assert_array_equal(a, b)
