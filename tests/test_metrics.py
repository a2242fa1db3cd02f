"""Pixel metrics: hand-computed cases, brute-force references and input checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from samrefiner_lib.metrics import (
    BoundaryIoUAccumulator,
    ConfusionMatrix,
    IoUAccumulator,
    boundary_accuracy,
    boundary_band,
    boundary_iou,
    boundary_width,
    candidate_ious,
    intersection_union,
    mask_iou,
    mba_radii,
    mean_boundary_accuracy,
    top1_accuracy,
    top1_correct,
)


def square(h: int, w: int, y0: int, x0: int, side: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0 : y0 + side, x0 : x0 + side] = True
    return m


small_masks = arrays(bool, st.tuples(st.integers(1, 20), st.integers(1, 20)))


@st.composite
def mask_pairs(draw):
    shape = draw(st.tuples(st.integers(1, 20), st.integers(1, 20)))
    return draw(arrays(bool, shape)), draw(arrays(bool, shape)), draw(arrays(bool, shape))


# --- IoU ----------------------------------------------------------------------------------------


def test_iou_of_two_overlapping_squares():
    a = square(30, 30, 0, 0, 10)
    b = square(30, 30, 0, 5, 10)  # overlap 10 x 5 = 50, union 150
    assert intersection_union(a, b) == (50, 150)
    assert mask_iou(a, b) == pytest.approx(1 / 3)
    assert mask_iou(b, a) == pytest.approx(1 / 3)


def test_iou_ignore_removes_pixels_from_both_masks():
    a = square(30, 30, 0, 0, 10)
    b = square(30, 30, 0, 5, 10)
    ignore = np.zeros((30, 30), bool)
    ignore[:, :5] = True  # a's private half
    assert intersection_union(a, b, ignore) == (50, 100)
    assert mask_iou(a, b, ignore) == pytest.approx(0.5)


def test_iou_empty_conventions():
    empty = np.zeros((8, 8), bool)
    full = np.ones((8, 8), bool)
    assert mask_iou(empty, empty) == 1.0
    assert mask_iou(empty, full) == 0.0
    assert mask_iou(full, empty) == 0.0
    assert mask_iou(full, empty, ignore=full) == 1.0  # everything ignored: empty union


@settings(max_examples=100, deadline=None)
@given(mask_pairs())
def test_iou_matches_brute_force(pair):
    p, g, ig = pair
    inter = union = 0
    for y in range(p.shape[0]):
        for x in range(p.shape[1]):
            if ig[y, x]:
                continue
            inter += bool(p[y, x] and g[y, x])
            union += bool(p[y, x] or g[y, x])
    assert intersection_union(p, g, ig) == (inter, union)
    value = mask_iou(p, g, ig)
    assert value == (1.0 if union == 0 else inter / union)
    assert value == mask_iou(g, p, ig)


def test_integer_masks_accepted_and_other_inputs_refused():
    a = square(6, 6, 1, 1, 3)
    assert mask_iou(a.astype(np.uint8), a.astype(np.int64)) == 1.0
    with pytest.raises(TypeError):
        mask_iou(a.astype(np.float32), a)
    with pytest.raises(ValueError, match="0 and 1"):
        mask_iou(a.astype(np.uint8) * 255, a)
    with pytest.raises(ValueError, match=r"\(6, 6\).*\(6, 7\)"):
        mask_iou(a, np.zeros((6, 7), bool))
    with pytest.raises(ValueError, match="ignore"):
        mask_iou(a, a, ignore=np.zeros((5, 6), bool))
    with pytest.raises(ValueError, match="dimensions"):
        mask_iou(a[None], a[None])


def test_cumulative_and_mean_differ():
    acc = IoUAccumulator()
    big_gt = square(40, 40, 0, 0, 10)  # 100 px
    big_pred = big_gt.copy()
    big_pred[0, :] = False  # I = 90, U = 100
    small_gt = square(40, 40, 0, 0, 2)  # 4 px
    small_pred = square(40, 40, 1, 1, 2)  # I = 1, U = 7
    assert acc.add(big_pred, big_gt) == pytest.approx(0.9)
    assert acc.add(small_pred, small_gt) == pytest.approx(1 / 7)
    assert acc.count == 2
    assert acc.per_sample == pytest.approx([0.9, 1 / 7])
    assert acc.cumulative == pytest.approx(91 / 107)
    assert acc.mean == pytest.approx((0.9 + 1 / 7) / 2)
    assert acc.cumulative != pytest.approx(acc.mean)
    assert acc.summary()["count"] == 2


def test_accumulator_empty_and_merge():
    acc = IoUAccumulator()
    assert math.isnan(acc.cumulative) and math.isnan(acc.mean)
    acc.add(np.zeros((3, 3), bool), np.zeros((3, 3), bool))
    assert acc.cumulative == 1.0 and acc.mean == 1.0
    other = IoUAccumulator()
    other.add_counts(1, 4)
    acc.merge(other)
    assert acc.count == 2 and acc.intersection == 1 and acc.union == 4
    assert acc.cumulative == pytest.approx(0.25)
    assert acc.mean == pytest.approx(0.625)
    with pytest.raises(TypeError):
        acc.merge(BoundaryIoUAccumulator())


# --- Boundary IoU -------------------------------------------------------------------------------


def test_boundary_width():
    assert boundary_width(100, 100) == 3  # 0.02 * 141.4 = 2.83
    assert boundary_width(10, 10) == 1  # 0.28 rounds to 0, clamped to 1
    assert boundary_width(480, 640, 0.02) == 16  # 0.02 * 800
    with pytest.raises(ValueError):
        boundary_width(10, 10, 0.0)


def test_boundary_band_of_a_square_is_its_ring():
    m = square(100, 100, 40, 40, 20)
    band = boundary_band(m)  # d = 3
    ring = m & ~square(100, 100, 43, 43, 14)
    np.testing.assert_array_equal(band, ring)
    assert band.sum() == 20 * 20 - 14 * 14


def test_boundary_band_counts_the_image_border():
    full = np.ones((100, 100), bool)
    band = boundary_band(full)
    assert band.sum() == 100 * 100 - 94 * 94
    assert band[0].all() and band[:, -1].all() and not band[3:97, 3:97].any()


@settings(max_examples=80, deadline=None)
@given(small_masks, st.sampled_from([0.01, 0.02, 0.05, 0.1, 0.3]))
def test_boundary_band_equals_iterated_3x3_erosion(mask, ratio):
    d = boundary_width(*mask.shape, ratio)
    eroded = ndimage.binary_erosion(mask, np.ones((3, 3), bool), iterations=d, border_value=0)
    np.testing.assert_array_equal(boundary_band(mask, ratio), mask & ~eroded)


def test_boundary_iou_hand_cases():
    a = square(100, 100, 20, 20, 30)
    empty = np.zeros((100, 100), bool)
    assert boundary_iou(a, a) == 1.0
    assert boundary_iou(a, square(100, 100, 60, 60, 30)) == 0.0
    assert boundary_iou(empty, empty) == 1.0
    assert boundary_iou(a, empty) == 0.0
    # A one-pixel shift of a 30 px square, d = 3: rings of 30^2 - 24^2 = 324 px each.
    b = square(100, 100, 20, 21, 30)
    ba, bb = boundary_band(a), boundary_band(b)
    expected = (ba & bb).sum() / (ba | bb).sum()
    assert boundary_iou(a, b) == pytest.approx(expected)
    assert boundary_iou(a, b) < mask_iou(a, b)


def test_boundary_iou_ignore_applies_after_the_bands():
    a = square(100, 100, 20, 20, 30)
    b = a.copy()
    b[20:50, 45:50] = False  # error on the right side only
    ignore = np.zeros((100, 100), bool)
    ignore[:, 40:] = True
    # Ignoring the right side removes the error without creating a boundary at x = 40.
    assert boundary_iou(b, a, ignore=ignore) == 1.0
    assert boundary_iou(b, a) < 1.0


def test_boundary_accumulator():
    acc = BoundaryIoUAccumulator(dilation_ratio=0.02)
    a = square(100, 100, 20, 20, 30)
    acc.add(a, a)
    acc.add(square(100, 100, 60, 60, 30), a)
    assert acc.per_sample == [1.0, 0.0]
    assert acc.mean == 0.5
    # Both rings have the same size r: sum I = r, sum U = r + 2r.
    assert acc.cumulative == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        acc.merge(BoundaryIoUAccumulator(dilation_ratio=0.05))


# --- mBA ----------------------------------------------------------------------------------------


def test_mba_radii_follow_cascadepsp():
    assert mba_radii(100, 100) == [1, 1, 1, 1, 1]  # R < 1: truncation toward zero keeps 1
    assert mba_radii(300, 300) == [1, 1, 1, 1, 1]  # R = 2: steps of 0.2
    assert mba_radii(750, 750) == [1, 1, 2, 3, 4]  # R = 5
    assert mba_radii(1500, 1500) == [1, 2, 4, 6, 8]  # R = 10


def test_mba_perfect_and_empty_prediction():
    gt = square(40, 40, 10, 10, 10)
    assert mean_boundary_accuracy(gt, gt) == 1.0
    # Radius 1 uses the 3x3 cross: the band is the inner ring (4s - 4 px, foreground) plus the
    # outer ring without its corners (4s px, background); all five radii are 1 here.
    s = 10
    expected = 4 * s / (8 * s - 4)
    empty = np.zeros_like(gt)
    assert boundary_accuracy(empty, gt, 1) == pytest.approx(expected)
    assert mean_boundary_accuracy(empty, gt) == pytest.approx(expected)
    assert mean_boundary_accuracy(np.ones_like(gt), gt) == pytest.approx(1 - expected)


# OpenCV's elliptical elements for radii 1 and 2, written out.
ELLIPSE = {
    1: np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool),
    2: np.array(
        [
            [0, 0, 1, 0, 0],
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1],
            [0, 0, 1, 0, 0],
        ],
        bool,
    ),
}


def reference_band(gt: np.ndarray, radius: int) -> np.ndarray:
    # Outside the image neither grows nor erodes the mask.
    k = ELLIPSE[radius]
    dil = ndimage.binary_dilation(gt, k, border_value=0)
    ero = ndimage.binary_erosion(gt, k, border_value=1)
    return dil & ~ero


def test_mba_empty_prediction_is_background_fraction_of_each_band():
    gt = square(400, 500, 100, 120, 150)
    gt[150:160, 120:200] = False  # a notch, so the band is not just a ring
    radii = mba_radii(400, 500)  # R = 3
    assert radii == [1, 1, 1, 2, 2]
    empty = np.zeros_like(gt)
    expected = []
    for r in radii:
        band = reference_band(gt, r)
        expected.append((band & ~gt).sum() / band.sum())
        assert boundary_accuracy(empty, gt, r) == pytest.approx(expected[-1])
    assert mean_boundary_accuracy(empty, gt) == pytest.approx(np.mean(expected))


def test_mba_band_ignores_the_image_border():
    gt = np.zeros((20, 20), bool)
    gt[:, :10] = True  # touches the top, bottom and left borders
    band = reference_band(gt, 1)
    assert band.sum() == 40 and band[:, 9:11].all()
    assert boundary_accuracy(np.zeros_like(gt), gt, 1) == pytest.approx(0.5)


def test_mba_uniform_ground_truth_and_validation():
    empty = np.zeros((20, 20), bool)
    assert math.isnan(mean_boundary_accuracy(empty, empty))
    assert mean_boundary_accuracy(empty, empty, empty_value=1.0) == 1.0
    with pytest.raises(ValueError, match=r"\(20, 20\).*\(20, 21\)"):
        mean_boundary_accuracy(empty, np.zeros((20, 21), bool))
    with pytest.raises(ValueError):
        boundary_accuracy(empty, empty, 0)


@settings(max_examples=40, deadline=None)
@given(mask_pairs())
def test_mba_in_unit_interval_and_perfect_is_one(pair):
    p, g, _ = pair
    if g.all() or not g.any():
        return
    value = mean_boundary_accuracy(p, g)
    assert 0.0 <= value <= 1.0
    assert mean_boundary_accuracy(g, g) == 1.0


# --- Confusion matrix ---------------------------------------------------------------------------


def brute_force_confusion(pred, gt, k, ignore_index):
    tp, fp, fn = np.zeros(k), np.zeros(k), np.zeros(k)
    for p, g in zip(pred.ravel(), gt.ravel(), strict=True):
        if g == ignore_index:
            continue
        if p == g:
            tp[g] += 1
        else:
            fn[g] += 1
            if p != ignore_index:
                fp[p] += 1
    denom = tp + fp + fn
    return np.array([tp[c] / denom[c] if denom[c] else np.nan for c in range(k)])


@st.composite
def label_pairs(draw):
    k = draw(st.integers(1, 6))
    shape = draw(st.tuples(st.integers(1, 12), st.integers(1, 12)))
    values = st.one_of(st.integers(0, k - 1), st.just(255))
    pred = draw(arrays(np.uint8, shape, elements=values))
    gt = draw(arrays(np.uint8, shape, elements=values))
    return k, pred, gt


@settings(max_examples=150, deadline=None)
@given(label_pairs())
def test_confusion_matrix_matches_brute_force(data):
    k, pred, gt = data
    cm = ConfusionMatrix(k)
    cm.update(pred, gt)
    expected = brute_force_confusion(pred, gt, k, 255)
    np.testing.assert_allclose(cm.iou(), expected, equal_nan=True)
    if np.isnan(expected).all():
        assert math.isnan(cm.miou())
    else:
        assert cm.miou() == pytest.approx(np.nanmean(expected))
    valid = gt != 255
    assert cm.matrix.sum() + cm.unlabeled.sum() == valid.sum()


@settings(max_examples=40, deadline=None)
@given(label_pairs(), label_pairs())
def test_confusion_matrix_merge_equals_joint_update(a, b):
    k = min(a[0], b[0])
    pa, ga = (np.where(x == 255, 255, x % k).astype(np.uint8) for x in a[1:])
    pb, gb = (np.where(x == 255, 255, x % k).astype(np.uint8) for x in b[1:])
    joint = ConfusionMatrix(k)
    joint.update(pa, ga)
    joint.update(pb, gb)
    left, right = ConfusionMatrix(k), ConfusionMatrix(k)
    left.update(pa, ga)
    right.update(pb, gb)
    left.merge(right)
    np.testing.assert_array_equal(left.matrix, joint.matrix)
    np.testing.assert_array_equal(left.unlabeled, joint.unlabeled)


def test_confusion_matrix_hand_case_and_table():
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = np.array([[0, 1, 1, 1], [2, 255, 0, 2]])
    cm = ConfusionMatrix(4)
    cm.update(pred, gt)
    # class 0: tp 1, fn 1 (predicted 1), fp 0 -> 1/2; class 1: tp 2, fp 1 -> 2/3;
    # class 2: tp 1, fn 1 (predicted 255, unlabeled) -> 1/2; class 3 absent -> NaN.
    np.testing.assert_allclose(cm.iou(), [0.5, 2 / 3, 0.5, np.nan], equal_nan=True)
    assert cm.miou() == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert cm.unlabeled.tolist() == [0, 0, 1, 0]
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)
    table = cm.table(["bg", "cat", "dog", "cow"])
    assert isinstance(table, pd.DataFrame)
    assert table.loc[1, "name"] == "cat"
    assert table.loc[1, "iou"] == pytest.approx(2 / 3)
    assert table["gt_pixels"].tolist() == [2, 2, 2, 0]
    assert table["pred_pixels"].tolist() == [1, 3, 1, 0]
    cm.reset()
    assert math.isnan(cm.miou())


def test_confusion_matrix_validation():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="gt labels"):
        cm.update(np.zeros((2, 2), int), np.full((2, 2), 3))
    with pytest.raises(ValueError, match="pred labels"):
        cm.update(np.full((2, 2), 3), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(2, 3\)"):
        cm.update(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(TypeError):
        cm.update(np.zeros((2, 2)), np.zeros((2, 2), int))
    with pytest.raises(ValueError):
        ConfusionMatrix(3, ignore_index=1)
    with pytest.raises(ValueError):
        cm.merge(ConfusionMatrix(4))
    no_ignore = ConfusionMatrix(2, ignore_index=None)
    with pytest.raises(ValueError):
        no_ignore.update(np.zeros((1, 1), int), np.full((1, 1), 255))


# --- Top-1 accuracy -----------------------------------------------------------------------------


def test_top1_accuracy_hand_cases_and_ties():
    predicted = np.array(
        [
            [0.1, 0.9, 0.3],  # picks 1; true maxima {0, 1}: correct (tie in the truth)
            [0.7, 0.7, 0.1],  # predicted tie -> picks 0; true best is 1: wrong
            [0.2, 0.3, 0.8],  # picks 2; true best is 2: correct
            [0.9, 0.1, 0.1],  # picks 0; true best is 2: wrong
        ]
    )
    true = np.array(
        [
            [0.5, 0.5, 0.1],
            [0.2, 0.9, 0.1],
            [0.1, 0.2, 0.95],
            [0.3, 0.3, 0.4],
        ]
    )
    assert top1_correct(predicted, true).tolist() == [True, False, True, False]
    assert top1_accuracy(predicted, true) == 0.5
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        top1_accuracy(predicted, true[:, :2])
    with pytest.raises(ValueError):
        top1_accuracy(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError):
        top1_accuracy(np.full((1, 3), np.nan), np.zeros((1, 3)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_candidate_ious_match_mask_iou(data):
    n = data.draw(st.integers(1, 3))
    k = data.draw(st.integers(1, 3))
    h, w = data.draw(st.tuples(st.integers(1, 8), st.integers(1, 8)))
    cands = data.draw(arrays(bool, (n, k, h, w)))
    gt = data.draw(arrays(bool, (n, h, w)))
    out = candidate_ious(cands, gt)
    assert out.shape == (n, k)
    for i in range(n):
        for j in range(k):
            assert out[i, j] == mask_iou(cands[i, j], gt[i])
    assert top1_accuracy(out, out) == 1.0


def test_candidate_ious_validation():
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 4\).*\(2, 4, 5\)"):
        candidate_ious(np.zeros((2, 3, 4, 4), bool), np.zeros((2, 4, 5), bool))
    with pytest.raises(ValueError, match="dimensions"):
        candidate_ious(np.zeros((3, 4, 4), bool), np.zeros((3, 4, 4), bool))
