"""Re-fitting the IoU head on stored decoder outputs (samrefiner_lib.training.iou_head_fit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samrefiner_lib import SAMRefiner
from samrefiner_lib.datasets.sample import Sample
from samrefiner_lib.metrics.boundary import boundary_intersection_union
from samrefiner_lib.metrics.iou import intersection_union
from samrefiner_lib.training.iou_head_fit import (
    IoUExamples,
    IoUHeadFitSettings,
    collect_iou_examples,
    fit_iou_head,
    head_scores,
)

from .conftest import disk


@pytest.fixture()
def examples(tiny_sam, scene):
    img, gt = scene
    coarse = np.stack([disk(90, 120, 42, 38, 15), np.zeros((90, 120), bool)])
    third = Sample(img, gt[:1], gt[:1] & (np.arange(120) < 50)[None, None], None, "b",
                   {"pairing": "index"})
    samples = [Sample(img, gt, coarse, None, "a", {"pairing": "index"}), third]
    refiner = SAMRefiner(tiny_sam, "paper")
    return refiner, samples, collect_iou_examples(refiner, samples, progress=False)


def test_collected_rows_are_the_refiners_candidates(examples):
    refiner, samples, ex = examples
    # The empty coarse mask gets no prompts and no row.
    assert len(ex) == 2 and list(ex.names) == ["a", "b"]
    k = refiner.sam.mask_decoder.num_multimask_outputs
    assert ex.tokens.shape == (2, refiner.sam.mask_decoder.transformer_dim)
    assert ex.predicted.shape == ex.inter.shape == (2, k)
    # The stored head input reproduces the refiner's predicted IoUs through the head itself.
    head = refiner.sam.mask_decoder.iou_prediction_head
    np.testing.assert_allclose(head_scores(head, ex.tokens)[:, -k:], ex.predicted, atol=1e-5)
    # The counts are those of the refiner's candidate masks against the ground truth.
    s = samples[0]
    out = refiner.refine_masks(refiner.encode(s.image), s.coarse)
    cands = out.candidate_masks(0)
    for j in range(k):
        assert (ex.inter[0, j], ex.union[0, j]) == intersection_union(cands[j], s.gt[0])
        assert (ex.b_inter[0, j], ex.b_union[0, j]) == boundary_intersection_union(cands[j],
                                                                                   s.gt[0])
    assert tuple(ex.coarse[0, :2]) == intersection_union(s.coarse[0], s.gt[0])
    # Choosing as the refiner does gives the refiner's own masks' counts.
    chosen = ex.summary(ex.predicted.argmax(1))
    i, u = intersection_union(out.masks[0], s.gt[0])
    i2, u2 = intersection_union(refiner.refine_masks(refiner.encode(samples[1].image),
                                                     samples[1].coarse).masks[0],
                                samples[1].gt[0])
    assert chosen["IoU"] == pytest.approx(100 * (i + i2) / (u + u2))
    assert ex.summary(ex.true_iou.argmax(1))["mIoU"] >= chosen["mIoU"]


def test_examples_round_trip_subset_and_concat(examples, tmp_path):
    _, _, ex = examples
    back = IoUExamples.load(ex.save(tmp_path / "ex.npz"))
    np.testing.assert_array_equal(back.tokens, ex.tokens)
    assert list(back.names) == list(ex.names)
    both = IoUExamples.concat([ex, back])
    assert len(both) == 4
    assert list(both.subset(np.array([False, True, False, True])).names) == ["b", "b"]
    assert not list(tmp_path.glob("*.part*"))


def test_collect_needs_several_candidates(examples):
    refiner, samples, _ = examples
    with pytest.raises(ValueError, match="multimask_output"):
        collect_iou_examples(refiner, samples, refiner.config.replace(multimask_output=False),
                             progress=False)


def _learnable(n: int, seed: int) -> IoUExamples:
    """Rows whose best candidate is readable from the tokens (the largest of three features)."""
    g = np.random.default_rng(seed)
    tokens = g.normal(size=(n, 16)).astype(np.float32)
    best = tokens[:, :3].argmax(1)
    union = np.full((n, 3), 100, np.int64)
    inter = np.full((n, 3), 60, np.int64)
    inter[np.arange(n), best] = 90
    return IoUExamples(tokens, np.zeros((n, 3), np.float32), inter, union, inter, union,
                       np.tile([50, 100, 30, 100], (n, 1)), np.array(["x"] * n))


def test_fit_learns_the_ranking_and_keeps_the_single_output():
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    train, hold, test = _learnable(600, 1), _learnable(200, 2), _learnable(200, 3)
    before = test.summary(head_scores(head, test.tokens)[:, 1:].argmax(1))
    fitted, log = fit_iou_head(head, train, hold, IoUHeadFitSettings(epochs=100, lr=3e-3),
                               progress=False)
    after = test.summary(head_scores(fitted, test.tokens)[:, 1:].argmax(1))
    assert after["top-1"] > 80 and before["top-1"] < 50
    assert log[0]["epoch"] == 0 and len(log) == 101
    # The kept epoch is the holdout's best, and the input head is left as it was.
    assert max(r["IoU"] for r in log) == pytest.approx(
        hold.summary(head_scores(fitted, hold.tokens)[:, 1:].argmax(1))["IoU"])
    single = head_scores(head, test.tokens)[:, 0]
    assert np.abs(head_scores(fitted, test.tokens)[:, 0] - single).mean() < 0.1
    with pytest.raises(ValueError, match="select_by"):
        fit_iou_head(head, train, hold, IoUHeadFitSettings(select_by="AP"), progress=False)
