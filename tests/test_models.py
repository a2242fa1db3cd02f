"""Model loading: registry, checkpoints written by the tests, and every failure mode."""

from __future__ import annotations

import pytest
import torch

from samrefiner_lib.geometry import ModelGeometry
from samrefiner_lib.models import (
    TEST_SPEC,
    CheckpointError,
    ModelEntry,
    SamSpec,
    available_models,
    build_sam_from_spec,
    file_md5,
    load_sam,
    register_model,
    save_checkpoint,
)
from samrefiner_lib.models import registry as reg


@pytest.fixture()
def entry(tmp_path):
    """A registry entry for the tiny spec with an 'official' file name and checksum."""
    sam = build_sam_from_spec(TEST_SPEC, seed=1)
    path = tmp_path / "tiny_official.pth"
    torch.save(sam.state_dict(), path)
    e = ModelEntry("tiny_test", "tiny", TEST_SPEC, None, "tiny_official.pth", file_md5(path),
                   "http://127.0.0.1/tiny_official.pth")
    register_model(e, overwrite=True)
    yield e, path, sam
    reg._REGISTRY.pop("tiny_test", None)


def test_official_models_are_registered():
    names = available_models()
    assert {"vit_h", "vit_l", "vit_b"} <= set(names)
    assert names["vit_h"].md5 == "4b8939a88964f0f4ff5f5b2642c598a6"


def test_official_model_without_checkpoint_says_where_to_get_it():
    with pytest.raises(CheckpointError, match="dl.fbaipublicfiles.com.*--checkpoint"):
        load_sam("vit_b")


def test_loads_state_dict_and_verifies_md5(entry):
    e, path, sam = entry
    loaded = load_sam("tiny_test", path)
    for k, v in sam.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    assert ModelGeometry.of(loaded).img_size == TEST_SPEC.img_size


def test_md5_mismatch_is_reported(entry, tmp_path):
    e, path, sam = entry
    other = tmp_path / "x" / "tiny_official.pth"
    other.parent.mkdir()
    torch.save(build_sam_from_spec(TEST_SPEC, seed=2).state_dict(), other)
    with pytest.raises(CheckpointError, match="MD5"):
        load_sam("tiny_test", other)
    load_sam("tiny_test", other, verify_md5=False)


def test_missing_truncated_and_empty_files(entry, tmp_path):
    e, path, _ = entry
    with pytest.raises(CheckpointError, match="not found"):
        load_sam("tiny_test", tmp_path / "nope.pth", verify_md5=False)
    data = path.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_sam("tiny_test", cut)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_sam("tiny_test", empty)


def test_wrong_architecture_is_named(entry, tmp_path):
    other_spec = SamSpec(**{**TEST_SPEC.to_dict(), "encoder_embed_dim": 48,
                            "encoder_global_attn_indexes": (1,)})
    p = tmp_path / "other.pth"
    torch.save(build_sam_from_spec(other_spec).state_dict(), p)
    with pytest.raises(CheckpointError, match="does not fit architecture 'tiny_test'.*shape"):
        load_sam("tiny_test", p)


def test_project_checkpoint_carries_its_spec(tmp_path):
    sam = build_sam_from_spec(TEST_SPEC, seed=3)
    p = tmp_path / "own.pt"
    save_checkpoint(sam, TEST_SPEC, p, extra={"steps": 5})
    loaded = load_sam(checkpoint=p)
    assert torch.equal(loaded.mask_decoder.iou_token.weight, sam.mask_decoder.iou_token.weight)


def test_unknown_name():
    with pytest.raises(KeyError, match="available"):
        load_sam("vit_x")


@pytest.mark.slow
def test_real_vit_b_architecture_round_trip(tmp_path):
    """The official ViT-B architecture loads a state dict saved from itself; its checksum fails."""
    sam = build_sam_from_spec(available_models()["vit_b"].spec, seed=0)
    p = tmp_path / "sam_vit_b_01ec64.pth"
    torch.save(sam.state_dict(), p)
    with pytest.raises(CheckpointError, match="MD5"):
        load_sam("vit_b", p)
    loaded = load_sam("vit_b", p, verify_md5=False)
    assert ModelGeometry.of(loaded).embedding_size == (64, 64)
    assert ModelGeometry.of(loaded).mask_input_size == (256, 256)


def test_load_sam_checks_the_device(ckpt):
    from samrefiner_lib.io import InputError

    assert load_sam(checkpoint=ckpt, device="auto").pixel_mean.device.type in ("cpu", "cuda",
                                                                               "mps")
    with pytest.raises(InputError, match="not a device"):
        load_sam(checkpoint=ckpt, device="tpu9")
