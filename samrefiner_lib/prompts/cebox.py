"""Context-aware elastic box, CEBox (METHOD.md section 1.2).

A coarse mask that misses part of its object (false negatives) has a tight box that is too small,
and SAM will not segment outside a box. CEBox grows each side of the box where the strip just
outside it looks like the object, judged by the cosine similarity between SAM's image embedding
and the mean embedding of the coarse mask.

The reference code upsamples the whole CxHxW embedding to the image size to get the similarity
map (about 1 GB for a 1024 x 1024 image with C = 256). Here only the pixels of the strips being
tested are computed, with the same bilinear weights (PyTorch's ``align_corners=False``), so the
decisions are the same as with the full map (see :func:`similarity_map`, used by the tests).
Bilinear interpolation mixes at most a 2 x 2 block of embedding cells, so the cosine similarity of
an upsampled pixel only needs the query's dot product with each cell and the inner products of
neighbouring cells. :class:`SimilarityField` computes those once per image (five h x w maps);
after that a strip costs a few arithmetic operations per pixel, independent of C.

Differences from the reference code, all deliberate and documented:

* the valid (un-padded) part of the embedding has ``ceil(input_side * h / img_size)`` cells (the
  reference code rounds down and drops a partly filled row or column);
* a strip that would leave the image is clipped to it (the reference code refuses to expand a side
  whose strip touches column or row 0);
* strips span the whole side of the box, last row/column included;
* ``rounds`` > 1 repeats the check on the grown box (the paper's progressive expansion); the
  reference code does one check per refinement iteration.

``rules="reference"`` (``RefinerConfig.cebox_rules``) follows the reference code instead, for
reproducing it:

* the embedding part used has ``int(h_emb * W / H)`` columns (``H >= W``; rows likewise for
  ``H < W``), counted from the original image size (the caller slices it, see
  :func:`reference_embedding_size`), and the query's cells come from PyTorch's nearest resizing
  of the mask, with no fallback: a mask that misses every sampled cell has no query (NaN there)
  and so no expansion;
* strips span rows ``y0:y1`` / columns ``x0:x1`` end-exclusive, so the last row/column of the box
  is never tested; the right and bottom strips are ``x1:x1+step`` / ``y1:y1+step``, which
  include the box's own last column/row and stop one short of the new side;
* the new left/top side is ``int(x0 - step)`` (truncation of a fractional step gives one pixel
  more), the new right/bottom side ``int(x1 + step)``;
* a side is not moved when its new value would reach row/column 0 or the far edge (no clipping),
  nor when the box is one pixel thin;
* the fraction is compared with lambda in float32, and lambda = 0 means CEBox off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from .boxes import mask_bbox


def valid_embedding_size(
    input_size: tuple[int, int], img_size: int, embedding_size: tuple[int, int]
) -> tuple[int, int]:
    """Number of embedding rows and columns that cover real (un-padded) image pixels."""
    eh, ew = embedding_size
    return (
        min(eh, max(1, math.ceil(input_size[0] * eh / img_size))),
        min(ew, max(1, math.ceil(input_size[1] * ew / img_size))),
    )


CEBoxRules = Literal["clean", "reference"]

_CEBOX_RULES = ("clean", "reference")


def reference_embedding_size(
    original_size: tuple[int, int], embedding_size: tuple[int, int]
) -> tuple[int, int]:
    """Embedding rows and columns the reference code treats as the image: long side full,
    short side ``int(cells * short / long)`` from the original size (rounded down).

    The short side is kept at one cell at least: the reference code fails on images more
    elongated than the embedding is wide (it resizes to zero cells).

    Arguments:
      original_size: (H, W) of the image.
      embedding_size: (h, w) of the model's image embedding.

    Returns:
      (rows, cols)
    """
    h, w = original_size
    eh, ew = embedding_size
    if h >= w:
        return eh, max(1, int(eh * w / h))
    return max(1, int(ew * h / w)), ew


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    """Source index of each output cell for nearest resizing (PyTorch ``mode='nearest'``)."""
    return np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(np.int64), n_in - 1)


def _bilinear_taps(
    out_idx: np.ndarray, n_out: int, n_in: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two source cells and the weight of the second for 1-D bilinear resizing.

    Same sampling as PyTorch's ``interpolate(mode="bilinear", align_corners=False)`` resizing
    ``n_in`` cells to ``n_out`` pixels, evaluated only at the pixels ``out_idx``.

    Returns:
      (lo, hi, frac): int64 source indices and float32 weights; value = (1 - frac) * x[lo] +
      frac * x[hi].
    """
    src = (out_idx.astype(np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def _query_cells(mask: np.ndarray, vh: int, vw: int) -> np.ndarray:
    """Embedding cells whose nearest-resized mask value is 1 (vh x vw bool)."""
    h, w = mask.shape
    cells = mask[np.ix_(_nearest_index(vh, h), _nearest_index(vw, w))]
    if not cells.any():
        # A mask smaller than the sampling stride can miss every sampled pixel: fall back to
        # the cells its pixels fall into.
        ys, xs = np.nonzero(mask)
        cells = np.zeros((vh, vw), bool)
        cells[(ys * vh) // h, (xs * vw) // w] = True
    return cells


def query_embedding(mask: np.ndarray, features: torch.Tensor) -> torch.Tensor:
    """Mean embedding of the mask: the CEBox query vector.

    Arguments:
      mask: HxW bool, non-empty, at the original resolution.
      features: Cxhxw, the valid (un-padded) part of the image embedding.

    Returns:
      torch.Tensor: (C,) query vector.
    """
    cells = _query_cells(mask, *features.shape[-2:])
    sel = torch.from_numpy(cells).to(features.device)
    return features[:, sel].mean(dim=1)


class SimilarityField:
    """Per-image data for CEBox similarities: the embedding and its neighbour inner products.

    Arguments:
      features: Cxhxw valid (un-padded) part of the image embedding.
    """

    def __init__(self, features: torch.Tensor) -> None:
        self.features = features
        f = features.detach().double().cpu().numpy()
        h, w = f.shape[1:]
        self.shape = (h, w)
        # Inner products of each cell with its right (gx), lower (gy), lower-right (gd)
        # neighbours, and of the right and lower neighbours with each other (ga). Bilinear taps
        # collapse to one cell on the last row/column (hi == lo there), so those entries hold
        # the product the collapsed pair reduces to; then every lookup is a plain 2-D gather.
        sq = (f * f).sum(0)
        gx, gy = sq.copy(), sq.copy()
        gx[:, :-1] = (f[:, :, :-1] * f[:, :, 1:]).sum(0)
        gy[:-1, :] = (f[:, :-1, :] * f[:, 1:, :]).sum(0)
        gd, ga = gx.copy(), gx.copy()  # last row: only the horizontal pair remains
        gd[:, -1] = gy[:, -1]  # last column: only the vertical pair remains
        ga[:, -1] = gy[:, -1]
        gd[:-1, :-1] = (f[:, :-1, :-1] * f[:, 1:, 1:]).sum(0)
        ga[:-1, :-1] = (f[:, :-1, 1:] * f[:, 1:, :-1]).sum(0)
        self.sq, self.gx, self.gy, self.gd, self.ga = sq, gx, gy, gd, ga
        # Cells as contiguous rows (h*w x C): a query gathers whole rows, and the dot products
        # with the query run along contiguous memory.
        self._rows = np.ascontiguousarray(f.reshape(f.shape[0], -1).T)

    def query(self, mask: np.ndarray) -> torch.Tensor:
        """The CEBox query vector of a mask (see :func:`query_embedding`), in float64."""
        cells = _query_cells(mask, *self.shape)
        return torch.from_numpy(self._rows[cells.ravel()].mean(axis=0))

    def reference_query(self, mask: np.ndarray) -> torch.Tensor | None:
        """The query as the reference code forms it: cells of PyTorch's nearest resizing of the
        mask, no fallback; None when no cell is sampled (the reference's query is NaN then)."""
        sampled = F.interpolate(torch.from_numpy(mask)[None, None].float(), size=self.shape,
                                mode="nearest")[0, 0].numpy() > 0
        if not sampled.any():
            return None
        return torch.from_numpy(self._rows[sampled.ravel()].mean(axis=0))

    def prepare(self, query: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The query as float64 and its dot product with every cell (an h x w map)."""
        q = query.detach().double().cpu().numpy()
        # einsum's own loop, not BLAS: these products are small, and a BLAS thread pool that
        # shares the CPU with other work turns them from microseconds into milliseconds.
        return q, np.einsum("nc,c->n", self._rows, q).reshape(self.shape)

    def strip(self, query: torch.Tensor | tuple[np.ndarray, np.ndarray], rows: np.ndarray,
              cols: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """Cosine similarity of ``query`` and the upsampled embedding on a grid of pixels.

        Arguments:
          query: (C,) query vector, or the output of :meth:`prepare` for it.
          rows, cols: pixel row and column indices (original image).
          image_size: (H, W) of the original image.

        Returns:
          np.ndarray: len(rows) x len(cols) float64 cosine similarities.
        """
        h, w = self.shape
        q, qf = self.prepare(query) if isinstance(query, torch.Tensor) else query
        ty = _bilinear_taps(rows, image_size[0], h)
        tx = _bilinear_taps(cols, image_size[1], w)
        # Interpolate along the strip's short side first (a strip is a few pixels wide), then
        # each pixel needs three lookups along the long side.
        if len(cols) <= len(rows):
            dots, norm2 = _separable(qf, self.sq, self.gx, self.gy, self.gd, self.ga, ty, tx)
        else:
            dots, norm2 = _separable(qf.T, self.sq.T, self.gy.T, self.gx.T, self.gd.T,
                                     self.ga.T, tx, ty)
            dots, norm2 = dots.T, norm2.T
        norms = np.sqrt(np.maximum(norm2, 0.0)) * np.linalg.norm(q)
        return dots / np.maximum(norms, 1e-12)


def _separable(qf: np.ndarray, sq: np.ndarray, g_short: np.ndarray, g_long: np.ndarray,
               gd: np.ndarray, ga: np.ndarray, long_taps: tuple, short_taps: tuple
               ) -> tuple[np.ndarray, np.ndarray]:
    """Dot products with the query and squared norms of bilinearly upsampled cells.

    Maps are indexed [long-axis cell, short-axis cell]: ``qf`` the query's dot product with
    each cell, ``sq`` each cell's squared norm, ``g_short`` / ``g_long`` the inner product with
    the next cell along the short / long axis, ``gd`` and ``ga`` the two diagonal pairs of a
    2 x 2 block. First each short-axis pixel interpolates every long-axis cell row (c, A, B:
    its dot product, squared norm and inner product with the next row), then each pixel mixes
    two rows.

    Returns:
      (dots, squared norms), both n_long x n_short.
    """
    slo, shi, sf = short_taps
    llo, lhi, lf = long_taps
    sf = sf.astype(np.float64)
    s0, s1 = (1 - sf), sf
    c = s0 * qf[:, slo] + s1 * qf[:, shi]
    a = s0 * s0 * sq[:, slo] + s1 * s1 * sq[:, shi] + 2 * s0 * s1 * g_short[:, slo]
    b = (s0 * s0 * g_long[:, slo] + s1 * s1 * g_long[:, shi]
         + s0 * s1 * (gd[:, slo] + ga[:, slo]))
    l1 = lf.astype(np.float64)[:, None]
    l0 = 1 - l1
    dots = l0 * c[llo] + l1 * c[lhi]
    norm2 = l0 * l0 * a[llo] + l1 * l1 * a[lhi] + 2 * l0 * l1 * b[llo]
    return dots, norm2


def strip_similarity(
    features: torch.Tensor | SimilarityField,
    query: torch.Tensor,
    rows: np.ndarray,
    cols: np.ndarray,
    image_size: tuple[int, int],
) -> np.ndarray:
    """Cosine similarity between ``query`` and the upsampled embedding on a grid of pixels.

    Arguments:
      features: Cxhxw valid part of the image embedding, or its :class:`SimilarityField`.
      query: (C,) query vector.
      rows, cols: pixel row and column indices (original image) of the strip.
      image_size: (H, W) of the original image.

    Returns:
      np.ndarray: len(rows) x len(cols) cosine similarities.
    """
    field = features if isinstance(features, SimilarityField) else SimilarityField(features)
    return field.strip(query, rows, cols, image_size)


def similarity_map(mask: np.ndarray, features: torch.Tensor) -> torch.Tensor:
    """The full HxW cosine-similarity map, computed as the reference code does (for tests/plots).

    It upsamples the whole embedding; use it on small images only.
    """
    h, w = mask.shape
    query = query_embedding(mask, features)
    up = torch.nn.functional.interpolate(
        features[None], size=(h, w), mode="bilinear", align_corners=False
    )[0]
    up = up / up.norm(dim=0, keepdim=True).clamp_min(1e-12)
    return torch.einsum("c,chw->hw", query / query.norm(), up)


@dataclass(frozen=True)
class CEBoxResult:
    """Outcome of CEBox for one mask.

    Attributes:
      box: the final box (x0, y0, x1, y1), inclusive pixel indices.
      tight_box: the tight box it started from.
      expanded: whether any side moved.
      rounds: number of rounds in which at least one side moved.
    """

    box: tuple[int, int, int, int]
    tight_box: tuple[int, int, int, int]
    expanded: bool
    rounds: int


def context_elastic_box(
    mask: np.ndarray,
    features: torch.Tensor | SimilarityField,
    lam: float = 0.1,
    sim_threshold: float = 0.5,
    step_fraction: float = 0.1,
    step_cap: float = 10.0,
    rounds: int = 1,
    query: torch.Tensor | None = None,
    rules: CEBoxRules = "clean",
) -> CEBoxResult:
    """Grow the tight box of ``mask`` towards image regions similar to the mask.

    For each side, the strip just outside it (width ``min(step_fraction * side length,
    step_cap)`` pixels, truncated to an integer) is tested: if the fraction of its pixels whose
    similarity exceeds ``sim_threshold`` is greater than ``lam``, the side moves out by the strip
    width. This repeats on the grown box for up to ``rounds`` rounds, stopping early when no side
    moves.

    Arguments:
      mask: HxW bool, non-empty, original resolution.
      features: Cxhxw valid (un-padded) part of the image embedding
        (see :func:`valid_embedding_size`), or its :class:`SimilarityField` (compute that once
        per image when boxing several masks).
      lam: fraction of similar pixels a strip needs (strictly more) to be taken.
      sim_threshold: cosine similarity above which a pixel counts as similar.
      step_fraction, step_cap: strip width = min(step_fraction * side length, step_cap) pixels.
      rounds: maximum number of expansion rounds (>= 1).
      query: precomputed query vector (C,); computed from the mask when omitted.
      rules: ``"clean"`` (this project's) or ``"reference"`` (the reference code's; then
        ``features`` must be the part :func:`reference_embedding_size` gives).

    Returns:
      CEBoxResult
    """
    if rounds < 1:
        raise ValueError(f"CEBox rounds must be >= 1, got {rounds}")
    if lam < 0 or lam >= 1:
        raise ValueError(f"CEBox lambda must lie in [0, 1), got {lam}")
    tight = mask_bbox(mask)
    if tight is None:
        raise ValueError("context_elastic_box: the mask is empty")
    if rules not in _CEBOX_RULES:
        raise ValueError(f"cebox_rules must be one of {_CEBOX_RULES}, got {rules!r}")
    h, w = mask.shape
    field = features if isinstance(features, SimilarityField) else SimilarityField(features)
    if rules == "reference":
        return _reference_cebox(mask, field, tight, lam, sim_threshold, step_fraction,
                                step_cap, rounds, query)
    q = field.prepare(query if query is not None else field.query(mask))
    x0, y0, x1, y1 = tight
    moved_rounds = 0
    for _ in range(rounds):
        step_w = int(min(step_fraction * (x1 - x0), step_cap))
        step_h = int(min(step_fraction * (y1 - y0), step_cap))
        rows_box = np.arange(y0, y1 + 1)
        cols_box = np.arange(x0, x1 + 1)
        strips = {
            "left": (rows_box, np.arange(max(x0 - step_w, 0), x0)),
            "right": (rows_box, np.arange(x1 + 1, min(x1 + step_w, w - 1) + 1)),
            "top": (np.arange(max(y0 - step_h, 0), y0), cols_box),
            "bottom": (np.arange(y1 + 1, min(y1 + step_h, h - 1) + 1), cols_box),
        }
        take = {}
        for side, (rows, cols) in strips.items():
            step = step_w if side in ("left", "right") else step_h
            if step < 1 or rows.size == 0 or cols.size == 0:
                take[side] = False
                continue
            sim = field.strip(q, rows, cols, (h, w))
            frac = float((sim > sim_threshold).mean())
            take[side] = frac > lam
        if not any(take.values()):
            break
        moved_rounds += 1
        if take["left"]:
            x0 = int(strips["left"][1][0])
        if take["right"]:
            x1 = int(strips["right"][1][-1])
        if take["top"]:
            y0 = int(strips["top"][0][0])
        if take["bottom"]:
            y1 = int(strips["bottom"][0][-1])
    box = (x0, y0, x1, y1)
    return CEBoxResult(box=box, tight_box=tight, expanded=box != tight, rounds=moved_rounds)


def _reference_cebox(
    mask: np.ndarray,
    field: SimilarityField,
    tight: tuple[int, int, int, int],
    lam: float,
    sim_threshold: float,
    step_fraction: float,
    step_cap: float,
    rounds: int,
    query: torch.Tensor | None,
) -> CEBoxResult:
    """CEBox with the reference code's rules (see the module docstring).

    Arguments: as :func:`context_elastic_box`, with ``tight`` the mask's tight box.

    Returns:
      CEBoxResult
    """
    unchanged = CEBoxResult(box=tight, tight_box=tight, expanded=False, rounds=0)
    if lam <= 0:
        return unchanged  # the reference code's "margin 0": CEBox off
    if query is None:
        query = field.reference_query(mask)
        if query is None:
            return unchanged  # NaN query: no pixel compares as similar
    q = field.prepare(query)
    h, w = mask.shape
    lam32 = np.float32(lam)

    def similar(rows: np.ndarray, cols: np.ndarray) -> bool:
        sim = field.strip(q, rows, cols, (h, w))
        # The reference divides tensors: float32 count / float32 area against float32 lambda.
        return bool(np.float32(np.count_nonzero(sim > sim_threshold)) / np.float32(sim.size)
                    > lam32)

    x0, y0, x1, y1 = tight
    moved_rounds = 0
    for _ in range(rounds):
        box_h, box_w = y1 - y0, x1 - x0
        if box_h <= 0 or box_w <= 0:
            break
        # Python floats and int() truncation, as there: int(x0 - 4.5) is x0 - 5.
        step_h = min(box_h * step_fraction, step_cap)
        step_w = min(box_w * step_fraction, step_cap)
        new = [x0, y0, x1, y1]
        left, right = int(x0 - step_w), int(x1 + step_w)
        top, bottom = int(y0 - step_h), int(y1 + step_h)
        rows_in, cols_in = np.arange(y0, y1), np.arange(x0, x1)
        if 0 < left < x0 and similar(rows_in, np.arange(left, x0)):
            new[0] = left
        if x1 < right < w and similar(rows_in, np.arange(x1, right)):
            new[2] = right
        if 0 < top < y0 and similar(np.arange(top, y0), cols_in):
            new[1] = top
        if y1 < bottom < h and similar(np.arange(y1, bottom), cols_in):
            new[3] = bottom
        if tuple(new) == (x0, y0, x1, y1):
            break
        moved_rounds += 1
        x0, y0, x1, y1 = new
    box = (x0, y0, x1, y1)
    return CEBoxResult(box=box, tight_box=tight, expanded=box != tight, rounds=moved_rounds)
