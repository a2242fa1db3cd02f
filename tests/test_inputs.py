"""Bad and unusual inputs: each works sensibly or fails with an error naming the input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samrefiner_lib import InputError, SAMRefiner, load_image, load_masks


@pytest.fixture()
def refiner(tiny_sam):
    return SAMRefiner(tiny_sam, "paper")


def _mask(h=90, w=120):
    m = np.zeros((h, w), bool)
    m[20:60, 30:80] = True
    return m


def test_empty_mask_is_skipped_not_crashed(refiner, scene):
    img, masks = scene
    res = refiner.refine(img, [masks[0], np.zeros_like(masks[0])])
    assert res.masks[1].sum() == 0
    assert res.selected[1] == -1 and np.isnan(res.scores[1])
    assert not res.prompts.valid[1]
    assert res.masks[0].any()


def test_zero_masks_in_the_list(refiner, scene):
    img, _ = scene
    res = refiner.refine(img, [])
    assert res.masks.shape == (0, 90, 120)
    assert res.iou_predictions.shape == (0, 3)


@pytest.mark.parametrize("kind", ["full", "pixel", "border"])
def test_degenerate_masks_work(refiner, scene, kind):
    img, _ = scene
    m = np.zeros((90, 120), bool)
    if kind == "full":
        m[:] = True
    elif kind == "pixel":
        m[45, 60] = True
    else:
        m[:30, 100:] = True
    res = refiner.refine(img, m)
    assert res.masks.shape == (1, 90, 120)
    assert res.selected[0] in (0, 1, 2)


def test_mask_size_mismatch_names_input(refiner, scene):
    img, _ = scene
    with pytest.raises(InputError, match=r"masks\[1\].*50x50.*90x120"):
        refiner.refine(img, [_mask(), np.zeros((50, 50), bool)])


def test_mask_value_conventions():
    m = _mask()
    for arr in (m, m.astype(np.uint8), m.astype(np.uint8) * 255, m.astype(np.float32),
                m[..., None].astype(np.uint8)):
        assert np.array_equal(load_masks(arr)[0], m)
    with pytest.raises(InputError, match=r"masks\[0\].*\{0, 1\} or \{0, 255\}"):
        load_masks(m.astype(np.uint8) * 7 + 1)
    bad = m.astype(np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        load_masks(bad)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        load_masks(m.astype(np.float32) * 3)
    with pytest.raises(InputError, match="2-D"):
        load_masks(np.zeros((2, 3, 4, 5)))


def test_masks_from_png_files(tmp_path, refiner, scene):
    img, masks = scene
    paths = []
    for i, m in enumerate(masks):
        p = tmp_path / f"m{i}.png"
        Image.fromarray((m * 255).astype(np.uint8)).save(p)
        paths.append(p)
    assert np.array_equal(load_masks(paths, img.shape[:2]), masks)
    res = refiner.refine(img, [str(p) for p in paths])
    assert res.masks.shape == masks.shape


@pytest.mark.parametrize("shape", [(90, 120), (90, 120, 1), (90, 120, 4)])
def test_image_channel_layouts(refiner, shape):
    img = np.full(shape, 100, np.uint8)
    assert load_image(img).shape == (90, 120, 3)
    assert refiner.refine(img, _mask()).masks.shape == (1, 90, 120)


def test_image_file_modes(tmp_path):
    for mode in ("L", "RGBA", "P", "RGB"):
        p = tmp_path / f"im_{mode}.png"
        Image.new(mode, (12, 7)).save(p)
        assert load_image(p).shape == (7, 12, 3)


def test_bad_images(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "missing.jpg")
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(InputError, match="cannot decode"):
        load_image(bad)
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        load_image(np.full((4, 4, 3), 2.0))
    with pytest.raises(InputError, match="mask, not an image"):
        load_image(np.zeros((4, 4), bool))


def test_embedding_for_another_image_is_refused(refiner, scene):
    img, masks = scene
    emb = refiner.encode(img[:50])
    with pytest.raises(InputError, match="embedding"):
        refiner.refine(img, masks, embedding=emb)
