"""The ``reference`` preset reproduces the reference code: each of its behaviours, then the whole.

Hand-computed cases for every switch, FastGeodis itself when it is installed (optional), and an
emulation of the reference code's prompt pipeline written here the way that code works (whole
image maps, full similarity map, PyTorch resizing), against which the project's cropped and
strip-wise computations must agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from segment_anything.utils.transforms import ResizeLongestSide

from samrefiner_lib import SAMRefiner, get_preset
from samrefiner_lib.decoding import decode, encode_image, prompt_tensors, upsample_logits
from samrefiner_lib.distance import RASTER_UNREACHED, raster_distances
from samrefiner_lib.geometry import Frame, ModelGeometry
from samrefiner_lib.prompts import (
    MaskDistances,
    context_elastic_box,
    crop_weights,
    excavate_prompts,
    mask_bbox,
    mask_prompt_logits,
    negative_point,
    positive_point,
)
from samrefiner_lib.prompts.cebox import reference_embedding_size, valid_embedding_size

from .conftest import disk

S2 = np.float32(np.sqrt(2.0))

try:
    import FastGeodis
except ImportError:  # optional: the project never needs it at run time
    FastGeodis = None

needs_fastgeodis = pytest.mark.skipif(FastGeodis is None, reason="FastGeodis is not installed")


def fastgeodis_distances(binary: np.ndarray) -> np.ndarray:
    """The reference code's call: constant image, v=1e10, lamb=0, 2 iterations."""
    h, w = binary.shape
    mask = torch.from_numpy(np.ascontiguousarray(binary, dtype=np.float32))[None, None]
    return FastGeodis.generalised_geodesic2d(torch.ones(1, 1, h, w), mask, 1e10, 0.0, 2)[0, 0] \
        .numpy()


def blob(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random non-empty mask: a few disks and noise, sometimes touching the border."""
    m = np.zeros((h, w), bool)
    for _ in range(rng.integers(1, 4)):
        m |= disk(h, w, rng.uniform(0, h), rng.uniform(0, w),
                  rng.uniform(1, max(1.5, min(h, w) / 2.5)))
    m ^= rng.random((h, w)) < 0.03
    if not m.any():
        m[h // 2, w // 2] = True
    return m


# --- 1. distances --------------------------------------------------------------------------

def test_raster_distances_hand_computed():
    # One seed in a corner: straight steps of 1, diagonal steps of float32 sqrt(2).
    seed = np.ones((3, 3), bool)
    seed[0, 0] = False
    expect = np.array([[0, 1, 2], [1, S2, 1 + S2], [2, 1 + S2, S2 + S2]], np.float32)
    np.testing.assert_array_equal(raster_distances(seed), expect)
    # A 5x5 square in a 7x7 image: the chamfer distance of a square is the chessboard distance.
    sq = np.zeros((7, 7), bool)
    sq[1:6, 1:6] = True
    yy, xx = np.mgrid[:7, :7]
    ring = np.minimum(np.minimum(yy, 6 - yy), np.minimum(xx, 6 - xx))
    np.testing.assert_array_equal(raster_distances(sq), np.where(sq, ring, 0).astype(np.float32))
    # No zero pixel: nothing is reached; no pixel at all: an empty result.
    assert (raster_distances(np.ones((2, 4), bool)) == RASTER_UNREACHED).all()
    assert raster_distances(np.ones((0, 3), bool)).shape == (0, 3)
    with pytest.raises(ValueError, match="iterations"):
        raster_distances(sq, iterations=0)


def test_raster_maximum_differs_from_euclidean_where_octagons_differ_from_circles():
    # Background at (3, 0) and (4, 5) of a 5x6 image. Pixel (0, 3): Euclidean min(sqrt(18),
    # sqrt(20)) = 4.243, chamfer min(3 sqrt2, 4 + 2 (sqrt2 - 1)) = 4.243. Pixel (0, 4): Euclidean
    # min(5, sqrt(17)) = 4.123, chamfer min(4 + 3 (sqrt2 - 1), 3 + sqrt2) = 4.414.
    m = np.ones((5, 6), bool)
    m[3, 0] = m[4, 5] = False
    r = raster_distances(m)
    assert r[0, 3] == pytest.approx(3 * math.sqrt(2), abs=1e-5)
    assert r[0, 4] == pytest.approx(3 + math.sqrt(2), abs=1e-5)
    assert positive_point(m).tolist() == [3.0, 0.0]  # Euclidean maximum
    assert positive_point(m, MaskDistances.of(m, "raster2")).tolist() == [4.0, 0.0]


@needs_fastgeodis
def test_raster_distances_equal_fastgeodis_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        m = rng.random((h, w)) > rng.uniform(0.02, 0.9) if rng.random() < 0.5 else blob(h, w, rng)
        np.testing.assert_array_equal(raster_distances(m), fastgeodis_distances(m))


def _whole_image_distances(binary: np.ndarray) -> np.ndarray:
    return fastgeodis_distances(binary) if FastGeodis is not None else raster_distances(binary)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), h=st.integers(1, 48), w=st.integers(1, 48))
def test_cropped_raster_distances_equal_whole_image_ones(seed, h, w):
    """The crop (box plus ring) gives the whole image's values, so the same points."""
    m = blob(h, w, np.random.default_rng(seed))
    d = MaskDistances.of(m, "raster2")
    full = _whole_image_distances(m)
    np.testing.assert_array_equal(d.full(m.shape)[m], full[m].astype(np.float64))
    # The reference takes the first maximum of the whole image's map.
    iy, ix = np.argwhere(full == full.max())[0]
    assert positive_point(m, d).tolist() == [float(ix), float(iy)]


def test_raster_without_background_points_at_the_origin():
    m = np.ones((6, 9), bool)
    assert positive_point(m, MaskDistances.of(m, "raster2")).tolist() == [0.0, 0.0]
    assert positive_point(m).tolist() == [4.0, 3.0]  # exact: the image centre


# --- 2. negative point region ----------------------------------------------------------------

def test_negative_region_leaves_out_the_last_row_and_column():
    # Box rows 1..6, cols 1..6; its only background is a hole at (3, 3) and the last column.
    m = np.zeros((9, 9), bool)
    m[1:7, 1:7] = True
    m[3, 3] = False
    m[2:6, 6] = False  # in the box's last column: searched by "box", not by "reference"
    box = mask_bbox(m)
    assert box == (1, 1, 6, 6)
    for method in ("exact", "raster2"):
        assert negative_point(m, box, method, "box").tolist()[0] == 6.0
        assert negative_point(m, box, method, "reference").tolist() == [3.0, 3.0]


def test_negative_region_falls_back_to_the_origin():
    m = np.zeros((8, 8), bool)
    m[2:5, 2:6] = True
    m[4, 5] = False  # the only background pixel of the box: in its last row
    for method in ("exact", "raster2"):
        assert negative_point(m, None, method, "box").tolist() == [5.0, 4.0]
        assert negative_point(m, None, method, "reference").tolist() == [0.0, 0.0]
    line = np.zeros((5, 7), bool)
    line[2, 1:6] = True  # one row: the end-exclusive region is empty
    assert negative_point(line, None, "raster2", "reference").tolist() == [0.0, 0.0]
    assert negative_point(line) is None
    with pytest.raises(ValueError, match="negative_region"):
        negative_point(line, None, "exact", "inside")


def _reference_negative(m: np.ndarray) -> tuple[float, float]:
    """Whole-image inverted transform, zeroed outside [y0:y1, x0:x1], first maximum."""
    x0, y0, x1, y1 = mask_bbox(m)
    d = _whole_image_distances(~m)
    keep = np.zeros(m.shape, bool)
    keep[y0:y1, x0:x1] = True
    d = np.where(keep, d, 0)
    iy, ix = np.argwhere(d == d.max())[0]
    return float(ix), float(iy)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), h=st.integers(1, 48), w=st.integers(1, 48))
def test_reference_negative_point_equals_whole_image_search(seed, h, w):
    m = blob(h, w, np.random.default_rng(seed))
    assert tuple(negative_point(m, None, "raster2", "reference")) == _reference_negative(m)


# --- 3. CEBox rules --------------------------------------------------------------------------

def test_reference_embedding_size_rounds_down_from_the_original_size():
    assert reference_embedding_size((500, 333), (64, 64)) == (64, 42)
    assert valid_embedding_size((1024, 682), 1024, (64, 64)) == (64, 43)
    assert reference_embedding_size((375, 500), (64, 64)) == (48, 64)
    assert reference_embedding_size((100, 100), (16, 16)) == (16, 16)


def _uniform_features(c: int = 4, h: int = 8, w: int = 8) -> torch.Tensor:
    """Every cell the same vector: every pixel is similar, only the geometry rules decide."""
    return torch.ones(c, h, w)


@pytest.mark.parametrize(
    ("box", "expect_reference", "expect_clean"),
    [
        # steps 4.7 (x) and 2.0 (y): int(20 - 4.7) = 15 on the left, int(67 + 4.7) = 71.
        ((20, 30, 67, 50), (15, 28, 71, 52), (16, 28, 71, 52)),
        # int(5 - 4.7) = 0 reaches column 0 and int(3 - 4.7) = -1 leaves the image: no move;
        # the clean rules clip to 0.
        ((5, 30, 52, 50), (5, 28, 56, 52), (1, 28, 56, 52)),
        ((3, 30, 50, 50), (3, 28, 54, 52), (0, 28, 54, 52)),
        # On the right: int(115 + 4.7) = 119 < 120 moves, int(116 + 4.7) = 120 does not.
        ((68, 30, 115, 50), (63, 28, 119, 52), (64, 28, 119, 52)),
        ((69, 30, 116, 50), (64, 28, 116, 52), (65, 28, 119, 52)),
        # One pixel thin: the reference code leaves the box alone.
        ((20, 30, 67, 30), (20, 30, 67, 30), (16, 30, 71, 30)),
    ],
)
def test_cebox_reference_geometry(box, expect_reference, expect_clean):
    x0, y0, x1, y1 = box
    m = np.zeros((100, 120), bool)
    m[y0 : y1 + 1, x0 : x1 + 1] = True
    feats = _uniform_features()
    ref = context_elastic_box(m, feats, lam=0.1, rules="reference")
    clean = context_elastic_box(m, feats, lam=0.1, rules="clean")
    assert ref.box == expect_reference
    assert ref.expanded == (expect_reference != box)
    assert clean.box == expect_clean


def test_cebox_reference_lambda_zero_and_missed_query_mean_no_expansion():
    feats = _uniform_features()
    m = np.zeros((100, 120), bool)
    m[30:51, 20:68] = True
    assert not context_elastic_box(m, feats, lam=0.0, rules="reference").expanded
    assert context_elastic_box(m, feats, lam=0.0, rules="clean").expanded
    # Nearest sampling of 160 px onto 8 cells reads rows and columns 0, 20, 40...: a square on
    # rows and columns 2..17 is never read. The clean rules fall back to the cells it lies in.
    tiny = np.zeros((160, 160), bool)
    tiny[2:18, 2:18] = True
    assert not context_elastic_box(tiny, feats, lam=0.1, rules="reference").expanded
    assert context_elastic_box(tiny, feats, lam=0.1, rules="clean").expanded
    with pytest.raises(ValueError, match="cebox_rules"):
        context_elastic_box(m, feats, rules="paper")


def _object_features(h: int, w: int, seed: int, c: int = 6,
                     corner: tuple[int, int] | None = None) -> torch.Tensor:
    """Random cells, one direction on a rectangle of them (the object): CEBox has work to do.

    Arguments:
      h, w: embedding size.
      seed: random seed.
      c: channels.
      corner: top-left cell of the object (h // 2 + 1 by w // 2 + 1 cells); random if None.
    """
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(c, h, w, generator=g)
    r0, c0 = corner or (int(v) for v in torch.randint(0, max(h // 2, 1), (2,), generator=g))
    f[:, r0 : r0 + h // 2 + 1, c0 : c0 + w // 2 + 1] = 3.0 + 0.3 * torch.randn(
        c, 1, 1, generator=g)
    return f


def _reference_cebox(m: np.ndarray, emb: torch.Tensor, lam: float) -> tuple[tuple, bool]:
    """The reference code's CEBox: full similarity map of the sliced, upsampled embedding."""
    h, w = m.shape
    rh, rw = reference_embedding_size((h, w), tuple(emb.shape[-2:]))
    part = emb[None, :, :rh, :rw].double()
    up = F.interpolate(part, size=(h, w), mode="bilinear", align_corners=False)[0]
    up = up / up.norm(dim=0, keepdim=True)
    cells = F.interpolate(torch.from_numpy(m)[None, None].float(), size=(rh, rw),
                          mode="nearest")[0, 0]
    q = (part[0] * cells).sum(dim=(1, 2)) / cells.sum()
    sim = (torch.einsum("c,chw->hw", q / q.norm(), up) > 0.5).numpy()
    x1, y1, x2, y2 = mask_bbox(m)
    bh, bw = y2 - y1, x2 - x1
    out = [x1, y1, x2, y2]
    if bh > 0 and bw > 0 and lam > 0:
        sh, sw = min(bh * 0.1, 10), min(bw * 0.1, 10)

        def frac(strip):
            return np.float32(strip.sum()) / np.float32(strip.size) > np.float32(lam)

        t = int(x1 - sw)
        if 0 < t < x1 and frac(sim[y1:y2, t:x1]):
            out[0] = t
        t = int(x2 + sw)
        if x2 < t < w and frac(sim[y1:y2, x2:t]):
            out[2] = t
        t = int(y1 - sh)
        if 0 < t < y1 and frac(sim[t:y1, x1:x2]):
            out[1] = t
        t = int(y2 + sh)
        if y2 < t < h and frac(sim[y2:t, x1:x2]):
            out[3] = t
    return tuple(out), tuple(out) != (x1, y1, x2, y2)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), h=st.integers(16, 80), w=st.integers(16, 80),
       lam=st.sampled_from([0.05, 0.1, 0.3]))
def test_cebox_reference_rules_equal_the_full_similarity_map(seed, h, w, lam):
    rng = np.random.default_rng(seed)
    m = blob(h, w, rng)
    emb = _object_features(8, 8, seed)
    rh, rw = reference_embedding_size((h, w), (8, 8))
    res = context_elastic_box(m, emb[:, :rh, :rw], lam=lam, rules="reference")
    assert (res.box, res.expanded) == _reference_cebox(m, emb, lam)


# --- 4. amplitude of the last mask -------------------------------------------------------------

def test_amplitude_from_last_mask_applies_its_flag_to_every_mask():
    cells = np.zeros((16, 16), bool)
    cells[:, :12] = True
    feats = torch.randn(8, 16, 16, generator=torch.Generator().manual_seed(0))
    feats[0] = 0.0
    feats[:, torch.from_numpy(cells)] = 0.0
    feats[0, torch.from_numpy(cells)] = 5.0
    grows = np.zeros((128, 128), bool)
    grows[40:90, 30:60] = True  # inside a larger similar region: CEBox expands it
    stays = np.zeros((128, 128), bool)
    stays[100:120, 100:120] = True  # in the dissimilar corner
    frame = Frame.of(ModelGeometry(128, (16, 16), (64, 64)), (128, 128))
    cfg = get_preset("paper", expanded_mask_amplitude=1.0, cebox_lambda=0.3)

    def peaks(c, masks):
        p = excavate_prompts(np.stack(masks), c, frame, feats)
        return p.expanded.tolist(), np.abs(p.mask_logits).max(axis=(1, 2)).round(3).tolist()

    assert peaks(cfg, [grows, stays]) == ([True, False], [1.0, 15.0])  # per mask
    last = cfg.replace(amplitude_from_last_mask=True)
    assert peaks(last, [grows, stays]) == ([True, False], [15.0, 15.0])
    assert peaks(last, [stays, grows]) == ([False, True], [1.0, 1.0])


# --- 5. float details ----------------------------------------------------------------------

def _reference_mask_grid(masks: np.ndarray, gauss: np.ndarray, input_size, img_size, grid,
                         amplitudes: list[float]) -> np.ndarray:
    """The reference code's mask-input map: +-1 and the Gaussian resized by PyTorch."""
    sign = torch.from_numpy(np.where(masks, 1.0, -1.0).astype(np.float32))[:, None]
    g = torch.from_numpy(gauss.astype(np.float32))[:, None]
    sign = F.interpolate(sign, input_size, mode="bilinear", align_corners=False)
    g = F.interpolate(g, input_size, mode="bilinear", align_corners=False)
    pad = (0, img_size - input_size[1], 0, img_size - input_size[0])
    sign = F.interpolate(F.pad(sign, pad, "constant", -1), grid, mode="bilinear",
                         align_corners=False)
    g = F.interpolate(F.pad(g, pad, "constant", 0), grid, mode="bilinear", align_corners=False)
    amp = torch.tensor(amplitudes, dtype=torch.float32)[:, None, None, None]
    sign = torch.where(sign > 0, amp, -amp)
    g[g <= 0] = 1
    return (sign * g)[:, 0].numpy()


def _reference_gaussian(d: np.ndarray, m: np.ndarray, gamma: float) -> np.ndarray:
    dt = torch.from_numpy(d.astype(np.float32))
    spread = torch.from_numpy(m).to(torch.uint8).sum() / gamma
    spread = max(spread, 1)
    g = torch.exp(-(dt - dt.max()) * (dt - dt.max()) / spread)
    g[dt == 0] = 0
    return g.numpy()


def test_torch_backend_equals_pytorch_resizing_and_differs_from_opencv():
    rng = np.random.default_rng(5)
    differs = 0
    for h, w, img, grid in [(90, 120, 128, (32, 32)), (75, 53, 96, (24, 24)),
                            (61, 61, 64, (16, 16))]:
        frame = Frame.of(ModelGeometry(img, (grid[0] // 4, grid[1] // 4), grid), (h, w))
        for _ in range(4):
            m = blob(h, w, rng)
            d = MaskDistances.of(m, "raster2")
            weights, origin = crop_weights(m, "reference", 4.0, None, d, "torch")
            full = np.zeros(m.shape, np.float32)
            full[origin[1] : origin[1] + weights.shape[0],
                 origin[0] : origin[0] + weights.shape[1]] = weights
            np.testing.assert_array_equal(full, _reference_gaussian(raster_distances(m), m, 4.0))
            got = mask_prompt_logits(m, weights, 30.0, frame.input_size, img, grid, "reference",
                                     origin, "torch")
            expect = _reference_mask_grid(m[None], full[None], frame.input_size, img, grid,
                                          [30.0])[0]
            np.testing.assert_array_equal(got, expect)
            cv = mask_prompt_logits(m, weights, 30.0, frame.input_size, img, grid, "reference",
                                    origin, "opencv")
            differs += int(not np.array_equal(cv, got))
    assert differs > 0  # the backends are not interchangeable bit for bit
    with pytest.raises(ValueError, match="grid_mapping='reference'"):
        mask_prompt_logits(m, weights, 30.0, frame.input_size, img, grid, "area", origin, "torch")


def test_float32_coordinates_equal_sams_resize_transform():
    frame = Frame.of(ModelGeometry(1024, (64, 64), (256, 256)), (333, 500))
    rng = np.random.default_rng(0)
    pts = rng.integers(0, 333, (200, 2, 2)).astype(np.float64)
    boxes = rng.integers(0, 333, (200, 4)).astype(np.float64)
    t = ResizeLongestSide(1024)
    expect_pts = t.apply_coords_torch(torch.from_numpy(pts).long(), (333, 500))
    expect_boxes = t.apply_boxes_torch(torch.from_numpy(boxes).long(), (333, 500))
    assert torch.equal(frame.coords_to_input_float32(pts), expect_pts)
    assert torch.equal(frame.boxes_to_input_float32(boxes), expect_boxes)
    as64 = torch.as_tensor(frame.coords_to_input(pts), dtype=torch.float32)
    assert not torch.equal(as64, expect_pts)  # float64 scaling rounds differently somewhere


# --- configuration -----------------------------------------------------------------------------

REFERENCE_SWITCHES = {
    "distance": ("exact", "raster2"),
    "negative_region": ("box", "reference"),
    "cebox_rules": ("clean", "reference"),
    "amplitude_from_last_mask": (False, True),
    "resize_backend": ("opencv", "torch"),
    "coord_precision": ("float64", "float32"),
}


def test_presets_carry_the_switches():
    paper, reference, safe = (get_preset(n) for n in ("paper", "reference", "safe"))
    for name, (clean, ref) in REFERENCE_SWITCHES.items():
        assert getattr(paper, name) == clean
        assert getattr(safe, name) == clean
        assert getattr(reference, name) == ref
    assert "distance='raster2'" in paper.replace(distance="raster2").describe()


def test_bad_switch_values_raise():
    for name in ("distance", "negative_region", "cebox_rules", "resize_backend",
                 "coord_precision"):
        with pytest.raises(ValueError, match=name):
            get_preset("paper", **{name: "nonsense"})
    with pytest.raises(ValueError, match="grid_mapping='reference'"):
        get_preset("paper", resize_backend="torch")
    get_preset("paper", resize_backend="torch", grid_mapping="reference")


# --- the whole pipeline ----------------------------------------------------------------------

def reference_prompts(masks: np.ndarray, emb: torch.Tensor, frame: Frame, lam: float,
                      gamma: float = 4.0, strength: float = 30.0):
    """The reference code's prompts for N masks of one image, computed on whole-image maps.

    Returns:
      (points Nx2x2, labels Nx2, boxes Nx4, logits NxGhxGw), points and boxes already in the
      model's input frame (float32).
    """
    n, h, w = masks.shape
    pts, labels, boxes, expanded, gauss = [], [], [], [], []
    for m in masks:
        d = _whole_image_distances(m)
        iy, ix = np.argwhere(d == d.max())[0]
        pts.append([[ix, iy], list(_reference_negative(m))])
        labels.append([1, 0])
        box, grew = _reference_cebox(m, emb, lam) if lam > 0 else (mask_bbox(m), False)
        boxes.append(box)
        expanded.append(grew)
        gauss.append(_reference_gaussian(d, m, gamma))
    amp = 1.0 if expanded[-1] else strength  # the last mask decides for all
    logits = _reference_mask_grid(masks, np.stack(gauss), frame.input_size, frame.model.img_size,
                                  frame.model.mask_input_size, [amp] * n)
    t = ResizeLongestSide(frame.model.img_size)
    points = t.apply_coords_torch(torch.tensor(np.array(pts, np.int64)), frame.original_size)
    boxes = t.apply_boxes_torch(torch.tensor(np.array(boxes, np.int64)), frame.original_size)
    return points, torch.tensor(labels), boxes, logits


@pytest.mark.parametrize("size", [(90, 120), (100, 70)])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_reference_prompts_equal_an_emulation_of_the_reference_code(size, lam):
    h, w = size
    frame = Frame.of(ModelGeometry(128, (16, 16), (64, 64)), size)
    rng = np.random.default_rng(h + int(10 * lam))
    # The object covers cells 2..10; a mask well inside it grows under CEBox. It comes last
    # in one case (so every mask gets the expanded amplitude) and first in the other.
    emb = _object_features(16, 16, seed=h, corner=(2, 2))
    inner = np.zeros((h, w), bool)
    inner[30:50, 25:45] = True
    blobs = [blob(h, w, rng) for _ in range(4)]
    masks = np.stack(blobs + [inner] if h < w else [inner] + blobs)
    vh, vw = valid_embedding_size(frame.input_size, 128, (16, 16))
    cfg = get_preset("reference", use_cebox=lam > 0, cebox_lambda=lam)
    p = excavate_prompts(masks, cfg, frame, emb[:, :vh, :vw])
    (coords, lab), boxes, mask_in = prompt_tensors(p, frame, torch.device("cpu"))
    e_coords, e_lab, e_boxes, e_logits = reference_prompts(masks, emb, frame, lam)
    assert torch.equal(coords, e_coords)
    assert torch.equal(lab, e_lab)
    assert torch.equal(boxes, e_boxes)
    np.testing.assert_array_equal(mask_in[:, 0].numpy(), e_logits)
    if lam > 0:
        assert p.expanded.any()  # the case exercises CEBox


def test_reference_preset_refines_like_the_emulated_reference_loop(tiny_sam, scene):
    """Five iterations, each mask fed back: the refined masks equal the emulation's."""
    img, masks = scene
    masks = np.concatenate([masks, np.stack([ndimage.binary_dilation(masks[0], iterations=4)])])
    cfg = get_preset("reference", use_cebox=True, cebox_lambda=0.1)
    got = SAMRefiner(tiny_sam, cfg).refine(img, masks).masks
    emb = encode_image(tiny_sam, img)
    frame = emb.frame
    current = masks
    with torch.inference_mode():
        for _ in range(cfg.iterations):
            coords, lab, boxes, logits = reference_prompts(
                current, emb.features[0], frame, cfg.cebox_lambda)
            low, iou = decode(tiny_sam, emb.features, (coords, lab), boxes,
                              torch.from_numpy(logits)[:, None], True)
            best = low[torch.arange(len(current)), iou.argmax(dim=1)]
            current = (upsample_logits(best, frame) > tiny_sam.mask_threshold).numpy()
            assert all(m.any() for m in current)  # the emulation has no empty-mask rule
    np.testing.assert_array_equal(got, current)
