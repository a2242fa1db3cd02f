"""Split-then-merge: partition properties, the merge rule, merge back, inputs, end to end, CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from samrefiner_lib import InputError, SAMRefiner, get_preset
from samrefiner_lib.cli import main
from samrefiner_lib.defects import cam_scores, decode_cam_scores, to_cam_dict
from samrefiner_lib.experiments.stm import (
    Scale,
    ablation_view,
    gains_view,
    merge_rules_view,
    run_stm_experiment,
)
from samrefiner_lib.models import TEST_SPEC, build_sam_from_spec, save_checkpoint
from samrefiner_lib.stm import (
    IGNORE,
    MODES,
    MergeRule,
    build_regions,
    greedy_merge,
    labels_from_cam,
    load_cam,
    load_label_map,
    merge_back,
    refine_semantic,
    save_label_map,
    score_label_maps,
    split_components,
)

# --------------------------------------------------------------------------- helpers


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: any in-place write by the code under test raises."""
    out = array.copy()
    out.flags.writeable = False
    return out


def component_sizes(labels: np.ndarray, cls: int) -> np.ndarray:
    """HxW map of the size of each pixel's 8-connected component of ``labels == cls``."""
    n, comp = cv2.connectedComponents((labels == cls).astype(np.uint8), connectivity=8)
    sizes = np.bincount(comp.ravel(), minlength=n)
    sizes[0] = 0
    return sizes[comp]


@st.composite
def label_maps(draw: st.DrawFn) -> np.ndarray:
    """Small label maps with classes 1..3, background and ignore; blocky so components grow."""
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    values = draw(st.lists(st.sampled_from([0, 0, 1, 1, 2, 3, IGNORE]), min_size=h * w,
                           max_size=h * w))
    base = np.asarray(values, np.uint8).reshape(h, w)
    scale = draw(st.integers(1, 3))
    return np.kron(base, np.ones((scale, scale), np.uint8))


# --------------------------------------------------------------------------- partition


@settings(max_examples=120, deadline=None)
@given(labels=label_maps(), min_size=st.integers(0, 7), mu=st.floats(0.0, 2.5),
       density=st.booleans(), area=st.sampled_from(["pixels", "reference"]))
def test_regions_partition_the_kept_class_pixels(labels, min_size, mu, density, area):
    rule = MergeRule(mu=mu, density=density, merged_box_area=area)
    labels = frozen(labels)
    foreground = (labels != 0) & (labels != IGNORE)
    split = build_regions(labels, "no_merge", rule, min_size)
    for mode in MODES:
        regions = build_regions(labels, mode, rule, min_size)
        masks = regions.masks
        # Every kept pixel in exactly one region; dropped pixels in none.
        assert (masks.sum(axis=0) <= 1).all()
        assert np.array_equal(masks.any(axis=0), foreground & ~regions.dropped)
        assert not (regions.dropped & ~foreground).any()
        for r, mask in enumerate(masks):
            assert mask.any()
            assert (labels[mask] == regions.classes[r]).all()  # never mixes classes
            ys, xs = np.nonzero(mask)
            assert regions.areas[r] == mask.sum()
            assert list(regions.boxes[r]) == [xs.min(), ys.min(), xs.max(), ys.max()]
        if mode == "whole_class":
            assert not regions.dropped.any()
            continue
        # Dropped pixels are exactly those of components below min_size.
        small = np.zeros(labels.shape, bool)
        for cls in (1, 2, 3):
            sizes = component_sizes(labels, cls)
            small |= (sizes > 0) & (sizes < min_size)
        assert np.array_equal(regions.dropped, small)
        # Merging only unions whole components: each split region lies inside one region.
        for comp in split.masks:
            owners = np.unique(regions.region_map[comp])
            assert owners.size == 1 and owners[0] >= 0
        assert regions.components.sum() == len(split)


@settings(max_examples=60, deadline=None)
@given(labels=label_maps(), min_size=st.integers(0, 4))
def test_split_regions_are_maximal_8_connected_components(labels, min_size):
    comps = split_components(labels, min_size)
    kernel = np.ones((3, 3), np.uint8)
    for k in range(len(comps)):
        mask = comps.component_map == k
        n, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        assert n == 2  # background + one component
        grown = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
        assert not (grown & (labels == comps.classes[k]) & ~mask).any()
    # Classes ascending, and inside a class raster order of the first pixel.
    firsts = [np.flatnonzero((comps.component_map == k).ravel())[0] for k in range(len(comps))]
    order = sorted(range(len(comps)), key=lambda k: (comps.classes[k], firsts[k]))
    assert order == list(range(len(comps)))


@settings(max_examples=40, deadline=None)
@given(labels=label_maps())
def test_mu_of_two_never_merges_and_building_is_deterministic(labels):
    never = build_regions(labels, "stm", MergeRule(mu=2.0))
    split = build_regions(labels, "no_merge")
    assert np.array_equal(never.region_map, split.region_map)
    again = build_regions(labels, "stm")
    assert build_regions(labels, "stm").signature() == again.signature()


# --------------------------------------------------------------------------- the merge rule


def test_two_halves_of_one_object_merge():
    yy, xx = np.mgrid[:40, :40]
    labels = np.where((yy - 20) ** 2 + (xx - 20) ** 2 <= 14**2, 3, 0).astype(np.uint8)
    labels[:, 20] = 0  # a one-pixel cut splits the disk in two
    assert len(build_regions(labels, "no_merge")) == 2
    merged = build_regions(labels, "stm")
    assert len(merged) == 1 and merged.components[0] == 2 and merged.classes[0] == 3


def test_two_distant_blobs_do_not_merge():
    labels = np.zeros((30, 80), np.uint8)
    labels[10:20, 2:12] = 1
    labels[10:20, 66:76] = 1
    regions = build_regions(labels, "stm")
    assert len(regions) == 2 and (regions.components == 1).all()
    # Without the box rule, two dense blobs pass the density rule only when close enough.
    assert len(build_regions(labels, "stm", MergeRule(mu=0.0))) == 2


def test_a_sparse_l_shape_does_not_merge():
    labels = np.zeros((50, 50), np.uint8)
    labels[2:5, 2:45] = 2  # horizontal bar
    labels[7:45, 2:5] = 2  # vertical bar, separated by two background rows
    assert len(build_regions(labels, "stm")) == 2  # box rule: 129 + 114 < 0.5 * 1849
    low_mu = MergeRule(mu=0.1)  # passes the box rule ...
    assert len(build_regions(labels, "stm", low_mu)) == 2  # ... the density rule stops it
    no_density = MergeRule(mu=0.1, density=False)
    assert len(build_regions(labels, "stm", no_density)) == 1


def test_rule_arithmetic_and_reference_box_area():
    a, b = np.array([0, 0, 9, 9]), np.array([10, 0, 19, 9])
    rule = MergeRule()
    assert rule.accepts(a, 100, b, 100)  # 200 > 0.5 * 200, density 1 > 0.5
    assert not MergeRule(mu=1.0).accepts(a, 100, b, 100)  # 200 > 200 is false
    # The reference code's merged box is (19 - 0) * (9 - 0) = 171: then mu = 1 passes.
    assert MergeRule(mu=1.0, merged_box_area="reference").accepts(a, 100, b, 100)
    # With a gap (merged box 300 px) the density rule decides: full parts give 200 / 300 > 0.5;
    # half-full parts need more than min(0.5, 0.5 - 0.1) = 0.4 and give 100 / 300.
    c = np.array([20, 0, 29, 9])
    assert rule.accepts(a, 100, c, 100) and not rule.accepts(a, 50, c, 50)
    assert MergeRule(density=False).accepts(a, 50, c, 50)
    # Sparse parts lower the bar: densities 0.3 and 0.15 need only > 0.05.
    assert rule.accepts(a, 30, c, 15)
    with pytest.raises(ValueError, match="mu"):
        MergeRule(mu=-1.0)
    with pytest.raises(ValueError, match="merged_box_area"):
        MergeRule(merged_box_area="area")


def test_boxes_are_updated_after_every_merge():
    boxes = np.array([[0, 0, 9, 9], [12, 0, 37, 9], [40, 0, 49, 9]])
    areas = np.array([100, 260, 100])
    rule = MergeRule()
    assert not rule.accepts(boxes[0], 100, boxes[2], 100)  # the ends alone are too far apart
    assert greedy_merge(boxes, areas, rule).tolist() == [0, 0, 0]  # but A+B then absorbs C
    # The same three pieces on a label map, order given by the first pixel.
    labels = np.zeros((10, 50), np.uint8)
    for x0, _, x1, _ in boxes:
        labels[:, x0 : x1 + 1] = 4
    regions = build_regions(labels, "stm")
    assert len(regions) == 1 and regions.components[0] == 3


def test_greedy_merge_groups_are_canonical():
    boxes = np.array([[0, 0, 3, 3], [50, 0, 53, 3], [4, 0, 7, 3], [54, 0, 57, 3]])
    groups = greedy_merge(boxes, np.full(4, 16), MergeRule())
    assert groups.tolist() == [0, 1, 0, 1]
    assert greedy_merge(np.zeros((0, 4)), np.zeros(0), MergeRule()).size == 0


# --------------------------------------------------------------------------- merge back


def _two_claims():
    coarse = np.zeros((4, 6), np.uint8)
    coarse[:, :3] = 1
    coarse[:, 3:] = 2
    coarse[0, 0] = IGNORE
    refined = np.zeros((2, 4, 6), bool)
    refined[0, :, :4] = True  # class 1 spills onto column 3 (coarse class 2)
    refined[1, :, 2:5] = True  # class 2 spills onto column 2 (coarse 1), leaves column 5
    refined[1, 3, 0] = True  # and claims a pixel whose coarse label is class 1
    return coarse, np.array([1, 2]), refined


def test_conflict_rules():
    coarse, classes, refined = _two_claims()
    hi1 = merge_back(coarse, classes, refined, np.array([0.9, 0.5]), "score")
    assert (hi1.labels[:, 2:4] == 1).all()  # contested columns go to the higher score
    hi2 = merge_back(coarse, classes, refined, np.array([0.5, 0.9]), "score")
    assert (hi2.labels[:, 2:4] == 2).all()
    coarse_rule = merge_back(coarse, classes, refined, np.array([0.5, 0.9]), "coarse")
    assert (coarse_rule.labels[:, 2] == 1).all() and (coarse_rule.labels[:, 3] == 2).all()
    assert coarse_rule.labels[3, 0] == 1  # class 1 also claims it; coarse says 1
    smaller = merge_back(coarse, classes, refined, np.array([0.9, 0.5]), "smaller")
    assert (smaller.labels[:, 2:4] == 2).all()  # class 2's mask (13 px) < class 1's (15 px)
    default = merge_back(coarse, classes, refined, np.array([0.5, 0.9]))
    assert np.array_equal(default.labels, hi2.labels)  # the default rule is "score"
    tie = merge_back(coarse, classes, refined, np.array([0.7, 0.7]), "score")
    assert (tie.labels[:, 2:4] == 1).all()  # equal scores: the smaller class id
    expected_conflicts = np.zeros((4, 6), bool)
    expected_conflicts[:, 2:4] = True
    expected_conflicts[3, 0] = True
    assert np.array_equal(hi1.conflicts, expected_conflicts)


def test_released_pixels_and_ignore():
    coarse, classes, refined = _two_claims()
    refined[:, 0, 0] = True  # both claim the ignore pixel
    for rule in ("coarse", "score", "smaller"):
        out = merge_back(frozen(coarse), classes, frozen(refined), np.array([0.4, 0.6]), rule)
        assert out.labels[0, 0] == IGNORE and not out.conflicts[0, 0]
        assert np.array_equal(out.released, np.eye(1, 6, 5, dtype=bool).repeat(4, 0))
        assert (out.labels[:, 5] == 0).all()  # default: released pixels become background
    kept = merge_back(coarse, classes, refined, np.array([0.4, 0.6]), dropped="coarse")
    assert (kept.labels[:, 5] == 2).all() and kept.labels[0, 0] == IGNORE


def test_merge_back_edge_cases():
    coarse = np.full((3, 3), 7, np.uint8)
    coarse[1, 1] = IGNORE
    empty = merge_back(coarse, np.zeros(0), np.zeros((0, 3, 3), bool), np.zeros(0))
    assert (empty.labels[coarse != IGNORE] == 0).all() and empty.labels[1, 1] == IGNORE
    skipped = merge_back(coarse, [7], np.zeros((1, 3, 3), bool), [np.nan], dropped="coarse")
    assert np.array_equal(skipped.labels, coarse)
    with pytest.raises(ValueError, match="conflict"):
        merge_back(coarse, [7], np.ones((1, 3, 3), bool), [0.5], conflict="largest")
    with pytest.raises(ValueError, match="refined"):
        merge_back(coarse, [7, 8], np.ones((1, 3, 3), bool), [0.5, 0.5])


# --------------------------------------------------------------------------- inputs


def test_label_map_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    labels = rng.choice(np.array([0, 1, 5, 20, IGNORE], np.uint8), size=(17, 23))
    path = save_label_map(labels, tmp_path / "labels.png")
    assert Image.open(path).mode == "P"
    assert np.array_equal(load_label_map(path), labels)
    Image.fromarray(labels, mode="L").save(tmp_path / "gray.png")
    assert np.array_equal(load_label_map(tmp_path / "gray.png"), labels)
    assert np.array_equal(load_label_map(Image.open(path)), labels)
    assert np.array_equal(load_label_map(labels.astype(np.int64)), labels)
    assert load_label_map(labels[..., None]).shape == labels.shape


def test_bad_label_maps_are_named(tmp_path):
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match=r"--labels.*mode 'RGB'"):
        load_label_map(tmp_path / "rgb.png", "--labels")
    with pytest.raises(InputError, match="seg: file not found"):
        load_label_map(tmp_path / "missing.png", "seg")
    with pytest.raises(InputError, match="integer class indices"):
        load_label_map(np.zeros((4, 4), np.float32))
    with pytest.raises(InputError, match="integer class indices"):
        load_label_map(np.zeros((4, 4), bool))
    with pytest.raises(InputError, match=r"0\.\.255"):
        load_label_map(np.full((4, 4), 300))
    with pytest.raises(InputError, match="label_map: label map size 4x4"):
        load_label_map(np.zeros((4, 4), np.uint8), shape=(5, 4))


def test_cam_decoding_forms_agree(tmp_path):
    semantic = np.zeros((24, 30), np.uint8)
    semantic[3:12, 4:14] = 2
    semantic[14:22, 16:28] = 5
    scores = cam_scores(semantic, 4, num_classes=6)
    expected = decode_cam_scores(scores)
    cam = to_cam_dict(scores)
    assert np.array_equal(labels_from_cam(scores), expected)
    assert np.array_equal(labels_from_cam(cam), expected)
    zero_based = {"keys": cam["keys"] - 1, "high_res": cam["cam"]}
    assert np.array_equal(labels_from_cam(zero_based, cam_key="high_res", key_base=0), expected)
    np.save(tmp_path / "dict.npy", zero_based, allow_pickle=True)
    np.save(tmp_path / "dense.npy", scores)
    np.savez(tmp_path / "cam.npz", **cam)
    assert np.array_equal(load_cam(tmp_path / "dict.npy", cam_key="high_res", key_base=0),
                          expected)
    assert np.array_equal(load_cam(tmp_path / "dense.npy"), expected)
    assert np.array_equal(load_cam(tmp_path / "cam.npz", shape=(24, 30)), expected)


def test_cam_background_is_one_minus_max():
    cam = np.zeros((2, 1, 4), np.float32)
    cam[0, 0] = [0.7, 0.4, 0.5, 0.0]
    cam[1, 0] = [0.2, 0.45, 0.1, 0.9]
    out = labels_from_cam({"keys": np.array([3, 9]), "cam": cam})
    # 0.7 > 0.3: class 3; 0.45 < 0.55: background; 0.5 = 0.5 ties to background; 0.9: class 9.
    assert out.tolist() == [[3, 0, 0, 9]]
    assert labels_from_cam({"keys": np.array([3, 9]), "cam": cam},
                           background=0.3).tolist() == [[3, 9, 3, 9]]


def test_bad_cams_are_named(tmp_path):
    cam = {"keys": np.array([1]), "cam": np.zeros((1, 4, 4), np.float32)}
    with pytest.raises(InputError, match=r"--cam: CAM dictionary lacks \['attn'\]"):
        labels_from_cam(cam, cam_key="attn", name="--cam")
    with pytest.raises(InputError, match="CAM size 4x4"):
        labels_from_cam(cam, shape=(5, 5))
    with pytest.raises(InputError, match="keys"):
        labels_from_cam({"keys": np.array([0]), "cam": cam["cam"]})  # 0 is not a class id
    with pytest.raises(InputError, match="NaN"):
        labels_from_cam(np.full((1, 2, 2), np.nan))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="cannot read"):
        load_cam(tmp_path / "junk.npy")


# --------------------------------------------------------------------------- metric


def test_score_label_maps_counts_all_classes_and_ignores_255():
    gt = np.array([[0, 0, 1, 1], [2, 2, IGNORE, IGNORE]], np.uint8)
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 0]], np.uint8)
    score = score_label_maps([(pred, gt)], num_classes=3, class_names=["bg", "a", "b"])
    # bg: tp 1, fp 1, fn 1 -> 1/3; a: tp 2, fp 1 -> 2/3; b: tp 1, fn 1 -> 1/2.
    np.testing.assert_allclose(score.table["iou"], [1 / 3, 2 / 3, 1 / 2])
    assert score.miou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert score.table["name"].tolist() == ["bg", "a", "b"]


# --------------------------------------------------------------------------- end to end


@pytest.fixture()
def semantic_scene(scene):
    """The shared two-disk image with a label map: disk 1 cut in two, an ignore band."""
    img, masks = scene
    labels = np.zeros(img.shape[:2], np.uint8)
    labels[masks[0]] = 1
    labels[:, 40] = np.where(labels[:, 40] == 1, 0, labels[:, 40])  # cut disk 1
    labels[masks[1]] = 2
    labels[0:3, :] = IGNORE
    labels[80, 5:8] = 2  # a 3-pixel speck: dropped by the split
    return img, labels


def test_refine_semantic_end_to_end(tiny_sam, semantic_scene, monkeypatch):
    img, labels = semantic_scene
    refiner = SAMRefiner(tiny_sam, get_preset("paper", iterations=2))
    calls = {"encode": 0, "refine_masks": []}
    encode, refine_masks = refiner.encode, refiner.refine_masks

    def counting_encode(image):
        calls["encode"] += 1
        return encode(image)

    def counting_refine(embedding, coarse, *args, **kwargs):
        calls["refine_masks"].append(coarse.shape[0])
        return refine_masks(embedding, coarse, *args, **kwargs)

    monkeypatch.setattr(refiner, "encode", counting_encode)
    monkeypatch.setattr(refiner, "refine_masks", counting_refine)
    out = refine_semantic(img, frozen(labels), refiner, "no_merge")
    assert calls == {"encode": 1, "refine_masks": [3]}  # one encoder pass, one batched call
    assert out.labels.shape == labels.shape and out.labels.dtype == np.uint8
    assert np.array_equal(out.labels == IGNORE, labels == IGNORE)
    assert set(np.unique(out.labels)) <= {0, 1, 2, IGNORE}
    assert out.regions.classes.tolist() == [1, 1, 2] and out.regions.dropped.sum() == 3
    assert out.preset == "paper (iterations=2)" and out.mode == "no_merge"
    # The regions are refined exactly as SAMRefiner refines them as plain masks.
    direct = refiner.refine(img, out.regions.masks)
    assert np.array_equal(direct.masks, out.refined)
    np.testing.assert_allclose(direct.scores, out.scores)
    again = refine_semantic(img, labels, refiner, "no_merge")
    assert np.array_equal(again.labels, out.labels)  # deterministic
    record = json.loads(json.dumps(out.record(), allow_nan=False))
    assert record["mode"] == "no_merge" and len(record["regions"]) == 3
    assert record["pixels"]["split_dropped"] == 3 and record["preset"] == out.preset


@pytest.mark.parametrize("preset", ["paper", "reference"])
def test_every_mode_runs_with_both_presets(tiny_sam, semantic_scene, preset):
    img, labels = semantic_scene
    refiner = SAMRefiner(tiny_sam, get_preset(preset, iterations=1))
    embedding = refiner.encode(img)
    counts = {}
    for mode in MODES:
        out = refine_semantic(img, labels, refiner, mode, embedding=embedding)
        counts[mode] = len(out.regions)
        assert np.array_equal(out.labels == IGNORE, labels == IGNORE)
        assert out.preset == f"{preset} (iterations=1)"
    assert counts == {"stm": 2, "no_merge": 3, "whole_class": 2}


def test_refine_semantic_without_regions_and_bad_inputs(tiny_sam, semantic_scene):
    img, labels = semantic_scene
    refiner = SAMRefiner(tiny_sam, "paper")
    blank = np.where(labels == IGNORE, IGNORE, 0).astype(np.uint8)
    out = refine_semantic(img, blank, refiner)
    assert out.result is None and len(out.regions) == 0 and np.array_equal(out.labels, blank)
    with pytest.raises(InputError, match="label_map: label map size"):
        refine_semantic(img, labels[:-1], refiner)
    with pytest.raises(InputError, match="embedding"):
        refine_semantic(img, labels, refiner, embedding=refiner.encode(img[:-1]))
    with pytest.raises(ValueError, match="mode"):
        refine_semantic(img, labels, refiner, "instances")
    with pytest.raises(ValueError, match="mu"):
        refine_semantic(img, labels, refiner, mu=0.7, rule=MergeRule(mu=0.3))


def test_experiment_tables_with_a_tiny_model(tiny_sam):
    result = run_stm_experiment(Scale("test", 1, size=64), presets=("paper",), mus=(0.5, 2.0),
                                model="tiny-random", sam=tiny_sam)
    ab = result.ablation.set_index("method")
    assert list(ab.index) == ["coarse", "whole_class", "no_merge", "stm"]
    assert ab.loc["coarse", "delta_vs_coarse"] == 0.0
    assert set(ab["preset"]) == {"paper"} and set(ab["model"]) == {"tiny-random"}
    assert "test seeds 20000000..20000000" in ab["data"].iloc[0]
    sweep = result.mu_sweep.set_index("mu")
    assert sweep.loc[2.0, "miou"] == pytest.approx(ab.loc["no_merge", "miou"])
    assert sweep.loc[0.5, "miou"] == pytest.approx(ab.loc["stm", "miou"])
    assert len(result.merge_rules) == 6 and result.merge_rules["default"].sum() == 1
    assert set(result.per_class["method"]) == set(ab.index)
    # The book's views: the paper's gains on the STM row only, ours unchanged.
    view = ablation_view(result)
    assert view.loc[("paper", "STM"), ("paper", "Δ coarse")] == "+8.5"
    assert view.loc[("paper", "coarse"), ("paper", "Δ whole class")] == ""
    assert view.loc[("paper", "STM"), ("ours", "mIoU")] == pytest.approx(ab.loc["stm", "miou"])
    gains = gains_view({"default CAM": result})
    assert gains.loc[("default CAM", "paper"), ("STM over whole class", "ours")] == (
        pytest.approx(ab.loc["stm", "delta_vs_whole_class"]))
    assert gains.loc[("default CAM", "paper"), ("STM over whole class", "paper")] == "+0.2"
    rules = merge_rules_view(result)
    assert len(rules) == 6 and (rules["default"] == "yes").sum() == 1
    assert "model=tiny-random" in result.label and "preset=paper" in result.label


# --------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli_files(tmp_path, semantic_scene):
    img, labels = semantic_scene
    Image.fromarray(img).save(tmp_path / "img.png")
    save_label_map(labels, tmp_path / "labels.png")
    cam = np.zeros((2, *labels.shape), np.float32)
    cam[0][labels == 1] = 0.9
    cam[1][labels == 2] = 0.8
    np.save(tmp_path / "cam.npy", {"keys": np.array([0, 1]), "high_res": cam},
            allow_pickle=True)
    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(build_sam_from_spec(TEST_SPEC, seed=0), TEST_SPEC, ckpt)
    return tmp_path


def _cli(tmp, *extra):
    return ["refine-semantic", "--image", str(tmp / "img.png"), "--out", str(tmp / "out"),
            "--checkpoint", str(tmp / "tiny.pt"), "--device", "cpu", *extra]


def test_cli_refines_a_label_png(cli_files):
    tmp = cli_files
    args = _cli(tmp, "--labels", str(tmp / "labels.png"), "--preset", "reference",
                "--iterations", "1", "--viz", "--conflict", "coarse")
    assert main(args) == 0
    out = tmp / "out"
    refined = Image.open(out / "img_refined.png")
    assert refined.mode == "P"
    labels = load_label_map(tmp / "labels.png")
    assert np.array_equal(np.asarray(refined) == IGNORE, labels == IGNORE)
    rec = json.loads((out / "result.json").read_text())
    assert rec["preset"] == "reference (iterations=1)" and rec["mode"] == "stm"
    assert rec["merge_rule"]["mu"] == 0.5 and rec["conflict"] == "coarse"
    assert rec["dropped"] == "background" and rec["cam"] is None
    assert len(rec["regions"]) == 2 and rec["classes_coarse"] == [1, 2]
    assert (out / "img_viz.png").stat().st_size > 10_000


def test_cli_refines_a_cam_file(cli_files):
    tmp = cli_files
    args = _cli(tmp, "--cam", str(tmp / "cam.npy"), "--cam-key", "high_res", "--key-base", "0",
                "--mode", "no_merge", "--dropped", "coarse")
    assert main(args) == 0
    rec = json.loads((tmp / "out" / "result.json").read_text())
    coarse = load_label_map(rec["coarse_png"])
    assert set(np.unique(coarse)) == {0, 1, 2}  # decoded CAM: no ignore band
    assert rec["mode"] == "no_merge" and rec["dropped"] == "coarse" and rec["key_base"] == 0


def test_cli_errors_name_the_input(cli_files, capsys):
    tmp = cli_files
    save_label_map(np.zeros((10, 10), np.uint8), tmp / "small.png")
    assert main(_cli(tmp, "--labels", str(tmp / "small.png"))) == 2
    assert "--labels: label map size 10x10" in capsys.readouterr().err
    assert main(_cli(tmp, "--cam", str(tmp / "cam.npy"))) == 2
    err = capsys.readouterr().err
    assert "--cam (" in err and "lacks ['cam']" in err
    with pytest.raises(SystemExit):
        main(_cli(tmp, "--labels", str(tmp / "labels.png"), "--cam", str(tmp / "cam.npy")))
