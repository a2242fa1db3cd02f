"""IoU adaption (SAMRefiner++): LoRA adaptor, ranking loss, training loop, files and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from samrefiner_lib.adaption import (
    AdaptionConfig,
    AdaptorError,
    IoUHeadAdaptor,
    LoRAConfig,
    LoRALinear,
    adapt_iou_head,
    attached_adaptor,
    coarse_target_top1,
    coarse_targets,
    load_adaptor,
    loss_log,
    margin_ranking_loss,
    pairs_from_folders,
    pairs_from_list,
    write_list,
)
from samrefiner_lib.cli import main
from samrefiner_lib.config import get_preset
from samrefiner_lib.decoding import decode, prompt_tensors
from samrefiner_lib.io import InputError
from samrefiner_lib.models import TEST_SPEC, build_sam_from_spec, save_checkpoint
from samrefiner_lib.prompts import excavate_prompts
from samrefiner_lib.refiner import SAMRefiner

# --------------------------------------------------------------------------- data


def _blob_dataset(n_images: int, seed: int, size: int = 48) -> list[tuple[np.ndarray, np.ndarray]]:
    """Noisy images with 2-3 rectangles and ellipses of varied sizes, each with its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n_images):
        img = (rng.random((size, size, 3)) * 80).astype(np.uint8)
        masks = []
        for _ in range(int(rng.integers(2, 4))):
            cy, cx = rng.integers(6, size - 6, 2)
            ry, rx = rng.integers(2, size // 3, 2)
            if rng.random() < 0.5:
                m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
            else:
                m = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
            img[m] = rng.integers(90, 255, 3).astype(np.uint8)
            masks.append(m)
        out.append((img, np.stack(masks)))
    return out


@pytest.fixture()
def sam():
    """A fresh tiny SAM per test (tests attach and merge adaptors)."""
    return build_sam_from_spec(TEST_SPEC, seed=0)


@pytest.fixture(scope="module")
def data():
    return _blob_dataset(6, seed=1)


def _decode_all(sam, image, masks, preset="paper"):
    refiner = SAMRefiner(sam, preset)
    emb = refiner.encode(image)
    cfg = refiner.config
    prompts = excavate_prompts(masks, cfg, emb.frame, emb.valid_features)
    with torch.no_grad():
        return decode(sam, emb.features, *prompt_tensors(prompts, emb.frame, refiner.device))


# --------------------------------------------------------------------------- LoRA and adaptor


def test_lora_config_validation():
    with pytest.raises(ValueError, match="rank"):
        LoRAConfig(rank=0)
    with pytest.raises(ValueError, match="alpha"):
        LoRAConfig(alpha=0)
    with pytest.raises(ValueError, match="dropout"):
        LoRAConfig(dropout=1.0)
    assert LoRAConfig(rank=4, alpha=2).scaling == 0.5


def test_fresh_adaptor_is_exact_noop(sam, data):
    image, masks = data[0]
    logits0, iou0 = _decode_all(sam, image, masks)
    adaptor = IoUHeadAdaptor.create(sam, LoRAConfig(rank=4, alpha=8, dropout=0.1), seed=3)
    assert adaptor.is_noop and adaptor.lora_a.abs().sum() > 0
    with adaptor.applied(sam) as module:
        assert isinstance(module, LoRALinear) and attached_adaptor(sam) is module
        logits1, iou1 = _decode_all(sam, image, masks)
    assert attached_adaptor(sam) is None
    assert torch.equal(logits0, logits1) and torch.equal(iou0, iou1)


def test_lora_linear_matches_explicit_formula():
    torch.manual_seed(0)
    base = torch.nn.Linear(6, 3)
    cfg = LoRAConfig(rank=2, alpha=3.0)
    a, b = torch.randn(2, 6), torch.randn(3, 2)
    layer = LoRALinear(base, cfg, a, b).eval()
    x = torch.randn(5, 6)
    expected = x @ base.weight.T + base.bias + 1.5 * (x @ a.T @ b.T)
    torch.testing.assert_close(layer(x), expected)
    torch.testing.assert_close(layer.merged()(x), expected)
    with pytest.raises(ValueError, match="shapes"):
        LoRALinear(base, cfg, torch.zeros(2, 5), b)


# --------------------------------------------------------------------------- loss


def test_margin_ranking_loss_hand_computed():
    x = torch.tensor([[0.5, 0.7, 0.6], [0.9, 0.1, 0.85], [0.3, 0.3, 0.31]], requires_grad=True)
    t = torch.tensor([0, 0, 2])
    loss = margin_ranking_loss(x, t, margin=0.02)
    # Row 0: (0.7 - 0.5 + 0.02) + (0.6 - 0.5 + 0.02); row 1: both hinges inactive;
    # row 2: (0.3 - 0.31 + 0.02) twice.
    torch.testing.assert_close(loss, torch.tensor([0.34, 0.0, 0.02]))
    loss.sum().backward()
    expected_grad = torch.tensor([[-2.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]])
    torch.testing.assert_close(x.grad, expected_grad)
    # The reference code's formulation: MarginRankingLoss(sum) of the target vs each other.
    ref = torch.nn.MarginRankingLoss(margin=0.02, reduction="sum")
    xd = x.detach()
    one = torch.ones(1)
    total = sum(ref(xd[r, t[r]].view(1), xd[r, i].view(1), one)
                for r in range(3) for i in range(3) if i != t[r])
    torch.testing.assert_close(loss.sum().detach(), total)


def test_loss_and_target_input_errors():
    with pytest.raises(ValueError, match="BxK"):
        margin_ranking_loss(torch.zeros(3), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="targets must lie"):
        margin_ranking_loss(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="shape mismatch"):
        coarse_targets(torch.zeros(2, 3, 4, 4, dtype=torch.bool), torch.zeros(2, 5, 5).bool())


def test_coarse_targets_picks_best_agreement():
    coarse = torch.zeros(1, 8, 8, dtype=torch.bool)
    coarse[0, 2:6, 2:6] = True
    cands = torch.zeros(1, 3, 8, 8, dtype=torch.bool)
    cands[0, 0, 3:5, 3:5] = True  # part: IoU 4/16
    cands[0, 1, 2:6, 2:7] = True  # object: IoU 16/20
    cands[0, 2, :, :] = True  # everything: IoU 16/64
    assert coarse_targets(cands, coarse).tolist() == [1]


# --------------------------------------------------------------------------- training


def test_training_changes_only_the_adaptor(sam, data):
    before = {k: v.clone() for k, v in sam.state_dict().items()}
    flags = {k: p.requires_grad for k, p in sam.named_parameters()}
    refiner = SAMRefiner(sam, "paper")
    adaptor = adapt_iou_head(refiner, data[:3], AdaptionConfig(batch_size=2), progress=False,
                             model_name="tiny-test", spec=TEST_SPEC)
    after = sam.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {k: p.requires_grad for k, p in sam.named_parameters()} == flags
    assert all(p.grad is None for p in sam.parameters())
    assert attached_adaptor(sam) is None and not adaptor.is_noop
    n_masks = sum(len(m) for _, m in data[:3])
    log = loss_log(adaptor)
    assert len(log) == -(-n_masks // 2) and log["masks"].sum() == n_masks
    assert adaptor.training["masks"] == n_masks and adaptor.base.model == "tiny-test"
    assert adaptor.base.spec == TEST_SPEC.to_dict()
    assert "use_point=False" in adaptor.training["train_prompts"]


def test_training_is_deterministic(sam, data):
    refiner = SAMRefiner(sam, "paper")
    cfg = AdaptionConfig(batch_size=3, lora=LoRAConfig(dropout=0.2))
    a = adapt_iou_head(refiner, data[:2], cfg, progress=False)
    b = adapt_iou_head(refiner, data[:2], cfg, progress=False)
    assert torch.equal(a.lora_a, b.lora_a) and torch.equal(a.lora_b, b.lora_b)
    assert a.log == b.log


def test_short_training_raises_coarse_top1_on_training_data(sam):
    # The random tiny model's first candidate is the one closest to the coarse mask for most
    # of these masks. Its IoU head is detuned to prefer the third candidate, so before training
    # the head agrees with the coarse-mask target on few masks; only working targets, loss
    # sign, gradients and optimiser steps bring the agreement up.
    train = _blob_dataset(10, seed=7)
    with torch.no_grad():
        sam.mask_decoder.iou_prediction_head.layers[-1].bias[3] += 0.3
    refiner = SAMRefiner(sam, "paper")
    before = coarse_target_top1(refiner, train)
    cfg = AdaptionConfig(epochs=8, milestones=(1000,))
    adaptor = adapt_iou_head(refiner, train, cfg, progress=False)
    with adaptor.applied(refiner):
        after = coarse_target_top1(refiner, train)
    assert before.masks == after.masks >= 20
    assert before.coarse_top1 <= 0.3
    assert after.coarse_top1 >= 0.7
    log = loss_log(adaptor)
    n = len(log) // 4
    assert log["loss"].iloc[-n:].mean() < 0.5 * log["loss"].iloc[:n].mean()


def test_learning_rate_schedule_follows_milestones(sam, data):
    refiner = SAMRefiner(sam, "paper")
    cfg = AdaptionConfig(batch_size=1, milestones=(3, 5), epochs=1)
    log = loss_log(adapt_iou_head(refiner, data[:3], cfg, progress=False))
    lr = log["lr"].to_numpy()
    assert np.allclose(lr[:3], 0.01) and np.allclose(lr[3:5], 0.001)
    assert np.allclose(lr[5:], 1e-4)


def test_dataset_errors_name_the_item(sam):
    refiner = SAMRefiner(sam, "paper")
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InputError, match=r"dataset\[0\]\.masks\[0\]"):
        adapt_iou_head(refiner, [(img, np.zeros((10, 10), bool))], progress=False)
    with pytest.raises(ValueError, match="no non-empty coarse mask"):
        adapt_iou_head(refiner, [(img, np.zeros((1, 20, 20), bool))], progress=False)
    with pytest.raises(InputError, match="expected a Sample"):
        adapt_iou_head(refiner, [img], progress=False)


# --------------------------------------------------------------------------- files and merging


@pytest.fixture()
def trained(sam, data):
    refiner = SAMRefiner(sam, "paper")
    adaptor = adapt_iou_head(refiner, data[:3], AdaptionConfig(lr=0.05), progress=False,
                             model_name="tiny-test", spec=TEST_SPEC)
    return sam, adaptor


def test_save_load_round_trip(trained, tmp_path):
    sam, adaptor = trained
    path = adaptor.save(tmp_path / "adaptor.pt")
    assert path.stat().st_size < 20_000
    loaded = load_adaptor(path)
    assert loaded.config == adaptor.config and loaded.base == adaptor.base
    assert torch.equal(loaded.lora_a, adaptor.lora_a)
    assert torch.equal(loaded.lora_b, adaptor.lora_b)
    assert loaded.log == adaptor.log and loaded.training["masks"] == adaptor.training["masks"]


def test_merged_model_equals_adapted_model(trained, data):
    sam, adaptor = trained
    image, masks = data[4]
    with adaptor.applied(sam):
        logits_a, iou_a = _decode_all(sam, image, masks, "reference")
    merged = adaptor.merge(sam)
    assert merged is not sam and attached_adaptor(merged) is None
    logits_m, iou_m = _decode_all(merged, image, masks, "reference")
    torch.testing.assert_close(iou_m, iou_a, rtol=0, atol=1e-6)
    assert torch.equal(logits_m, logits_a)  # masks do not depend on the IoU head
    _, iou_0 = _decode_all(sam, image, masks, "reference")
    assert not torch.allclose(iou_0, iou_a)  # the base model is untouched and differs
    # A merged model no longer matches the fingerprint: no double application.
    with pytest.raises(AdaptorError, match="already merged"):
        adaptor.merge(merged)
    with pytest.warns(UserWarning, match="fingerprint"):
        adaptor.check(merged, strict=False)


def test_adaptor_refuses_other_models_and_bad_files(trained, tmp_path):
    _, adaptor = trained
    other = build_sam_from_spec(TEST_SPEC, seed=1)
    with pytest.raises(AdaptorError, match="tiny-test"):
        adaptor.attach(other)
    bigger = build_sam_from_spec(
        TEST_SPEC.__class__(**{**TEST_SPEC.to_dict(), "encoder_global_attn_indexes": (1,),
                               "iou_head_hidden_dim": 16}), seed=0)
    with pytest.raises(AdaptorError, match="16->4"):
        adaptor.attach(bigger)
    with pytest.raises(AdaptorError, match="not found"):
        load_adaptor(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(AdaptorError, match="junk.pt"):
        load_adaptor(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "ckpt.pt")
    with pytest.raises(AdaptorError, match="not an IoU-head adaptor"):
        load_adaptor(tmp_path / "ckpt.pt")


# --------------------------------------------------------------------------- file layouts and CLI


def _write_pairs(root, data):
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for k, (img, masks) in enumerate(data):
        Image.fromarray(img).save(root / "images" / f"im {k}.png")
        if k == 0:  # one mask: masks/<stem>.png
            Image.fromarray((masks[0] * 255).astype(np.uint8)).save(root / "masks" / "im 0.png")
        else:  # several: masks/<stem>/*.png
            (root / "masks" / f"im {k}").mkdir()
            for i, m in enumerate(masks):
                Image.fromarray((m * 255).astype(np.uint8)).save(
                    root / "masks" / f"im {k}" / f"{i}.png")


def test_folder_pair_and_list_file(tmp_path, data):
    _write_pairs(tmp_path, data[:3])
    pairs = pairs_from_folders(tmp_path / "images", tmp_path / "masks")
    assert [len(m) for _, m in pairs] == [1, len(data[1][1]), len(data[2][1])]
    lst = write_list(pairs, tmp_path / "pairs.tsv")
    assert pairs_from_list(lst) == [(p.resolve(), [m.resolve() for m in ms]) for p, ms in pairs]
    (tmp_path / "bad.tsv").write_text("# comment\n\nonly_an_image.png\n")
    with pytest.raises(InputError, match=r"bad.tsv:3"):
        pairs_from_list(tmp_path / "bad.tsv")
    Image.fromarray(data[3][0]).save(tmp_path / "images" / "orphan.png")
    with pytest.raises(InputError, match="orphan.png"):
        pairs_from_folders(tmp_path / "images", tmp_path / "masks")


def test_cli_adapt_then_refine_with_adaptor(tmp_path, data, capsys):
    _write_pairs(tmp_path, data[:3])
    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(build_sam_from_spec(TEST_SPEC, seed=0), TEST_SPEC, ckpt)
    out = tmp_path / "adaptor.pt"
    args = ["adapt", "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"),
            "--out", str(out), "--checkpoint", str(ckpt), "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    adaptor = load_adaptor(out)
    assert adaptor.base.spec == TEST_SPEC.to_dict() and adaptor.base.checkpoint == str(ckpt)
    log = (tmp_path / "adaptor_loss.csv").read_text().splitlines()
    assert log[0].startswith("step,epoch,masks,loss") and len(log) == 1 + adaptor.training["steps"]

    refine = ["refine", "--image", str(tmp_path / "images" / "im 1.png"),
              "--mask", str(tmp_path / "masks" / "im 1" / "0.png"), "--out",
              str(tmp_path / "out"), "--checkpoint", str(ckpt), "--device", "cpu",
              "--adaptor", str(out)]
    assert main(refine) == 0
    rec = json.loads((tmp_path / "out" / "result.json").read_text())
    assert rec["adaptor"] == str(out)
    sam = adaptor.merge(build_sam_from_spec(TEST_SPEC, seed=0))
    expected = SAMRefiner(sam, get_preset("paper")).refine(
        data[1][0], data[1][1][:1]).iou_predictions
    np.testing.assert_allclose(rec["iou_predictions"], expected, atol=1e-6)


def test_cli_adapt_errors(tmp_path, capsys):
    assert main(["adapt", "--out", str(tmp_path / "a.pt")]) == 2
    assert "--images DIR and --masks DIR, or --list FILE" in capsys.readouterr().err
    assert main(["adapt", "--list", str(tmp_path / "none.tsv"), "--out", "a.pt"]) == 2
    assert "--list: file not found" in capsys.readouterr().err
    (tmp_path / "ckpt.pt").write_bytes(b"x")
    assert main(["adapt", "--list", str(tmp_path / "none.tsv"), "--images", str(tmp_path),
                 "--out", "a.pt"]) == 2
    assert "not both" in capsys.readouterr().err


# --------------------------------------------------------------------------- experiment functions


def test_experiment_tables_are_labelled(sam):
    from samrefiner_lib.experiments.common import Settings, get_scale
    from samrefiner_lib.experiments.iou_adaption import run

    settings = Settings(scale=get_scale("smoke"), model="tiny-test", checkpoint=None,
                        data_root=None)
    res = run(SAMRefiner(sam, "paper"), settings, "synth_shifted")
    for df in (res.table, res.summary, res.loss, res.selection, res.probe, res.objective):
        assert {"model", "data", "preset"} <= set(df.columns)
        assert (df["model"] == "tiny-test").all()
        assert "scale=smoke" in df.attrs["label"]
    assert set(res.table["eval set"]) == {"held-out images", "adaption images"}
    assert set(res.table["method"]) == {"coarse masks", "SAMRefiner", "SAMRefiner++",
                                        "box only (training prompts)"}
    oracle = res.selection[res.selection["selector"] == "oracle (ground truth)"]
    assert (oracle["top-1"] == 100).all() and len(oracle) == 4
    assert len(res.loss) == res.adaptor.training["steps"] >= 4
    # The objective table's top-1 agrees with the adaption module's own scorer, before and after.
    refiner = SAMRefiner(sam, "paper")
    for _, row in res.objective.iterrows():
        samples = res.data.eval_sets[row["set"]]
        before = coarse_target_top1(refiner, samples)
        with res.adaptor.applied(refiner):
            after = coarse_target_top1(refiner, samples)
        assert row["masks"] == before.masks
        assert row["top-1 vs coarse target before"] == pytest.approx(100 * before.coarse_top1)
        assert row["top-1 vs coarse target after"] == pytest.approx(100 * after.coarse_top1)
        assert row["ranking loss before"] >= 0 and row["ranking loss after"] >= 0


def test_cli_refine_refuses_adaptor_of_another_model(tmp_path, scene, capsys):
    img, masks = scene
    Image.fromarray(img).save(tmp_path / "img.png")
    Image.fromarray((masks[0] * 255).astype(np.uint8)).save(tmp_path / "m.png")
    ckpt = tmp_path / "other.pt"
    save_checkpoint(build_sam_from_spec(TEST_SPEC, seed=1), TEST_SPEC, ckpt)
    IoUHeadAdaptor.create(build_sam_from_spec(TEST_SPEC, seed=0)).save(tmp_path / "a.pt")
    args = ["refine", "--image", str(tmp_path / "img.png"), "--mask", str(tmp_path / "m.png"),
            "--out", str(tmp_path / "out"), "--checkpoint", str(ckpt), "--device", "cpu",
            "--adaptor", str(tmp_path / "a.pt")]
    assert main(args) == 2
    assert "adaptor was trained on" in capsys.readouterr().err
