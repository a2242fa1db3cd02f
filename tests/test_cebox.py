"""CEBox: containment, growth only where the similarity supports it, strip == full-map maths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from samrefiner_lib.prompts import context_elastic_box, mask_bbox, query_embedding, similarity_map
from samrefiner_lib.prompts.cebox import strip_similarity, valid_embedding_size


def _features(obj_cells: np.ndarray, c: int = 8, seed: int = 0) -> torch.Tensor:
    """Cxhxw features: one direction on the object's cells, random others elsewhere."""
    g = torch.Generator().manual_seed(seed)
    h, w = obj_cells.shape
    f = torch.randn(c, h, w, generator=g)
    f[0] = 0.0
    obj = torch.zeros(c)
    obj[0] = 1.0
    f[:, torch.from_numpy(obj_cells)] = obj[:, None] * 5.0
    return f


def _brute_force(mask, features, lam, thr, frac, cap, rounds):
    """CEBox from the full upsampled similarity map, as the reference code computes it."""
    sim = similarity_map(mask, features).numpy() > thr
    h, w = mask.shape
    x0, y0, x1, y1 = mask_bbox(mask)
    for _ in range(rounds):
        sw, sh = int(min(frac * (x1 - x0), cap)), int(min(frac * (y1 - y0), cap))
        new = [x0, y0, x1, y1]
        if sw >= 1 and x0 > 0 and sim[y0 : y1 + 1, max(x0 - sw, 0) : x0].mean() > lam:
            new[0] = max(x0 - sw, 0)
        right = sim[y0 : y1 + 1, x1 + 1 : min(x1 + sw, w - 1) + 1]
        if sw >= 1 and x1 < w - 1 and right.mean() > lam:
            new[2] = min(x1 + sw, w - 1)
        if sh >= 1 and y0 > 0 and sim[max(y0 - sh, 0) : y0, x0 : x1 + 1].mean() > lam:
            new[1] = max(y0 - sh, 0)
        below = sim[y1 + 1 : min(y1 + sh, h - 1) + 1, x0 : x1 + 1]
        if sh >= 1 and y1 < h - 1 and below.mean() > lam:
            new[3] = min(y1 + sh, h - 1)
        if tuple(new) == (x0, y0, x1, y1):
            break
        x0, y0, x1, y1 = new
    return x0, y0, x1, y1


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(20, 90),
    w=st.integers(20, 90),
    lam=st.sampled_from([0.0, 0.1, 0.3]),
    rounds=st.integers(1, 4),
)
def test_strip_computation_matches_full_map(seed, h, w, lam, rounds):
    rng = np.random.default_rng(seed)
    cells = rng.random((8, 8)) > 0.5
    feats = _features(cells, seed=seed)
    mask = np.zeros((h, w), bool)
    y0, x0 = rng.integers(0, h - 3), rng.integers(0, w - 3)
    mask[y0 : y0 + rng.integers(2, h - y0 + 1), x0 : x0 + rng.integers(2, w - x0 + 1)] = True
    res = context_elastic_box(mask, feats, lam=lam, rounds=rounds, step_cap=10)
    assert res.box == _brute_force(mask, feats, lam, 0.5, 0.1, 10, rounds)


def test_strip_similarity_equals_interpolated_map():
    feats = torch.randn(6, 7, 9, generator=torch.Generator().manual_seed(1))
    mask = np.zeros((50, 61), bool)
    mask[10:30, 20:40] = True
    full = similarity_map(mask, feats)
    q = query_embedding(mask, feats)
    rows, cols = np.arange(3, 17), np.array([0, 5, 60])
    part = strip_similarity(feats, q, rows, cols, mask.shape)
    np.testing.assert_allclose(part, full[np.ix_(rows, cols)].numpy(), atol=1e-5)


def test_grows_towards_similar_region_only():
    # Object occupies the left 3/4 of the image; the coarse mask only its middle.
    cells = np.zeros((16, 16), bool)
    cells[:, :12] = True
    feats = _features(cells)
    mask = np.zeros((128, 128), bool)
    mask[40:90, 30:60] = True
    res = context_elastic_box(mask, feats, lam=0.1, rounds=20)
    x0, y0, x1, y1 = res.box
    tx0, ty0, tx1, ty1 = res.tight_box
    assert res.expanded
    assert x0 < tx0 and y0 < ty0 and y1 > ty1 and x1 > tx1
    # It never runs into the dissimilar right quarter (cells 12..15 -> pixels >= 96) by more
    # than one strip width.
    assert x1 <= 96 + 10
    assert x0 >= 0 and y0 >= 0 and x1 <= 127 and y1 <= 127


def test_no_growth_without_similar_context():
    cells = np.zeros((16, 16), bool)
    cells[5:11, 5:11] = True
    feats = _features(cells)
    mask = np.zeros((128, 128), bool)
    mask[40:88, 40:88] = True  # exactly the object's cells
    res = context_elastic_box(mask, feats, lam=0.1, rounds=5)
    # Bilinear upsampling blurs the object's cells by half a cell (4 px) at most; the box may
    # take that half cell but must stop there.
    x0, y0, x1, y1 = res.box
    assert 36 <= x0 <= 40 and 36 <= y0 <= 40 and 87 <= x1 <= 91 and 87 <= y1 <= 91
    far = np.zeros((128, 128), bool)
    far[50:75, 50:75] = True  # deep inside: every strip is object-like
    assert context_elastic_box(far, feats, lam=0.1, rounds=1).expanded


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), rounds=st.integers(1, 5))
def test_contains_tight_box_and_stays_inside_image(seed, rounds):
    rng = np.random.default_rng(seed)
    feats = torch.from_numpy(rng.normal(size=(4, 5, 6)).astype(np.float32))
    mask = rng.random((33, 41)) > 0.7
    if not mask.any():
        return
    res = context_elastic_box(mask, feats, lam=0.0, rounds=rounds)
    x0, y0, x1, y1 = res.box
    tx0, ty0, tx1, ty1 = res.tight_box
    assert 0 <= x0 <= tx0 and 0 <= y0 <= ty0
    assert tx1 <= x1 <= 40 and ty1 <= y1 <= 32


def test_tiny_mask_query_falls_back_to_its_cells():
    feats = torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(0))
    mask = np.zeros((64, 64), bool)
    mask[3, 3] = True  # misses every nearest-sampled pixel (stride 8, offset 0)
    q = query_embedding(mask, feats)
    assert torch.allclose(q, feats[:, 0, 0])


def test_valid_embedding_size_rounds_up_partial_cells():
    assert valid_embedding_size((1024, 702), 1024, (64, 64)) == (64, 44)
    assert valid_embedding_size((256, 256), 256, (16, 16)) == (16, 16)


def test_bad_parameters_raise():
    mask = np.ones((10, 10), bool)
    feats = torch.randn(4, 2, 2)
    with pytest.raises(ValueError, match="rounds"):
        context_elastic_box(mask, feats, rounds=0)
    with pytest.raises(ValueError, match="lambda"):
        context_elastic_box(mask, feats, lam=1.5)
    with pytest.raises(ValueError, match="empty"):
        context_elastic_box(np.zeros((10, 10), bool), feats)


def test_amplitude_drops_only_for_the_expanded_mask():
    """The reference code's weaker mask prompt after expansion, applied per mask (not per call)."""
    from samrefiner_lib import get_preset
    from samrefiner_lib.geometry import Frame, ModelGeometry
    from samrefiner_lib.prompts import excavate_prompts

    cells = np.zeros((16, 16), bool)
    cells[:, :12] = True
    feats = _features(cells)
    grows = np.zeros((128, 128), bool)
    grows[40:90, 30:60] = True  # inside a larger similar region: CEBox expands
    stays = np.zeros((128, 128), bool)
    stays[100:120, 100:120] = True  # in the dissimilar corner
    frame = Frame.of(ModelGeometry(128, (16, 16), (64, 64)), (128, 128))
    cfg = get_preset("paper", expanded_mask_amplitude=1.0, cebox_lambda=0.3)
    p = excavate_prompts(np.stack([grows, stays]), cfg, frame, feats)
    assert p.expanded.tolist() == [True, False]
    assert np.abs(p.mask_logits[0]).max() <= 1.0 + 1e-5
    assert np.abs(p.mask_logits[1]).max() > 10.0
    assert get_preset("paper").expanded_mask_amplitude is None
