"""Coarse-mask defect simulators: determinism, IoU range, defect statistics, shapes, validation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from samrefiner_lib.defects import (
    DEFECT_TYPES,
    DefectInfo,
    cam_coarse_semantic,
    cam_scores,
    davis585_coarse_mask,
    decode_cam_dict,
    decode_cam_scores,
    lowres_coarse_mask,
    to_cam_dict,
)


def ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float, angle: float = 0.0):
    canvas = np.zeros((h, w), dtype=np.uint8)
    centre = (int(round(cx)), int(round(cy)))
    axes = (max(int(round(rx)), 1), max(int(round(ry)), 1))
    cv2.ellipse(canvas, centre, axes, angle, 0, 360, 1, -1)
    return canvas > 0


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: any in-place write by the code under test raises."""
    out = array.copy()
    out.flags.writeable = False
    return out


def components(mask: np.ndarray) -> int:
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return count - 1


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


@st.composite
def object_masks(draw) -> np.ndarray:
    """Ellipses and star-like polygons of varied sizes, sometimes cut by the image border."""
    h = draw(st.integers(40, 220))
    w = draw(st.integers(40, 220))
    cy = draw(st.floats(0.2, 0.8)) * h
    cx = draw(st.floats(0.2, 0.8)) * w
    size = draw(st.floats(0.15, 0.6)) * min(h, w)
    if draw(st.booleans()):
        mask = ellipse(
            h, w, cy, cx, size, size * draw(st.floats(0.3, 1.0)), draw(st.floats(0, 180))
        )
    else:
        count = draw(st.integers(3, 12))
        angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi), min_size=count, max_size=count)))
        radii = np.array(draw(st.lists(st.floats(0.4, 1.0), min_size=count, max_size=count)))
        points = np.stack([cx + size * radii * np.cos(angles), cy + size * radii * np.sin(angles)])
        canvas = np.zeros((h, w), dtype=np.uint8)
        cv2.fillPoly(canvas, [np.round(points.T).astype(np.int32)], 1)
        mask = canvas > 0
    # "Ordinary" objects: enough pixels for IoU steps finer than the range's width.
    return mask if np.count_nonzero(mask) >= 150 else ellipse(h, w, h / 2, w / 2, 12, 10)


# ---------------------------------------------------------------------------------------------
# DAVIS-585 protocol


@settings(max_examples=60, deadline=None)
@given(object_masks(), st.integers(0, 2**31 - 1))
def test_davis585_iou_lies_in_range(gt, seed):
    coarse, info = davis585_coarse_mask(frozen(gt), seed)
    assert coarse.dtype == np.bool_ and coarse.shape == gt.shape
    assert info.in_range
    assert 0.75 <= info.iou <= 0.85
    assert info.iou == pytest.approx(iou(coarse, gt))
    assert 1 <= len(info.defect_types) and set(info.defect_types) <= set(DEFECT_TYPES)


@pytest.mark.parametrize("iou_range", [(0.5, 0.6), (0.9, 0.95), (0.8, 0.8001)])
def test_davis585_other_ranges(iou_range):
    gt = ellipse(128, 128, 64, 60, 40, 28, 30)
    for seed in range(5):
        coarse, info = davis585_coarse_mask(gt, seed, iou_range=iou_range)
        assert info.in_range, (seed, info)
        assert iou_range[0] <= iou(coarse, gt) <= iou_range[1]


def test_davis585_is_deterministic_and_seed_dependent():
    gt = ellipse(120, 150, 60, 70, 40, 55, 10)
    a, info_a = davis585_coarse_mask(gt, 7)
    b, info_b = davis585_coarse_mask(gt, 7)
    c, _ = davis585_coarse_mask(gt, np.random.default_rng(7))
    assert np.array_equal(a, b) and np.array_equal(a, c) and info_a == info_b
    others = [davis585_coarse_mask(gt, seed)[0] for seed in range(8, 12)]
    assert not all(np.array_equal(a, other) for other in others)


@pytest.mark.parametrize("probs", [(0.65, 0.25, 0.10), (0.1, 0.3, 0.6)], ids=["paper", "swapped"])
def test_davis585_defect_type_frequencies_follow_probabilities(probs):
    """Pooled over many masks, defect types follow the probabilities (chi-square, fixed seeds).

    A simulator that ignored the probabilities, or mapped them to the wrong types, fails both
    the goodness-of-fit test and the absolute tolerance by a wide margin.
    """
    gt = ellipse(96, 96, 48, 46, 32, 22, 20)
    counts = dict.fromkeys(DEFECT_TYPES, 0)
    for seed in range(300):
        _, info = davis585_coarse_mask(
            gt, seed, p_boundary=probs[0], p_false_positive=probs[1], p_false_negative=probs[2]
        )
        for kind, n in info.counts().items():
            counts[kind] += n
    observed = np.array([counts[kind] for kind in DEFECT_TYPES])
    expected = np.array(probs) * observed.sum()
    assert observed.sum() >= 500
    assert stats.chisquare(observed, expected).pvalue > 1e-3, observed
    np.testing.assert_allclose(observed / observed.sum(), probs, atol=0.05)


def test_davis585_single_type_and_what_each_type_does():
    gt = ellipse(100, 100, 50, 50, 30, 25)
    only_fp, info = davis585_coarse_mask(
        gt, 3, p_boundary=0, p_false_positive=1, p_false_negative=0
    )
    assert set(info.defect_types) == {"false_positive"}
    assert (only_fp >= gt).all()  # only additions, outside the object
    only_fn, info = davis585_coarse_mask(
        gt, 3, p_boundary=0, p_false_positive=0, p_false_negative=1
    )
    assert set(info.defect_types) == {"false_negative"}
    assert (only_fn <= gt).all()  # only removals
    _, info = davis585_coarse_mask(gt, 3, p_boundary=1, p_false_positive=0, p_false_negative=0)
    assert set(info.defect_types) == {"boundary"}


def test_davis585_border_full_and_tiny_masks():
    corner = np.zeros((80, 80), dtype=bool)
    corner[:50, :30] = True
    full = np.ones((40, 40), dtype=bool)
    for gt in (corner, full):
        for seed in range(5):
            coarse, info = davis585_coarse_mask(gt, seed)
            assert info.in_range and 0.75 <= iou(coarse, gt) <= 0.85
    # One pixel: every change gives IoU <= 0.5, so the range is unreachable; the closest attempt
    # (the unchanged mask) comes back with the flag down after all attempts.
    dot = np.zeros((20, 20), dtype=bool)
    dot[5, 7] = True
    coarse, info = davis585_coarse_mask(dot, 0, max_attempts=3)
    assert not info.in_range and info.attempts == 3
    assert info.iou == pytest.approx(iou(coarse, dot))
    # A few pixels: reachable (2x2 square plus one pixel gives 0.8).
    square = np.zeros((20, 20), dtype=bool)
    square[9:11, 9:11] = True
    assert davis585_coarse_mask(square, 0)[1].in_range


def test_davis585_info_type():
    _, info = davis585_coarse_mask(ellipse(64, 64, 32, 32, 20, 15), 0)
    assert isinstance(info, DefectInfo)
    assert sum(info.counts().values()) == len(info.defect_types)
    assert info.attempts >= 1 and 0.75 <= info.target_iou <= 0.85


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"gt": np.zeros((10, 10), dtype=bool)}, "gt"),
        ({"gt": np.ones((10, 10), dtype=np.uint8)}, "gt"),
        ({"gt": np.ones((2, 10, 10), dtype=bool)}, "gt"),
        ({"gt": [[True]]}, "gt"),
        ({"rng": "seed"}, "rng"),
        ({"rng": 1.5}, "rng"),
        ({"rng": -1}, "rng"),
        ({"iou_range": (0.9, 0.8)}, "iou_range"),
        ({"iou_range": (0.75, 1.0)}, "iou_range"),
        ({"p_boundary": -0.1}, "p_boundary"),
        ({"p_boundary": 0, "p_false_positive": 0, "p_false_negative": 0}, "p_boundary"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"defect_share": (0.0, 0.5)}, "defect_share"),
    ],
)
def test_davis585_validation(kwargs, word):
    args = {"gt": ellipse(30, 30, 15, 15, 8, 8), "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=word):
        davis585_coarse_mask(**args)


# ---------------------------------------------------------------------------------------------
# Mask R-CNN-style low-resolution masks


def test_lowres_loses_thin_structures():
    body = np.zeros((256, 256), dtype=bool)
    body[40:200, 40:200] = True
    stick = body.copy()
    stick[118:120, 200:250] = True  # 2 px wide antenna leaving the object
    crack = body.copy()
    crack[119, 50:190] = False  # 1 px wide crack inside the object
    for seed in range(10):
        assert not lowres_coarse_mask(frozen(stick), seed)[110:128, 212:250].any()
        assert lowres_coarse_mask(frozen(crack), seed)[119, 70:170].all()  # inside any box


def test_lowres_stays_in_grown_box_and_is_deterministic():
    rng = np.random.default_rng(0)
    for _ in range(30):
        h, w = rng.integers(30, 200, size=2)
        gt = ellipse(h, w, *(rng.uniform(0, 1, 2) * (h, w)), *(rng.uniform(3, 60, 2)))
        if not gt.any():
            continue
        jitter = float(rng.uniform(0, 0.2))
        seed = int(rng.integers(1 << 30))
        coarse = lowres_coarse_mask(frozen(gt), seed, box_jitter=jitter)
        assert np.array_equal(coarse, lowres_coarse_mask(gt, seed, box_jitter=jitter))
        ys, xs = np.nonzero(gt)
        grow_y = 3 * jitter * (ys.max() + 1 - ys.min()) + 1
        grow_x = 3 * jitter * (xs.max() + 1 - xs.min()) + 1
        cy, cx = np.nonzero(coarse)
        if cy.size:
            assert cy.min() >= ys.min() - grow_y and cy.max() <= ys.max() + grow_y
            assert cx.min() >= xs.min() - grow_x and cx.max() <= xs.max() + grow_x


def test_lowres_quality_depends_on_resolution():
    canvas = np.zeros((300, 300), dtype=np.uint8)
    cv2.fillPoly(canvas, [np.array([[20, 280], [150, 20], [280, 280], [150, 200]])], 1)
    gt = canvas > 0
    clean = {"box_jitter": 0.0, "noise_std": 0.0, "blur_sigma": 0.0}
    fine = iou(lowres_coarse_mask(gt, 0, resolution=112, **clean), gt)
    default = iou(lowres_coarse_mask(gt, 0, **clean), gt)
    coarse = iou(lowres_coarse_mask(gt, 0, resolution=7, **clean), gt)
    assert fine > default > coarse
    assert default > 0.9


def test_lowres_tiny_and_border_masks():
    dot = np.zeros((30, 30), dtype=bool)
    dot[0, 29] = True
    out = lowres_coarse_mask(dot, 0, box_jitter=0)
    assert out.shape == dot.shape and out.dtype == np.bool_
    assert np.array_equal(out, dot)
    full = np.ones((50, 70), dtype=bool)
    assert iou(lowres_coarse_mask(full, 0, box_jitter=0), full) > 0.95


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"gt": np.zeros((10, 10), dtype=bool)}, "gt"),
        ({"gt": np.ones((10, 10), dtype=np.float32)}, "gt"),
        ({"rng": None}, "rng"),
        ({"resolution": 1}, "resolution"),
        ({"box_jitter": -0.1}, "box_jitter"),
        ({"threshold": 0.0}, "threshold"),
    ],
)
def test_lowres_validation(kwargs, word):
    args = {"gt": ellipse(30, 30, 15, 15, 8, 8), "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=word):
        lowres_coarse_mask(**args)


# ---------------------------------------------------------------------------------------------
# CAM-like semantic pseudo-labels


def voc_like_scene(bands: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two class-1 objects 6 px apart, one class-2 object, 255 ignore bands around all."""
    masks = np.stack(
        [
            ellipse(120, 200, 60, 50, 35, 30),
            ellipse(120, 200, 60, 121, 35, 35),
            ellipse(120, 200, 60, 175, 20, 15),
        ]
    )
    labels = np.array([1, 1, 2])
    semantic = np.zeros((120, 200), dtype=np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    for mask, cls in zip(masks, labels, strict=True):
        semantic[mask] = cls
    for mask in masks if bands else []:
        band = cv2.dilate(mask.astype(np.uint8), kernel) > cv2.erode(mask.astype(np.uint8), kernel)
        semantic[band] = 255
    return semantic, masks, labels


def test_cam_keeps_ignore_and_uses_valid_ids():
    semantic, masks, labels = voc_like_scene()
    for seed in range(5):
        out = cam_coarse_semantic(frozen(semantic), seed, frozen(masks), frozen(labels))
        assert out.dtype == np.uint8 and out.shape == semantic.shape
        assert np.array_equal(out == 255, semantic == 255)
        assert set(np.unique(out)) <= {0, 1, 2, 255}
        no_instances = cam_coarse_semantic(frozen(semantic), seed, num_classes=20)
        assert np.array_equal(no_instances == 255, semantic == 255)
        assert set(np.unique(no_instances)) <= set(range(21)) | {255}


def test_cam_is_deterministic_and_consistent_with_scores():
    semantic, masks, labels = voc_like_scene()
    scores = cam_scores(semantic, 11, 5, masks, labels)
    assert scores.shape == (5, *semantic.shape) and scores.dtype == np.float32
    assert scores.min() >= 0 and scores.max() <= 1
    assert np.array_equal(scores, cam_scores(semantic, 11, 5, masks, labels))
    labels_map = cam_coarse_semantic(semantic, 11, masks, labels, num_classes=5)
    ignore = semantic == 255
    assert np.array_equal(labels_map, decode_cam_scores(scores, ignore=ignore))
    cam = to_cam_dict(scores)
    assert set(cam["keys"].tolist()) >= {1, 2} and cam["cam"].shape[1:] == semantic.shape
    assert np.array_equal(decode_cam_dict(cam, ignore=ignore), labels_map)
    # Background = 1 - max score: a pixel is a class exactly where its best score exceeds 0.5.
    decoded = decode_cam_scores(scores)
    assert np.array_equal(decoded > 0, scores.max(axis=0) > 0.5)


@pytest.mark.parametrize("background", [None, 0.0, 0.3])
def test_decode_matches_plain_argmax(background):
    rng = np.random.default_rng(5)
    # Quantised scores make ties (between classes and with background) frequent.
    scores = np.round(rng.random((6, 30, 40)) * 4).astype(np.float32) / 4
    scores[2] = 0  # a class that never fires
    bg = 1 - scores.max(axis=0) if background is None else np.full((30, 40), background)
    expected = np.argmax(np.concatenate([bg[None].astype(np.float32), scores]), axis=0)
    assert np.array_equal(decode_cam_scores(scores, background), expected)
    cam = {"keys": np.array([4, 9]), "cam": scores[:2]}
    expected = np.array([0, 4, 9])[
        np.argmax(np.concatenate([1 - scores[:2].max(0)[None], scores[:2]]), 0)
    ]
    assert np.array_equal(decode_cam_dict(cam), expected)


def test_cam_fragments_objects_when_asked():
    semantic = ellipse(100, 220, 50, 110, 30, 90).astype(np.uint8)
    quiet = {"p_wrong_class": 0.0, "p_bridge": 0.0, "under_extension": (0.0, 0.0)}
    whole = [cam_coarse_semantic(semantic, s, p_fragment=0.0, **quiet) for s in range(6)]
    split = [cam_coarse_semantic(semantic, s, p_fragment=1.0, **quiet) for s in range(6)]
    assert all(components(out == 1) == 1 for out in whole)
    assert all(components(out == 1) >= 2 for out in split)


def test_cam_fuses_close_instances_with_bridges():
    # No ignore bands here: they would cut every object off from its surroundings.
    semantic, masks, labels = voc_like_scene(bands=False)
    quiet = {"p_wrong_class": 0.0, "p_fragment": 0.0, "over_extension": (0.0, 0.0)}
    quiet["under_extension"] = (0.0, 0.0)
    for seed in range(4):
        fused = cam_coarse_semantic(semantic, seed, masks, labels, p_bridge=1.0, **quiet)
        apart = cam_coarse_semantic(semantic, seed, masks, labels, p_bridge=0.0, **quiet)
        assert components(fused == 1) == 1
        assert components(apart == 1) == 2


def test_cam_wrong_class_blobs():
    semantic, masks, labels = voc_like_scene()
    seen_wrong = 0
    for seed in range(6):
        out = cam_coarse_semantic(semantic, seed, masks, labels, num_classes=6, p_wrong_class=1.0)
        seen_wrong += np.isin(out, [3, 4, 5, 6]).any() or (out[masks[2]] == 1).any()
        clean = cam_coarse_semantic(semantic, seed, masks, labels, num_classes=6, p_wrong_class=0)
        assert set(np.unique(clean)) <= {0, 1, 2, 255}
    assert seen_wrong >= 4


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.integers(1, 4))
def test_cam_random_scenes(seed, num_classes, count):
    rng = np.random.default_rng(seed)
    semantic = np.zeros((90, 110), dtype=np.uint8)
    for _ in range(count):
        ry, rx = rng.uniform(2, 25, 2)
        disk = ellipse(90, 110, rng.uniform(0, 90), rng.uniform(0, 110), ry, rx)
        semantic[disk] = rng.integers(1, num_classes + 1)
    semantic[rng.random((90, 110)) < 0.02] = 255
    out = cam_coarse_semantic(frozen(semantic), seed, num_classes=num_classes)
    assert np.array_equal(out == 255, semantic == 255)
    assert set(np.unique(out)) <= set(range(num_classes + 1)) | {255}


def test_cam_empty_scene():
    semantic = np.zeros((20, 30), dtype=np.uint8)
    semantic[:2] = 255
    out = cam_coarse_semantic(semantic, 0, num_classes=3)
    assert np.array_equal(out, semantic)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"semantic": np.zeros((10, 10), dtype=np.int32)}, "semantic"),
        ({"semantic": np.full((10, 10), 9, dtype=np.uint8)}, "semantic"),
        ({"num_classes": 0}, "num_classes"),
        ({"labels": np.array([1])}, "labels"),
        ({"instances": np.zeros((1, 10, 10), dtype=bool)}, "labels"),
        ({"instances": np.zeros((1, 9, 10), dtype=bool), "labels": np.array([1])}, "instances"),
        ({"instances": np.zeros((1, 10, 10), dtype=bool), "labels": np.array([7])}, "labels"),
        ({"rng": "x"}, "rng"),
    ],
)
def test_cam_validation(kwargs, word):
    args = {"semantic": np.zeros((10, 10), dtype=np.uint8), "rng": 0, "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=word):
        cam_scores(**args)
