"""The acceptance rule ("refinement that does no harm") and the ``safe`` preset."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from samrefiner_lib import PRESETS, RefinerConfig, SAMRefiner, get_preset
from samrefiner_lib import refiner as refiner_module
from samrefiner_lib.cli import main
from samrefiner_lib.config import SAFE_MIN_SCORE

from .conftest import disk


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def _patch_decode(monkeypatch: pytest.MonkeyPatch, logits_value: float | None = None,
                  iou_rows: list[float] | None = None) -> list[int]:
    """Wrap the refiner's decoder call so a test controls what SAM returns.

    Arguments:
      monkeypatch: the test's monkeypatch fixture.
      logits_value: replace every candidate logit by this value (None: keep SAM's logits).
      iou_rows: per call, the predicted IoU of every candidate of the i-th prompt set; calls
        past the end reuse the last entry (None: keep SAM's). Tests that use it decode each
        iteration in one call.

    Returns:
      list[int]: one entry per decoder call, filled in as the calls happen.
    """
    real = refiner_module.decode
    calls: list[int] = []

    def fake(sam, features, points=None, boxes=None, masks=None, multimask_output=True):
        logits, iou = real(sam, features, points, boxes, masks, multimask_output)
        calls.append(int(logits.shape[0]))
        if logits_value is not None:
            logits = torch.full_like(logits, logits_value)
        if iou_rows is not None:
            rows = iou_rows[min(len(calls), len(iou_rows)) - 1]
            iou = torch.tensor(rows, dtype=iou.dtype)[:, None].expand_as(iou).clone()
        return logits, iou

    monkeypatch.setattr(refiner_module, "decode", fake)
    return calls


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["accept_min_coarse_iou", "accept_min_score"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_thresholds_outside_0_1_are_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        RefinerConfig(**{name: value})
    with pytest.raises(ValueError, match=rf"{name} must be None \(off\) or lie in \[0, 1\]"):
        get_preset("paper", **{name: value})


@pytest.mark.parametrize("name", ["accept_min_coarse_iou", "accept_min_score"])
def test_thresholds_at_the_bounds_are_allowed(name):
    for value in (0.0, 1.0, None):
        assert getattr(get_preset("paper", **{name: value}), name) == value


def test_rule_is_off_in_paper_and_reference():
    for name in ("paper", "reference"):
        cfg = PRESETS[name]
        assert cfg.accept_min_coarse_iou is None and cfg.accept_min_score is None
        assert not cfg.uses_acceptance


def test_safe_preset_is_paper_plus_the_rule():
    safe = get_preset("safe")
    assert safe.describe() == "safe"
    assert safe.accept_min_score == SAFE_MIN_SCORE and safe.accept_min_coarse_iou is None
    assert safe.uses_acceptance
    # Every other field is the paper preset's.
    assert dataclasses.replace(safe, preset="paper", accept_min_score=None) == PRESETS["paper"]
    changed = get_preset("safe", accept_min_coarse_iou=0.7)
    assert changed.describe() == "safe (accept_min_coarse_iou=0.7)"
    d = changed.to_dict()
    assert d["accept_min_coarse_iou"] == 0.7 and d["accept_min_score"] == SAFE_MIN_SCORE
    assert d["label"] == "safe (accept_min_coarse_iou=0.7)"
    json.dumps(d)


# --- refinement with the tiny random SAM -------------------------------------------------------


@pytest.mark.parametrize("preset", ["paper", "reference"])
def test_threshold_one_keeps_every_coarse_mask(tiny_sam, scene, preset):
    img, masks = scene
    plain = SAMRefiner(tiny_sam, preset).refine(img, masks)
    # The test means something only if SAM changes the masks.
    assert all(not np.array_equal(plain.masks[i], masks[i]) for i in range(len(masks)))
    res = SAMRefiner(tiny_sam, get_preset(preset, accept_min_coarse_iou=1.0)).refine(
        img, masks, return_history=True)
    assert np.array_equal(res.masks, masks)
    assert res.accepted.dtype == bool and not res.accepted.any()
    assert all(np.array_equal(h, masks) for h in res.history)
    # SAM's outputs are still reported, to show what was rejected.
    assert np.isfinite(res.scores).all() and (res.selected >= 0).all()


@pytest.mark.parametrize("cfg", [
    get_preset("paper", accept_min_coarse_iou=0.0),
    get_preset("safe", accept_min_score=None),
    get_preset("safe", accept_min_score=None, accept_min_coarse_iou=0.0),
], ids=["paper-iou0", "safe-off", "safe-iou0"])
def test_off_or_zero_gives_the_paper_masks(tiny_sam, scene, cfg):
    img, masks = scene
    paper = SAMRefiner(tiny_sam, "paper").refine(img, masks)
    res = SAMRefiner(tiny_sam, cfg).refine(img, masks)
    assert np.array_equal(res.masks, paper.masks)
    assert np.array_equal(res.selected, paper.selected)
    np.testing.assert_array_equal(res.scores, paper.scores)
    assert res.accepted.all() and paper.accepted.all()


def test_zero_threshold_over_several_iterations_changes_nothing(tiny_sam, scene):
    img, masks = scene
    ref = SAMRefiner(tiny_sam, "reference").refine(img, masks, return_history=True)
    res = SAMRefiner(tiny_sam, get_preset("reference", accept_min_coarse_iou=0.0)).refine(
        img, masks, return_history=True)
    assert np.array_equal(res.masks, ref.masks)
    assert all(np.array_equal(a, b) for a, b in zip(res.history, ref.history, strict=True))


def test_threshold_between_two_masks_rejects_one(tiny_sam, scene):
    """With SAM's real outputs, a threshold between the two masks' IoUs splits them."""
    img, masks = scene
    paper = SAMRefiner(tiny_sam, "paper").refine(img, masks)
    ious = np.array([_iou(paper.masks[i], masks[i]) for i in range(len(masks))])
    assert ious[0] != ious[1]
    t = float(ious.mean())
    res = SAMRefiner(tiny_sam, get_preset("paper", accept_min_coarse_iou=t)).refine(img, masks)
    assert res.accepted.tolist() == (ious >= t).tolist() and res.accepted.sum() == 1
    expected = np.where(res.accepted[:, None, None], paper.masks, masks)
    assert np.array_equal(res.masks, expected)
    np.testing.assert_array_equal(res.scores, paper.scores)


@pytest.mark.parametrize("t", [0.002, 0.01, 0.05])
def test_every_returned_mask_keeps_the_coarse_iou(tiny_sam, scene, t):
    """Overlap is measured against the original coarse mask, so iterations cannot drift."""
    img, masks = scene
    res = SAMRefiner(tiny_sam, get_preset("reference", accept_min_coarse_iou=t)).refine(
        img, masks, return_history=True)
    for h in res.history:
        assert all(_iou(h[i], masks[i]) >= t for i in range(len(masks)))


def test_hand_built_overlap_rule_accepts_one_and_rejects_another(tiny_sam, monkeypatch):
    """SAM returns the whole image for every mask: right for a large mask, wrong for a small one."""
    h, w = 90, 120
    img = np.random.default_rng(1).integers(0, 255, (h, w, 3), dtype=np.uint8)
    large = np.zeros((h, w), bool)
    large[2:-2, 2:-2] = True  # IoU with the whole image: 0.92
    small = disk(h, w, 45, 60, 12)  # IoU with the whole image: 0.04
    empty = np.zeros((h, w), bool)
    coarse = np.stack([large, small, empty])
    _patch_decode(monkeypatch, logits_value=10.0)
    rule = get_preset("safe", accept_min_coarse_iou=0.5, accept_min_score=None)
    res = SAMRefiner(tiny_sam, rule).refine(img, coarse)
    assert res.accepted.tolist() == [True, False, False]
    assert res.masks[0].all()
    assert np.array_equal(res.masks[1], small)
    # A skipped empty mask is not "accepted": it gets no prompts and stays empty.
    assert not res.masks[2].any() and np.isnan(res.scores[2]) and res.selected[2] == -1
    # The rejected mask's candidate is still there to inspect.
    assert res.candidate_masks(1)[res.selected[1]].all()
    off = SAMRefiner(tiny_sam, "paper").refine(img, coarse)
    assert off.masks[:2].all() and off.accepted.tolist() == [True, True, False]


def test_hand_built_score_rule_accepts_one_and_rejects_another(tiny_sam, scene, monkeypatch):
    img, masks = scene
    # One decoder call holds both masks, so the i-th row belongs to mask i.
    base = get_preset("paper", chunk_size=8)
    _patch_decode(monkeypatch, iou_rows=[[0.9, 0.1]])
    plain = SAMRefiner(tiny_sam, base).refine(img, masks)
    res = SAMRefiner(tiny_sam, base.replace(accept_min_score=0.5)).refine(img, masks)
    np.testing.assert_allclose(res.scores, [0.9, 0.1])
    assert res.accepted.tolist() == [True, False]
    assert np.array_equal(res.masks[0], plain.masks[0])
    assert not np.array_equal(plain.masks[1], masks[1])
    assert np.array_equal(res.masks[1], masks[1])
    # A mask must pass both rules: an overlap rule that accepts everything changes nothing,
    # one that rejects everything wins over the score.
    both = SAMRefiner(tiny_sam, base.replace(accept_min_score=0.5, accept_min_coarse_iou=0.0))
    assert both.refine(img, masks).accepted.tolist() == [True, False]
    both = SAMRefiner(tiny_sam, base.replace(accept_min_score=0.5, accept_min_coarse_iou=1.0))
    assert both.refine(img, masks).accepted.tolist() == [False, False]


def test_rejected_mask_stays_at_its_previous_mask(tiny_sam, scene, monkeypatch):
    """Accepted in the first iteration, rejected in the second: the first result is kept."""
    img, masks = scene
    calls = _patch_decode(monkeypatch, iou_rows=[[0.9, 0.9], [0.9, 0.1]])
    cfg = get_preset("paper", chunk_size=8, iterations=2, accept_min_score=0.5)
    res = SAMRefiner(tiny_sam, cfg).refine(img, masks, return_history=True)
    assert calls == [2, 2]
    assert res.accepted.tolist() == [True, False]
    first, second = res.history
    assert not np.array_equal(first[1], masks[1])  # mask 1 was refined in iteration 1 ...
    assert np.array_equal(second[1], first[1])  # ... and kept when iteration 2 was rejected
    assert np.array_equal(res.masks, second)


def test_result_built_without_accepted_counts_refined_masks(tiny_sam, scene):
    img, masks = scene
    res = SAMRefiner(tiny_sam, "safe").refine(img, masks)
    rebuilt = dataclasses.replace(res, accepted=None)
    assert rebuilt.accepted.tolist() == res.prompts.valid.tolist()


# --- command line ------------------------------------------------------------------------------


def test_cli_accepts_safe_and_writes_accepted(tmp_path, scene, ckpt):
    img, masks = scene
    Image.fromarray(img).save(tmp_path / "img.png")
    args = ["refine", "--image", str(tmp_path / "img.png"), "--out", str(tmp_path / "out"),
            "--checkpoint", str(ckpt), "--device", "cpu", "--preset", "safe"]
    for i, m in enumerate(masks):
        Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / f"coarse{i}.png")
        args += ["--mask", str(tmp_path / f"coarse{i}.png")]
    assert main(args) == 0
    rec = json.loads((tmp_path / "out" / "result.json").read_text())
    assert rec["preset"] == "safe"
    assert rec["config"]["accept_min_score"] == SAFE_MIN_SCORE
    # The random test model's predicted IoUs are far below the threshold: both are rejected.
    assert rec["accepted"] == [False, False]
    for i in range(len(masks)):
        out = np.asarray(Image.open(tmp_path / "out" / f"coarse{i}_refined.png")) > 0
        assert np.array_equal(out, masks[i])
