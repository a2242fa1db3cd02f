"""DAVIS-585-style coarse masks: ground truth with simulated annotation defects.

FocalClick (Chen et al., CVPR 2022) built the DAVIS-585 benchmark's initial masks by corrupting
the ground truth with three kinds of defect, drawn with probabilities 0.65 / 0.25 / 0.10, and kept
a corrupted mask only when its IoU with the ground truth lies in [0.75, 0.85]. SAMRefiner reports
its DAVIS-585 numbers on those masks. This module reproduces the protocol on any ground truth.

How one coarse mask is made (one *attempt*):

1. Draw a target IoU ``t`` uniformly in ``iou_range``.
2. Repeat until the IoU is at most ``iou_range[1]`` (at most ``max_defects`` times): draw a defect
   type with probabilities (``p_boundary``, ``p_false_positive``, ``p_false_negative``), and a
   size: the defect should lower the IoU by a share ``s ~ U(defect_share)`` of ``1 - t``, but not
   below ``t``. The size is converted into a pixel count from the current intersection and union.
   If the measured IoU of the defect falls below ``iou_range[0]``, the defect is discarded and
   drawn again, half as large (up to 3 tries, then that step changes nothing).
3. Accept the attempt when its IoU lies in ``iou_range``; otherwise start again from the ground
   truth, up to ``max_attempts`` attempts, and return the attempt closest to the range with
   ``in_range=False``.

The three defects (all sizes in pixels, ``S = sqrt(|gt|)`` the object's scale):

- ``"boundary"`` (boundary error), one of two kinds:

  * with probability ``1 - p_outline``, a stretch of the current outline is pushed outwards (a
    bump, a false positive band) or inwards (a dent, a false negative band), 50/50. Around a
    random boundary pixel ``p``, pixels within the depth profile
    ``D * (1 - (r / L)^2) * (1 + roughness * noise)`` of the outline are added (outside) or
    removed (inside), ``r`` the distance to ``p`` and ``noise`` smooth noise in [-1, 1].
    ``L / D ~ U(2, 6)`` makes bumps wider than deep, and their area ``~4 L D / 3`` matches the
    requested size. Dents are at most 0.8x the object's largest inscribed radius deep, so one
    dent does not cut the object in two;
  * with probability ``p_outline``, the whole outline wobbles: a smooth noise field (features
    about ``0.3 S`` apart) moves every stretch of the outline outwards where it is positive and
    inwards where it is negative, by up to ``A * |noise|`` pixels, ``A`` chosen so that about
    the requested number of pixels flip (half added, half removed), like a sloppy annotation.
- ``"false_positive"`` (external false positive): an irregular blob (lumpy ellipse, aspect
  1-2.5, random orientation) centred just outside a random boundary pixel along the outward
  normal. It overlaps the object (attached, like a leak into the background) with probability
  ``1 - p_detached``, otherwise it sits a short gap away (a separate nearby false detection).
  Only pixels outside the ground truth are added.
- ``"false_negative"`` (internal false negative): an irregular blob centred on an interior pixel
  (drawn with weight ``distance_to_background^2``, so mostly deep inside) is removed: a hole when
  it is smaller than the local thickness, a chunk bitten off the object otherwise.

Deviations from FocalClick, as far as known: FocalClick's released ``init_sp`` masks were made with
image superpixels (the name and the paper's description), so its defects follow image edges;
these simulators see only the mask, so the defect outlines are smooth random shapes. The exact
defect sizes and the number of defects per mask are not documented by FocalClick; the choices
here (``defect_share``, ``max_defects``) are this project's.

Small and degenerate masks: with very few pixels the reachable IoUs are coarse (a 1-pixel object
gives 1.0 unchanged, at most 0.5 otherwise), so the range may be unreachable; the call then
returns the attempt closest to the range with ``in_range=False``, which can be the ground truth
itself. Objects covering the whole image have no outline and no background: only internal false
negatives can be placed, the other drawn types leave the mask unchanged at that step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._morphology import (
    distance_inside,
    inner_boundary,
    irregular_blob,
    mask_box,
    signed_distance,
    smooth_noise,
    window,
)
from ._validation import (
    RngLike,
    as_generator,
    check_count,
    check_interval,
    check_mask,
    check_number,
)

BOUNDARY = "boundary"
FALSE_POSITIVE = "false_positive"
FALSE_NEGATIVE = "false_negative"
DEFECT_TYPES: tuple[str, str, str] = (BOUNDARY, FALSE_POSITIVE, FALSE_NEGATIVE)

# A defect that overshoots below the IoU range is redrawn this many times, halving its size.
_TRIES_PER_DEFECT = 3


@dataclass(frozen=True)
class DefectInfo:
    """What :func:`davis585_coarse_mask` did to the ground truth.

    Attributes:
      defect_types: the defects applied to the returned mask, in order (values of
        ``DEFECT_TYPES``: ``"boundary"``, ``"false_positive"``, ``"false_negative"``).
      iou: IoU of the returned mask with the ground truth.
      attempts: number of attempts made (1 when the first attempt landed in the range).
      in_range: whether ``iou`` lies in the requested IoU range.
      target_iou: the target IoU drawn for the returned attempt.
    """

    defect_types: tuple[str, ...]
    iou: float
    attempts: int
    in_range: bool
    target_iou: float

    def counts(self) -> dict[str, int]:
        """Number of applied defects of each type, keyed by every name in ``DEFECT_TYPES``."""
        return {kind: self.defect_types.count(kind) for kind in DEFECT_TYPES}


@dataclass
class _State:
    """One attempt in progress, on the crop around the object."""

    coarse: np.ndarray  # hxw bool, modified in place
    gt: np.ndarray  # hxw bool, never modified
    inter: int
    union: int

    @property
    def iou(self) -> float:
        return self.inter / self.union

    def trial(self, rows: slice, cols: slice, new: np.ndarray) -> tuple[int, int]:
        """Intersection and union if the window (rows, cols) were replaced by ``new``."""
        old, g = self.coarse[rows, cols], self.gt[rows, cols]
        inter = self.inter - np.count_nonzero(old & g) + np.count_nonzero(new & g)
        union = self.union - np.count_nonzero(old | g) + np.count_nonzero(new | g)
        return int(inter), int(union)


def davis585_coarse_mask(
    gt: np.ndarray,
    rng: RngLike,
    iou_range: tuple[float, float] = (0.75, 0.85),
    p_boundary: float = 0.65,
    p_false_positive: float = 0.25,
    p_false_negative: float = 0.10,
    max_attempts: int = 10,
    max_defects: int = 12,
    defect_share: tuple[float, float] = (0.2, 0.6),
    roughness: float = 0.3,
    p_detached: float = 0.2,
    p_outline: float = 0.3,
) -> tuple[np.ndarray, DefectInfo]:
    """Simulate a DAVIS-585 initial mask from a ground-truth mask (see the module docstring).

    Arguments:
      gt: HxW bool ground-truth mask, not empty.
      rng: int seed or numpy Generator (the only source of randomness).
      iou_range: (low, high) accepted IoU with ``gt``, 0 < low <= high < 1.
      p_boundary: probability that a defect is a boundary error.
      p_false_positive: probability that a defect is an external false positive.
      p_false_negative: probability that a defect is an internal false negative. The three
        probabilities must be non-negative with a positive sum; they are normalised to sum 1.
      max_attempts: attempts before giving up and returning the closest one.
      max_defects: most defects per attempt.
      defect_share: (lo, hi) range of the share of the IoU drop ``1 - target`` that one defect
        takes (defect strength); smaller values give more, smaller defects per mask.
      roughness: amplitude of the outline noise of every defect (0 gives smooth shapes).
      p_detached: probability that a false-positive blob is separated from the object by a gap.
      p_outline: probability that a boundary error perturbs the whole outline instead of one
        stretch of it.

    Returns:
      (coarse, info): coarse is a new HxW bool mask, info a :class:`DefectInfo`.
    """
    gt = check_mask(gt, "gt")
    generator = as_generator(rng)
    low, high = check_interval(iou_range, "iou_range", 0.0, 1.0, open_ends=True)
    probs = np.array(
        [
            check_number(p_boundary, "p_boundary", 0.0),
            check_number(p_false_positive, "p_false_positive", 0.0),
            check_number(p_false_negative, "p_false_negative", 0.0),
        ]
    )
    if probs.sum() <= 0:
        raise ValueError("p_boundary + p_false_positive + p_false_negative must be positive")
    cumulative = np.cumsum(probs / probs.sum())
    cumulative[-1] = 1.0  # so that a uniform draw in [0, 1) always picks a type
    max_attempts = check_count(max_attempts, "max_attempts")
    max_defects = check_count(max_defects, "max_defects", minimum=0)
    share = check_interval(defect_share, "defect_share", 0.0, 1.0)
    if share[0] <= 0:
        raise ValueError(f"defect_share must be > 0, got {defect_share!r}")
    roughness = check_number(roughness, "roughness", 0.0, 1.0)
    p_detached = check_number(p_detached, "p_detached", 0.0, 1.0)
    p_outline = check_number(p_outline, "p_outline", 0.0, 1.0)

    # Work on the object's box plus a margin that holds nearly every defect: the reach of the
    # largest false-positive blob grows like sqrt(area / low - area), about 1.1 S at low = 0.75.
    area = int(np.count_nonzero(gt))
    scale = float(np.sqrt(area))
    y0, x0, y1, x1 = mask_box(gt)
    pad = int(np.ceil(2.0 * scale * np.sqrt(1.0 / low - 1.0))) + 3
    cy0, cx0 = max(y0 - pad, 0), max(x0 - pad, 0)
    cy1, cx1 = min(y1 + pad, gt.shape[0]), min(x1 + pad, gt.shape[1])
    g = gt[cy0:cy1, cx0:cx1]
    inscribed = float(distance_inside(g).max())

    best: tuple[float, np.ndarray, tuple[str, ...], float, float] | None = None
    attempts = 0
    while attempts < max_attempts:
        attempts += 1
        target = float(generator.uniform(low, high))
        state = _State(g.copy(), g, area, area)
        applied: list[str] = []
        for _ in range(max_defects):
            if state.iou <= high:
                break
            kind = DEFECT_TYPES[int(np.searchsorted(cumulative, generator.random(), "right"))]
            drop = generator.uniform(*share) * (1.0 - target)
            desired = max(target, state.iou - drop)
            for _ in range(_TRIES_PER_DEFECT):
                change = _make_defect(
                    kind,
                    state,
                    desired,
                    generator,
                    scale,
                    inscribed,
                    roughness,
                    p_detached,
                    p_outline,
                )
                if change is None:
                    continue
                rows, cols, new = change
                inter, union = state.trial(rows, cols, new)
                if inter / union < low:
                    desired = state.iou - 0.5 * (state.iou - desired)
                    continue
                if (inter, union) == (state.inter, state.union) and np.array_equal(
                    new, state.coarse[rows, cols]
                ):
                    continue
                state.coarse[rows, cols] = new
                state.inter, state.union = inter, union
                applied.append(kind)
                break
        iou = state.iou
        distance = max(low - iou, iou - high, 0.0)
        if best is None or distance < best[0]:
            best = (distance, state.coarse, tuple(applied), iou, target)
        if distance == 0.0:
            break

    assert best is not None
    distance, crop, applied_types, iou, target = best
    coarse = np.zeros_like(gt)
    coarse[cy0:cy1, cx0:cx1] = crop
    info = DefectInfo(applied_types, float(iou), attempts, distance == 0.0, target)
    return coarse, info


def _make_defect(
    kind: str,
    state: _State,
    desired: float,
    rng: np.random.Generator,
    scale: float,
    inscribed: float,
    roughness: float,
    p_detached: float,
    p_outline: float,
) -> tuple[slice, slice, np.ndarray] | None:
    """Propose one defect bringing the IoU towards ``desired``: (rows, cols, new window)."""
    # Pixels to add (outside the object) or remove (inside) so that the IoU reaches `desired`.
    to_add = max(state.inter / desired - state.union, 1.0)
    to_remove = max(state.inter - desired * state.union, 1.0)
    if kind == BOUNDARY:
        if rng.random() < p_outline:
            # Equal parts added and removed: m pixels each give (I - m) / (U + m) = desired.
            flipped = 2.0 * max((state.inter - desired * state.union) / (1.0 + desired), 1.0)
            return _outline_error(state, flipped, rng, scale)
        outward = bool(rng.random() < 0.5)
        return _boundary_error(
            state, to_add if outward else to_remove, outward, rng, inscribed, roughness
        )
    if kind == FALSE_POSITIVE:
        return _false_positive(state, to_add, rng, roughness, p_detached)
    return _false_negative(state, to_remove, rng, roughness)


def _random_boundary_pixel(mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    edge = np.flatnonzero(inner_boundary(mask))
    if edge.size == 0:
        return None
    y, x = np.unravel_index(edge[rng.integers(edge.size)], mask.shape)
    return int(y), int(x)


def _boundary_error(
    state: _State,
    pixels: float,
    outward: bool,
    rng: np.random.Generator,
    inscribed: float,
    roughness: float,
) -> tuple[slice, slice, np.ndarray] | None:
    """Bump (outward) or dent (inward) of about ``pixels`` pixels on the current outline."""
    start = _random_boundary_pixel(state.coarse, rng)
    if start is None:
        return None
    py, px = start
    ratio = rng.uniform(2.0, 6.0)
    depth = max(np.sqrt(0.75 * pixels / ratio), 1.5)
    if not outward:
        depth = min(depth, max(0.8 * inscribed, 1.0))
    length = max(ratio * depth, 1.5)
    rows, cols, wy0, wx0 = window(py, px, length + 2.0 * depth + 2.0, state.coarse.shape)
    current = state.coarse[rows, cols]
    h, w = current.shape
    yy, xx = np.mgrid[wy0 : wy0 + h, wx0 : wx0 + w]
    taper = np.clip(1.0 - ((yy - py) ** 2 + (xx - px) ** 2) / length**2, 0.0, 1.0)
    profile = depth * taper * (1.0 + roughness * smooth_noise((h, w), 6.0, rng))
    if outward:
        distance = distance_inside(~current)
        return rows, cols, current | ((distance > 0) & (distance <= profile))
    distance = distance_inside(current)
    return rows, cols, current & ~((distance > 0) & (distance <= profile))


def _outline_error(
    state: _State, pixels: float, rng: np.random.Generator, scale: float
) -> tuple[slice, slice, np.ndarray] | None:
    """Wobbly outline: the whole boundary moves in and out along smooth noise (``pixels`` flips)."""
    perimeter = np.count_nonzero(inner_boundary(state.coarse))
    if perimeter == 0:
        return None
    h, w = state.coarse.shape
    # Noise features about a third of the object's size along the outline.
    field = smooth_noise((h, w), max(4.0, max(h, w) / max(0.3 * scale, 1.0)), rng)
    # The mean |noise| of the upsampled uniform grid is about 0.4 near any outline pixel.
    amplitude = max(pixels / (0.4 * perimeter), 1.0)
    sd = signed_distance(state.coarse)
    grow = (sd < 0) & (-sd <= amplitude * field)
    shrink = (sd > 0) & (sd <= -amplitude * field)
    return slice(0, h), slice(0, w), (state.coarse | grow) & ~shrink


def _false_positive(
    state: _State, pixels: float, rng: np.random.Generator, roughness: float, p_detached: float
) -> tuple[slice, slice, np.ndarray] | None:
    """Irregular blob of about ``pixels`` new pixels attached to (or near) the outline."""
    start = _random_boundary_pixel(state.coarse, rng)
    if start is None:
        return None
    py, px = start
    # Part of an attached blob falls on the object: aim larger than the pixels wanted.
    blob_area = 1.6 * pixels
    radius = np.sqrt(blob_area / np.pi)
    # Outward normal: from the centroid of the nearby object pixels towards the boundary pixel.
    rows, cols, wy0, wx0 = window(py, px, max(radius, 3.0), state.coarse.shape)
    ys, xs = np.nonzero(state.coarse[rows, cols])
    normal = np.array([py - (ys.mean() + wy0), px - (xs.mean() + wx0)])
    norm = float(np.hypot(*normal))
    if norm < 1e-6:
        theta = rng.uniform(0.0, 2.0 * np.pi)
        normal, norm = np.array([np.sin(theta), np.cos(theta)]), 1.0
    normal /= norm
    if rng.random() < p_detached:
        offset = radius * rng.uniform(1.1, 1.6) + 1.0
    else:
        offset = radius * rng.uniform(0.3, 0.9)
    cy, cx = py + normal[0] * offset, px + normal[1] * offset
    rows, cols, blob = irregular_blob(
        state.coarse.shape,
        cy,
        cx,
        blob_area,
        rng,
        aspect=rng.uniform(1.0, 2.5),
        angle=rng.uniform(0.0, np.pi),
        roughness=roughness,
    )
    if blob.size == 0:
        return None
    return rows, cols, state.coarse[rows, cols] | (blob & ~state.gt[rows, cols])


def _false_negative(
    state: _State, pixels: float, rng: np.random.Generator, roughness: float
) -> tuple[slice, slice, np.ndarray] | None:
    """Irregular hole or chunk of about ``pixels`` object pixels removed from inside."""
    depth = distance_inside(state.coarse & state.gt)
    weights = depth.ravel().astype(np.float64) ** 2
    total = weights.sum()
    if total <= 0:
        return None
    index = int(np.searchsorted(np.cumsum(weights), rng.random() * total, "right"))
    cy, cx = np.unravel_index(min(index, weights.size - 1), depth.shape)
    rows, cols, blob = irregular_blob(
        state.coarse.shape,
        float(cy),
        float(cx),
        1.15 * pixels,
        rng,
        aspect=rng.uniform(1.0, 2.0),
        angle=rng.uniform(0.0, np.pi),
        roughness=roughness,
    )
    if blob.size == 0:
        return None
    return rows, cols, state.coarse[rows, cols] & ~blob
