"""Training pieces of the embedded model: batched decoding, prompt sampling, loop, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from samrefiner_lib.models import TEST_SPEC, build_sam_from_spec, load_sam
from samrefiner_lib.training.batched_decoder import decode_all_tokens
from samrefiner_lib.training.data import SampleSettings, make_sample
from samrefiner_lib.training.losses import dice_loss, focal_loss, hard_iou, sam_loss
from samrefiner_lib.training.prompt_sampling import (
    correction_point,
    jitter_boxes,
    mask_boxes,
    sample_pixels,
)
from samrefiner_lib.training.trainer import TrainSettings, export_weights, lr_factor, train


def test_batched_decoder_equals_stock_for_one_image(tiny_sam):
    emb = torch.randn(1, 32, 8, 8, generator=torch.Generator().manual_seed(0))
    boxes = torch.tensor([[3.0, 4.0, 40.0, 50.0], [10.0, 10.0, 20.0, 30.0]])
    with torch.inference_mode():
        sparse, dense = tiny_sam.prompt_encoder(points=None, boxes=boxes, masks=None)
        pe = tiny_sam.prompt_encoder.get_dense_pe()
        stock_m, stock_i = tiny_sam.mask_decoder.predict_masks(emb, pe, sparse, dense)
        ours_m, ours_i = decode_all_tokens(tiny_sam.mask_decoder, emb.expand(2, -1, -1, -1), pe,
                                           sparse, dense)
    torch.testing.assert_close(ours_m, stock_m)
    torch.testing.assert_close(ours_i, stock_i)


def test_losses_hand_values():
    logits = torch.tensor([[[10.0, -10.0], [10.0, -10.0]]])
    target = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    assert float(focal_loss(logits, target)) < 1e-8
    assert float(dice_loss(logits, target)) == pytest.approx(0.0, abs=1e-4)
    assert float(hard_iou(logits, target)) == 1.0
    zero = torch.zeros(1, 1, 2, 2)
    # p = 0.5 everywhere: ce = log 2, (1 - p_t)^2 = 0.25, alpha weights 0.25 / 0.75.
    expect = np.log(2) * 0.25 * (0.25 * 2 + 0.75 * 2) / 4
    assert float(focal_loss(zero, target[:, None])) == pytest.approx(expect, rel=1e-5)


def test_sam_loss_takes_the_best_output():
    target = torch.zeros(1, 4, 4)
    target[0, :2] = 1
    good = torch.where(target > 0, 9.0, -9.0)
    bad = -good
    logits = torch.stack([bad, good, bad], dim=1)
    loss, logs = sam_loss(logits, torch.tensor([[0.0, 1.0, 0.0]]), target)
    assert logs["iou"] == 1.0
    assert float(loss) < 0.05


def test_prompt_sampling_properties():
    g = torch.Generator().manual_seed(0)
    masks = torch.zeros(3, 20, 30, dtype=torch.bool)
    masks[0, 5:10, 7:20] = True
    masks[1, 0, 0] = True
    xy, found = sample_pixels(masks, g)
    assert found.tolist() == [True, True, False]
    assert masks[0, int(xy[0, 1]), int(xy[0, 0])] and xy[1].tolist() == [0.0, 0.0]
    boxes = mask_boxes(masks)
    assert boxes[0].tolist() == [7.0, 5.0, 19.0, 9.0] and boxes[2].tolist() == [0.0] * 4
    sizes = torch.tensor([[20, 30]] * 3)
    j = jitter_boxes(boxes, sizes, g)
    assert (j[:, 0] <= j[:, 2]).all() and (j[:, 2] <= 29).all() and (j >= 0).all()
    assert (j - boxes).abs().max() <= 20
    pred = torch.zeros_like(masks)
    pt, lab = correction_point(pred, masks, g)
    assert lab.tolist() == [1, 1, -1]


def test_lr_schedule():
    s = TrainSettings(warmup_steps=10, min_lr_ratio=0.1)
    assert lr_factor(0.0, 0, s) == pytest.approx(0.1)
    assert lr_factor(0.5, 100, s) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(1.0, 100, s) == pytest.approx(0.1)


def test_samples_are_deterministic_and_consistent():
    st = SampleSettings(img_size=64, targets_per_image=3)
    a, b = make_sample(5, st), make_sample(5, st)
    for k in a:
        assert np.array_equal(a[k], b[k])
    h, w = a["size"]
    assert a["image"].shape == (64, 64, 3) and max(h, w) == 64
    assert not a["targets"][:, h:, :].any() and not a["targets"][:, :, w:].any()
    assert a["valid"].any()


def test_train_resume_and_export(tmp_path):
    samples = SampleSettings(img_size=TEST_SPEC.img_size, targets_per_image=2)
    settings = TrainSettings(steps=2, batch_images=2, rounds=2, workers=0, checkpoint_every=1,
                             log_every=1, warmup_steps=1)
    ckpt = train(TEST_SPEC, samples, settings, tmp_path)
    first = torch.load(ckpt, weights_only=False)
    assert first["step"] == 2
    settings.steps = 3
    train(TEST_SPEC, samples, settings, tmp_path)
    assert torch.load(ckpt, weights_only=False)["step"] == 3
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    out = export_weights(ckpt, tmp_path / "w.pt", extra={"card": {"note": "test"}})
    sam = load_sam(checkpoint=out)
    trained = build_sam_from_spec(TEST_SPEC)
    trained.load_state_dict(torch.load(ckpt, weights_only=False)["state_dict"])
    w = sam.mask_decoder.iou_token.weight
    torch.testing.assert_close(w, trained.mask_decoder.iou_token.weight, atol=1e-3, rtol=1e-3)
