"""Baselines: DenseCRF, morphology, plain-SAM prompt configurations, optional adapters."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from samrefiner_lib import SAMRefiner, get_preset
from samrefiner_lib.baselines import (
    BaselineUnavailableError,
    CascadePSPBaseline,
    DenseCRFBaseline,
    HQSAMBaseline,
    MorphologyBaseline,
    densecrf_available,
    plain_sam_configs,
    refine_label_map,
)
from samrefiner_lib.evaluation import evaluate
from samrefiner_lib.evaluation.boundary_accuracy import mba_with_ignore
from samrefiner_lib.evaluation.methods import (
    METHOD_NAMES,
    MethodOptions,
    build_method,
    build_methods,
    method_record,
    refine_instances,
)
from samrefiner_lib.io import InputError
from samrefiner_lib.metrics import mask_iou, mean_boundary_accuracy

from .conftest import disk

needs_crf = pytest.mark.skipif(not densecrf_available(),
                               reason="pydensecrf (pip install pydensecrf2) is not importable")


@pytest.fixture()
def blob_scene(rng):
    """A 90x120 image: a bright disk on dark noise, its mask, and a coarse mask with defects."""
    img = (rng.random((90, 120, 3)) * 40).astype(np.uint8)
    gt = disk(90, 120, 45, 60, 22)
    img[gt] = (200, 180, 60)
    coarse = disk(90, 120, 47, 57, 25)  # shifted and too large
    coarse[10:13, 10:13] = True  # a speck
    coarse[44:47, 58:61] = False  # a hole
    return img, gt, coarse


# --------------------------------------------------------------------------- morphology


def test_morphology_operations(blob_scene):
    img, gt, coarse = blob_scene
    masks = np.stack([coarse, np.zeros_like(coarse)])
    opened = MorphologyBaseline("open", 2).refine(img, masks)
    closed = MorphologyBaseline("close", 2).refine(img, masks)
    both = MorphologyBaseline("open_close", 2).refine(img, masks)
    median = MorphologyBaseline("median", 2).refine(img, masks)
    assert opened.shape == masks.shape and opened.dtype == bool
    assert not opened[0, 10:13, 10:13].any() and not opened[1].any()  # speck gone, empty stays
    assert closed[0, 44:47, 58:61].all()  # hole filled
    assert not both[0, 10:13, 10:13].any() and both[0, 44:47, 58:61].all()
    assert not median[0, 10:13, 10:13].any()


def test_morphology_keeps_masks_cut_by_the_border():
    m = np.zeros((40, 40), bool)
    m[:, :10] = True  # touches the left border
    out = MorphologyBaseline("open", 3).refine(None, m[None])[0]
    np.testing.assert_array_equal(out, m)


@pytest.mark.parametrize("kwargs", [{"operation": "dilate"}, {"radius": 0}, {"radius": 1.5}])
def test_morphology_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        MorphologyBaseline(**kwargs)


def test_baseline_inputs_are_checked(blob_scene):
    img, gt, _ = blob_scene
    with pytest.raises(InputError, match="coarse"):
        MorphologyBaseline().refine(img, gt)  # HxW, not NxHxW
    with pytest.raises(InputError, match="differ|image is"):
        MorphologyBaseline().refine(img[:50], gt[None])
    with pytest.raises(InputError, match="coarse"):
        MorphologyBaseline().refine(img, (gt * 7)[None].astype(np.uint8))


# --------------------------------------------------------------------------- DenseCRF


@needs_crf
def test_densecrf_snaps_to_the_object(blob_scene):
    img, gt, coarse = blob_scene
    crf = DenseCRFBaseline()
    out = crf.refine(img, np.stack([coarse, np.zeros_like(coarse)]))
    assert out.dtype == bool and out.shape == (2, 90, 120)
    assert mask_iou(out[0], gt) > mask_iou(coarse, gt) + 0.05
    assert not out[1].any()
    np.testing.assert_array_equal(out, crf.refine(img, np.stack([coarse, 0 * coarse])))
    assert crf.to_dict()["bilateral_srgb"] == 13.0 and crf.name == "densecrf"


@needs_crf
def test_densecrf_accepts_read_only_images(blob_scene):
    img, _, coarse = blob_scene
    img.setflags(write=False)
    assert DenseCRFBaseline(iterations=1).refine(img, coarse[None]).shape == (1, 90, 120)


def test_densecrf_missing_package_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    with pytest.raises(BaselineUnavailableError, match="pip install pydensecrf2"):
        DenseCRFBaseline()


@pytest.mark.parametrize("kwargs", [{"confidence": 0.4}, {"iterations": 0},
                                    {"bilateral_srgb": 0}])
def test_densecrf_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        DenseCRFBaseline(**kwargs)


# --------------------------------------------------------------------------- plain SAM prompts


def test_plain_sam_configs_switch_the_right_prompts():
    cfgs = plain_sam_configs("paper")
    assert set(cfgs) == {"sam-box", "sam-mask", "sam-center-point", "sam-point"}
    box, mask, centre = cfgs["sam-box"], cfgs["sam-mask"], cfgs["sam-center-point"]
    assert box.use_box and not (box.use_point or box.use_mask or box.use_cebox)
    assert mask.use_mask and mask.mask_form == "binary" and not (mask.use_point or mask.use_box)
    assert centre.use_point and centre.point_strategy == "box_center"
    assert not (centre.use_negative_point or centre.use_box or centre.use_mask)
    assert all(c.iterations == 1 and c.preset == "paper" for c in cfgs.values())
    assert "use_mask=False" in box.describe()
    ref = plain_sam_configs(get_preset("reference"))
    assert ref["sam-mask"].mask_amplitude == 30.0 and ref["sam-mask"].preset == "reference"


def test_plain_sam_configs_run_through_the_evaluator(tiny_sam, scene):
    img, masks = scene
    from samrefiner_lib.datasets import Sample

    sample = Sample(img, masks, masks, None, "scene", {"pairing": "index"})
    methods = {**plain_sam_configs(), "morph": MorphologyBaseline()}
    res = evaluate([sample], methods, SAMRefiner(tiny_sam), progress=False)
    table = res.table()
    assert list(table.index) == ["coarse", *methods]
    assert table.loc["coarse", "IoU"] == 100 and table.loc["coarse", "mBA"] == 100
    assert (table["objects"] == 2).all()


# --------------------------------------------------------------------------- method names


def test_build_methods_by_name(tmp_path):
    methods = build_methods(["samrefiner", "coarse", "sam-box", "morph-median", "samrefiner"],
                            MethodOptions(preset="reference", iterations=2, morph_radius=4))
    assert list(methods) == ["samrefiner", "sam-box", "morph-median"]
    assert methods["samrefiner"].describe() == "reference (iterations=2)"
    assert methods["sam-box"].preset == "reference"
    assert methods["morph-median"] == MorphologyBaseline("median", 4)
    rec = method_record(methods["samrefiner"])
    assert rec["kind"] == "samrefiner" and rec["config"]["iterations"] == 2
    assert method_record(methods["morph-median"])["label"] == "morphology(median, r=4)"
    with pytest.raises(KeyError, match="known: samrefiner"):
        build_method("crf")
    with pytest.raises(ValueError, match="--hqsam-checkpoint"):
        build_method("hqsam")
    assert set(METHOD_NAMES) >= {"paper", "reference", "densecrf", "cascadepsp", "hqsam"}


def test_refine_instances_gives_masks_and_scores(tiny_sam, scene):
    img, masks = scene
    refiner = SAMRefiner(tiny_sam)
    out, scores = refine_instances(get_preset("paper"), img, masks, refiner)
    assert out.shape == masks.shape and np.isfinite(scores).all()
    out, scores = refine_instances(MorphologyBaseline(), img, masks)
    assert out.shape == masks.shape and np.isnan(scores).all()
    with pytest.raises(ValueError, match="refiner"):
        refine_instances(get_preset("paper"), img, masks)


# --------------------------------------------------------------------------- label maps


def test_refine_label_map_class_by_class():
    labels = np.zeros((40, 50), np.uint8)
    labels[5:20, 5:20] = 3
    labels[25:35, 30:45] = 7
    labels[12, 12] = 0  # a one-pixel hole in class 3
    labels[0:3, 40:50] = 255  # unlabelled, claimed by nobody
    out = refine_label_map(MorphologyBaseline("close", 1), np.zeros((40, 50, 3), np.uint8),
                           labels)
    assert out.dtype == np.uint8 and out[12, 12] == 3
    assert (out[25:35, 30:45] == 7).all() and (out[0:3, 40:50] == 255).all()
    assert set(np.unique(out)) == {0, 3, 7, 255}


# --------------------------------------------------------------------------- mBA with ignore


def test_mba_with_ignore_matches_the_metric_without_ignore(blob_scene):
    _, gt, coarse = blob_scene
    assert mba_with_ignore(coarse, gt) == pytest.approx(mean_boundary_accuracy(coarse, gt))
    ring = disk(90, 120, 45, 60, 24) & ~disk(90, 120, 45, 60, 20)
    ring[:, 60:] = False  # the left half of the boundary only
    wrong_on_ring = gt ^ ring  # every error lies in the ignored half ring
    assert mba_with_ignore(wrong_on_ring, gt, ring) == pytest.approx(1.0)
    assert mba_with_ignore(wrong_on_ring, gt) < 0.9
    assert np.isnan(mba_with_ignore(gt, gt, np.ones_like(gt)))  # nothing left to score


# --------------------------------------------------------------------------- optional adapters


def test_cascadepsp_missing_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "segmentation_refinement", None)
    with pytest.raises(BaselineUnavailableError, match="pip install segmentation-refinement"):
        CascadePSPBaseline(tmp_path)


def _fake_cascadepsp(calls: list) -> types.ModuleType:
    module = types.ModuleType("segmentation_refinement")

    class Refiner:
        def __init__(self, device="cpu", model_folder=None, download_and_check_model=True):
            calls.append({"device": device, "folder": model_folder,
                          "download": download_and_check_model})

        def refine(self, image, mask, fast=False, L=900):
            assert image.dtype == np.uint8 and mask.max() == 255
            return np.where(mask > 127, 200, 10).astype(np.uint8)

    module.Refiner = Refiner
    return module


def test_cascadepsp_needs_user_weights_and_never_downloads(monkeypatch, tmp_path, blob_scene):
    calls: list = []
    monkeypatch.setitem(sys.modules, "segmentation_refinement", _fake_cascadepsp(calls))
    with pytest.raises(BaselineUnavailableError, match="weights not found"):
        CascadePSPBaseline(tmp_path)
    (tmp_path / "model").write_bytes(b"weights")
    psp = CascadePSPBaseline(tmp_path, fast=True)
    assert calls == [{"device": "cpu", "folder": str(tmp_path), "download": False}]
    img, _, coarse = blob_scene
    out = psp.refine(img, np.stack([coarse, np.zeros_like(coarse)]))
    np.testing.assert_array_equal(out[0], coarse)
    assert not out[1].any() and psp.to_dict()["fast"] is True


def test_hqsam_missing_package_and_checkpoint(monkeypatch, tmp_path, blob_scene):
    monkeypatch.setitem(sys.modules, "segment_anything_hq", None)
    with pytest.raises(BaselineUnavailableError, match="pip install segment-anything-hq"):
        HQSAMBaseline(tmp_path / "sam_hq_vit_h.pth")
    boxes: list = []
    module = types.ModuleType("segment_anything_hq")

    class FakeSam:
        def to(self, device):
            return self

        def eval(self):
            return self

    class Predictor:
        def __init__(self, sam):
            self.shape = None

        def set_image(self, image):
            self.shape = image.shape[:2]

        def predict(self, box=None, multimask_output=True, hq_token_only=False, **kw):
            boxes.append((box.tolist(), multimask_output, sorted(kw)))
            m = np.zeros((1, *self.shape), bool)
            x0, y0, x1, y1 = (int(v) for v in box)
            m[0, y0: y1 + 1, x0: x1 + 1] = True
            return m, np.ones(1), np.zeros((1, 8, 8))

    module.sam_model_registry = {"vit_h": lambda checkpoint: FakeSam()}
    module.SamPredictor = Predictor
    monkeypatch.setitem(sys.modules, "segment_anything_hq", module)
    with pytest.raises(BaselineUnavailableError, match="checkpoint not found"):
        HQSAMBaseline(tmp_path / "sam_hq_vit_h.pth")
    (tmp_path / "sam_hq_vit_h.pth").write_bytes(b"x")
    with pytest.raises(ValueError, match="model_type"):
        HQSAMBaseline(tmp_path / "sam_hq_vit_h.pth", model_type="vit_q")
    hq = HQSAMBaseline(tmp_path / "sam_hq_vit_h.pth", use_point=True)
    img, gt, _ = blob_scene
    out = hq.refine(img, gt[None])
    ys, xs = np.nonzero(gt)
    assert boxes == [([xs.min(), ys.min(), xs.max(), ys.max()], False,
                      ["point_coords", "point_labels"])]
    assert out[0].sum() == (np.ptp(xs) + 1) * (np.ptp(ys) + 1)
