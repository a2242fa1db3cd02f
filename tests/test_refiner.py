"""End-to-end SAMRefiner on a tiny random SAM: batching, stock-SAM agreement, results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samrefiner_lib import (
    CoarseIoUSelector,
    OracleSelector,
    SAMRefiner,
    get_preset,
)
from samrefiner_lib.decoding import encode_image, prompt_tensors, upsample_logits
from samrefiner_lib.prompts import excavate_prompts

PRESETS = ["paper", "reference"]


@pytest.mark.parametrize("preset", PRESETS)
def test_refine_returns_everything(tiny_sam, scene, preset):
    img, masks = scene
    res = SAMRefiner(tiny_sam, preset).refine(img, masks)
    n, (h, w) = len(masks), img.shape[:2]
    assert res.masks.shape == (n, h, w) and res.masks.dtype == bool
    assert res.iou_predictions.shape == (n, 3)
    assert res.low_res_logits.shape[:2] == (n, 3)
    assert res.low_res_logits.shape[2:] == tuple(tiny_sam.prompt_encoder.mask_input_size)
    assert np.allclose(res.scores, res.iou_predictions[np.arange(n), res.selected])
    assert (res.selected == res.iou_predictions.argmax(1)).all()
    assert res.preset == preset
    assert res.candidate_masks(0).shape == (3, h, w)
    assert res.prompts.points.shape[0] == n and res.prompts.boxes.shape == (n, 4)


def test_selected_candidate_is_the_returned_mask(tiny_sam, scene):
    img, masks = scene
    res = SAMRefiner(tiny_sam, get_preset("paper", iterations=1)).refine(img, masks)
    for i in range(len(masks)):
        assert (res.candidate_masks(i)[res.selected[i]] == res.masks[i]).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_batched_equals_one_by_one(tiny_sam, scene, preset):
    img, masks = scene
    masks = np.concatenate([masks, masks[:1] & np.roll(masks[:1], 5, axis=2)])
    cfg = get_preset(preset, iterations=2)
    batched = SAMRefiner(tiny_sam, cfg).refine(img, masks)
    chunked = SAMRefiner(tiny_sam, cfg.replace(chunk_size=1)).refine(img, masks)
    for i in range(len(masks)):
        single = SAMRefiner(tiny_sam, cfg).refine(img, masks[i : i + 1])
        assert np.array_equal(single.masks[0], batched.masks[i])
        np.testing.assert_allclose(single.iou_predictions[0], batched.iou_predictions[i],
                                   atol=1e-5)
    assert np.array_equal(chunked.masks, batched.masks)


def test_decoding_agrees_with_stock_sam_forward(tiny_sam, scene):
    """Our direct prompt-encoder/decoder calls give what Sam.forward gives for the same prompts."""
    img, masks = scene
    cfg = get_preset("paper", use_cebox=False)
    emb = encode_image(tiny_sam, img)
    prompts = excavate_prompts(masks, cfg, emb.frame)
    refiner = SAMRefiner(tiny_sam, cfg)
    ours = refiner.refine(img, masks, embedding=emb)
    pts, boxes, mask_in = prompt_tensors(prompts, emb.frame, torch.device("cpu"))
    from segment_anything.utils.transforms import ResizeLongestSide

    resized = ResizeLongestSide(tiny_sam.image_encoder.img_size).apply_image(img)
    batch = [{
        "image": torch.as_tensor(resized).permute(2, 0, 1).contiguous(),
        "original_size": img.shape[:2],
        "point_coords": pts[0], "point_labels": pts[1], "boxes": boxes, "mask_inputs": mask_in,
    }]
    stock = tiny_sam(batch, multimask_output=True)[0]
    np.testing.assert_allclose(stock["iou_predictions"].numpy(), ours.iou_predictions, atol=1e-5)
    torch.testing.assert_close(stock["low_res_logits"], ours.low_res_logits, atol=1e-4, rtol=0)
    up = upsample_logits(stock["low_res_logits"], emb.frame)
    torch.testing.assert_close(up, tiny_sam.postprocess_masks(
        stock["low_res_logits"], batch[0]["image"].shape[-2:], img.shape[:2]))


def test_embedding_reuse_gives_same_result(tiny_sam, scene):
    img, masks = scene
    refiner = SAMRefiner(tiny_sam, "paper")
    emb = refiner.encode(img)
    a = refiner.refine(img, masks, embedding=emb)
    b = refiner.refine(img, masks)
    assert np.array_equal(a.masks, b.masks)


def test_iterations_history(tiny_sam, scene):
    img, masks = scene
    res = SAMRefiner(tiny_sam, get_preset("reference", iterations=3)).refine(
        img, masks, return_history=True)
    assert len(res.history) == 3
    assert np.array_equal(res.history[-1], res.masks)


def test_selectors(tiny_sam, scene):
    img, masks = scene
    refiner = SAMRefiner(tiny_sam, "paper")
    coarse_sel = refiner.refine(img, masks, selector=CoarseIoUSelector())
    assert coarse_sel.selector == "coarse_iou"
    for i in range(len(masks)):
        cands = coarse_sel.candidate_masks(i)
        ious = [(c & masks[i]).sum() / max((c | masks[i]).sum(), 1) for c in cands]
        assert coarse_sel.selected[i] == int(np.argmax(ious))
    oracle = refiner.refine(img, masks, selector=OracleSelector(masks))
    assert (oracle.selected == coarse_sel.selected).all()


def test_prompt_switches_change_prompts(tiny_sam, scene):
    img, masks = scene
    r = SAMRefiner(tiny_sam, get_preset("paper", use_point=False, use_mask=False)).refine(
        img, masks)
    assert r.prompts.points is None and r.prompts.mask_logits is None
    assert r.preset == "paper (use_mask=False, use_point=False)"
    r = SAMRefiner(tiny_sam, get_preset("paper", use_box=False, use_negative_point=False)).refine(
        img, masks)
    assert r.prompts.boxes is None and r.prompts.points.shape[1] == 1


def test_deterministic(tiny_sam, scene):
    img, masks = scene
    a = SAMRefiner(tiny_sam, "paper").refine(img, masks)
    b = SAMRefiner(tiny_sam, "paper").refine(img, masks)
    assert np.array_equal(a.masks, b.masks)
    assert np.array_equal(a.iou_predictions, b.iou_predictions)


def test_chunk_size_defaults_by_device_and_can_be_set():
    cfg = get_preset("paper")
    assert cfg.resolved_chunk_size(torch.device("cpu")) == 4
    assert cfg.resolved_chunk_size(torch.device("cuda")) == 64
    assert cfg.replace(chunk_size=7).resolved_chunk_size(torch.device("cpu")) == 7
    with pytest.raises(ValueError, match="chunk_size"):
        cfg.replace(chunk_size=0)
