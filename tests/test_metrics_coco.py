"""COCO mask AP and boundary AP from in-memory data, and the RLE helpers."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from samrefiner_lib.metrics import (
    BoundaryCOCOeval,
    boundary_band,
    boundary_iou,
    coco_boundary_ap,
    coco_mask_ap,
    decode_rle,
    encode_rle,
    load_coco_gt,
    load_coco_results,
    mask_iou,
    masks_to_coco,
    masks_to_results,
)

THRESHOLDS = np.linspace(0.5, 0.95, 10)

# pycocotools' own decode trips a NumPy 2 deprecation notice (not ours to fix).
quiet_decode = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def square(h: int, w: int, y0: int, x0: int, side: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0 : y0 + side, x0 : x0 + side] = True
    return m


def jagged(mask: np.ndarray, depth: int = 2) -> np.ndarray:
    """Notch every other row of the left and right edges: an error on the boundary only."""
    out = mask.copy()
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    out[y0 : y1 + 1 : 2, x0 : x0 + depth] = False
    out[y0 : y1 + 1 : 2, x1 - depth + 1 : x1 + 1] = False
    return out


@pytest.fixture()
def dataset():
    """Two images, three instances of two categories."""
    images = [
        ((120, 160), [square(120, 160, 10, 10, 50), square(120, 160, 60, 90, 40)], [1, 2]),
        ((100, 100), [square(100, 100, 20, 20, 60)], [1]),
    ]
    return images, masks_to_coco(images, {1: "cat", 2: "dog"})


def perfect_results(images):
    out = []
    for k, (_, masks, cats) in enumerate(images):
        out += masks_to_results(k + 1, masks, cats, [0.9 - 0.1 * j for j in range(len(masks))])
    return out


def single_instance(gt_mask: np.ndarray, det_mask: np.ndarray):
    gt = masks_to_coco([(gt_mask.shape, [gt_mask], [1])])
    return gt, masks_to_results(1, [det_mask], [1], [1.0])


# --- RLE helpers --------------------------------------------------------------------------------


@quiet_decode
@settings(max_examples=80, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 30), st.integers(1, 30))))
def test_rle_round_trip_through_pycocotools(mask):
    rle = encode_rle(mask)
    assert isinstance(rle["counts"], str)
    back = json.loads(json.dumps(rle))
    decoded = mask_utils.decode({"size": back["size"], "counts": back["counts"].encode()})
    np.testing.assert_array_equal(decoded.astype(bool), mask)
    np.testing.assert_array_equal(decode_rle(back), mask)
    assert mask_utils.area(back) == mask.sum()


def test_decode_uncompressed_rle_and_validation():
    mask = square(6, 5, 1, 1, 3)
    # Uncompressed COCO RLE: run lengths over the column-major pixels, starting with 0s.
    runs, value, n = [], False, 0
    for v in mask.T.ravel():
        if v == value:
            n += 1
        else:
            runs.append(n)
            value, n = v, 1
    runs.append(n)
    np.testing.assert_array_equal(decode_rle({"size": [6, 5], "counts": runs}), mask)
    with pytest.raises(ValueError, match="0 and 1"):
        encode_rle(mask.astype(np.uint8) * 255)


@quiet_decode
def test_masks_to_coco_fields(dataset):
    _, gt = dataset
    json.dumps(gt)  # serialisable as is
    assert [i["id"] for i in gt["images"]] == [1, 2]
    assert [a["id"] for a in gt["annotations"]] == [1, 2, 3]
    first = gt["annotations"][0]
    assert first["area"] == 2500 and first["iscrowd"] == 0
    assert first["bbox"] == [10.0, 10.0, 50.0, 50.0]  # XYWH
    assert gt["categories"][1] == {"id": 2, "name": "dog", "supercategory": "none"}
    coco = load_coco_gt(gt)
    np.testing.assert_array_equal(coco.annToMask(coco.anns[3]).astype(bool), dataset[0][1][1][0])


def test_masks_to_coco_empty_masks_and_errors():
    empty = np.zeros((10, 10), bool)
    full = square(10, 10, 0, 0, 5)
    gt = masks_to_coco([((10, 10), [empty, full], [1, 1])])
    assert len(gt["annotations"]) == 1
    with pytest.raises(ValueError, match="empty"):
        masks_to_coco([((10, 10), [empty], [1])], drop_empty=False)
    with pytest.raises(ValueError, match="shape"):
        masks_to_coco([((10, 12), [full], [1])])
    with pytest.raises(ValueError, match="category ids"):
        masks_to_coco([((10, 10), [full], [3])], {1: "a"})
    with pytest.raises(ValueError):
        masks_to_coco([((10, 10), [full], [1, 2])])


# --- Mask AP ------------------------------------------------------------------------------------


def test_perfect_detections_give_ap_100(dataset, capsys):
    images, gt = dataset
    stats = coco_mask_ap(gt, perfect_results(images))
    for key in ("AP", "AP50", "AP75", "APm"):
        assert stats[key] == pytest.approx(100.0)
    assert math.isnan(stats["APl"])  # no instance above 96^2 px
    assert len(stats["stats"]) == 12 and stats["stats"][5] == -1
    assert capsys.readouterr().out == ""  # silent by default


def test_shifted_mask_lowers_ap(dataset):
    images, gt = dataset
    results = perfect_results(images)
    shifted = np.roll(images[1][1][0], 12, axis=1)
    results[-1] = masks_to_results(2, [shifted], [1], [0.7])[0]
    stats = coco_mask_ap(gt, results)
    assert stats["AP"] < 100.0
    assert stats["AP50"] == pytest.approx(100.0)  # IoU 48/72 = 0.67 still counts at 0.5


def test_matches_pycocotools_own_loading(dataset):
    images, gt = dataset
    results = perfect_results(images)
    results[0] = masks_to_results(1, [jagged(images[0][1][0], 4)], [1], [0.95])[0]
    results.append(masks_to_results(2, [square(100, 100, 0, 0, 30)], [2], [0.99])[0])
    ours = coco_mask_ap(gt, results)
    coco_gt = COCO()
    coco_gt.dataset = copy.deepcopy(gt)
    coco_gt.createIndex()
    evaluator = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), iouType="segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    np.testing.assert_allclose(ours["stats"], evaluator.stats)


def test_inputs_left_untouched_and_empty_results(dataset):
    images, gt = dataset
    results = perfect_results(images)
    gt_copy, results_copy = copy.deepcopy(gt), copy.deepcopy(results)
    coco_mask_ap(gt, results)
    coco_boundary_ap(gt, results)
    assert gt == gt_copy and results == results_copy
    assert coco_mask_ap(gt, [])["AP"] == 0.0
    assert coco_boundary_ap(gt, [])["AP"] == 0.0


def test_result_validation(dataset):
    _, gt = dataset
    with pytest.raises(ValueError, match="image_id"):
        coco_mask_ap(gt, masks_to_results(7, [square(10, 10, 0, 0, 3)], [1], [1.0]))
    with pytest.raises(ValueError, match="size"):
        coco_mask_ap(gt, masks_to_results(1, [square(10, 10, 0, 0, 3)], [1], [1.0]))
    with pytest.raises(ValueError, match="score"):
        coco_mask_ap(gt, [{"image_id": 1, "category_id": 1, "segmentation": {}}])


def test_single_instance_ap_counts_thresholds():
    gt_mask = square(100, 100, 20, 20, 60)
    det = jagged(gt_mask, 3)
    gt, results = single_instance(gt_mask, det)
    iou = mask_iou(det, gt_mask)
    expected = 100 * np.count_nonzero(THRESHOLDS <= iou) / 10
    assert coco_mask_ap(gt, results)["AP"] == pytest.approx(expected)


# --- Boundary AP --------------------------------------------------------------------------------


def test_boundary_ap_perfect_is_100(dataset, capsys):
    images, gt = dataset
    stats = coco_boundary_ap(gt, perfect_results(images))
    assert stats["AP"] == pytest.approx(100.0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("side", [40, 60, 80])
@pytest.mark.parametrize("depth", [2, 3])
def test_boundary_ap_below_mask_ap_for_boundary_only_error(side, depth):
    gt_mask = square(120, 120, 10, 15, side)
    det = jagged(gt_mask, depth)
    gt, results = single_instance(gt_mask, det)
    mask_ap = coco_mask_ap(gt, results)["AP"]
    boundary_ap = coco_boundary_ap(gt, results)["AP"]
    assert boundary_iou(det, gt_mask) < mask_iou(det, gt_mask)
    assert boundary_ap < mask_ap
    expected = 100 * np.count_nonzero(THRESHOLDS <= boundary_iou(det, gt_mask)) / 10
    assert boundary_ap == pytest.approx(expected)


def test_boundary_ap_combine_min_versus_boundary_only():
    # A detection equal to the ground truth's band: boundary IoU 1, mask IoU small.
    gt_mask = square(80, 80, 10, 10, 60)
    det = boundary_band(gt_mask)
    assert boundary_iou(det, gt_mask) == 1.0 and mask_iou(det, gt_mask) < 0.5
    gt, results = single_instance(gt_mask, det)
    assert coco_boundary_ap(gt, results, combine="min")["AP"] == 0.0
    assert coco_boundary_ap(gt, results, combine="boundary")["AP"] == pytest.approx(100.0)
    with pytest.raises(ValueError):
        coco_boundary_ap(gt, results, combine="max")


def test_dilation_ratio_matters():
    gt_mask = square(120, 120, 10, 15, 80)
    det = jagged(gt_mask, 2)
    gt, results = single_instance(gt_mask, det)
    thin = coco_boundary_ap(gt, results, dilation_ratio=0.005)["AP"]
    wide = coco_boundary_ap(gt, results, dilation_ratio=0.05)["AP"]
    assert thin < wide


def test_crowd_regions_absorb_detections_in_both_evaluations():
    h = w = 100
    person = square(h, w, 10, 10, 30)
    crowd = square(h, w, 50, 50, 45)
    gt = masks_to_coco([((h, w), [person, crowd], [1, 1])], iscrowd=[[0, 1]])
    inside_crowd = square(h, w, 60, 60, 20)
    results = masks_to_results(1, [person, inside_crowd], [1, 1], [0.9, 0.95])
    # Without the crowd flag the extra detection would be a higher-scored false positive.
    assert coco_mask_ap(gt, results)["AP"] == pytest.approx(100.0)
    assert coco_boundary_ap(gt, results)["AP"] == pytest.approx(100.0)
    plain = masks_to_coco([((h, w), [person], [1])])
    assert coco_mask_ap(plain, results)["AP"] < 100.0


def test_boundary_evaluator_iou_type():
    with pytest.raises(ValueError):
        BoundaryCOCOeval(iouType="segm")
    gt_mask = square(60, 60, 5, 5, 40)
    gt, results = single_instance(gt_mask, jagged(gt_mask))
    coco_gt = load_coco_gt(gt)
    evaluator = BoundaryCOCOeval(coco_gt, load_coco_results(coco_gt, results))
    assert evaluator.params.iouType == "boundary"
    evaluator.evaluate()
    assert evaluator.params.iouType == "boundary"
    assert evaluator._paramsEval.iouType == "boundary"
    ious = evaluator.ious[1, 1]
    expected = min(boundary_iou(jagged(gt_mask), gt_mask), mask_iou(jagged(gt_mask), gt_mask))
    assert ious[0, 0] == pytest.approx(expected)
