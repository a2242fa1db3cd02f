"""CAM-like coarse semantic masks: pseudo-labels as weakly supervised segmentation makes them.

Weakly supervised semantic segmentation turns class activation maps (CAMs) into pseudo-labels:
one score map per class, background score ``1 - max over classes`` (or a fixed threshold), label
= argmax over [background, classes]. SAMRefiner's split-then-merge refines such label maps. The
typical defects of CAM pseudo-labels are simulated per object (an instance, or a connected
component of a class when no instances are given), with ``S = sqrt(object area)``:

- Soft, blurred boundaries: an object's score is
  ``amp(x) * sigmoid((sd(x) + offset(x)) / (softness * S))``, ``sd`` the signed distance to its
  outline (positive inside) and ``amp = 0.8 + 0.2 * P`` (peak activation on the discriminative
  parts). The decoded outline lies where ``sd + offset`` is about 0, so ``offset`` moves it.
- Only the most discriminative part: ``P(x)`` in [0, 1] is the maximum of 1-3 Gaussian "peaks"
  (sigma ``peak_spread * S``) at interior points. ``offset = S * (over * P - under * (1 - P)
  + wobble * noise)``: the outline extends into the background by up to ``over * S`` near the
  peaks (over-extension, ``over ~ U(over_extension)``) and retreats by up to ``under * S`` far
  from them (under-extension, ``under ~ U(under_extension)``); ``noise`` is smooth noise in
  [-1, 1] that makes the outline blobby.
- Fragmented objects: with probability ``p_fragment`` an object gets at least two peaks, drawn
  far apart, and its activation is multiplied by ``1 - 0.75 * exp(-t^2 / (2 w^2))``, ``t`` the
  distance to the perpendicular bisector of the first two peaks bent by smooth noise (less than
  half the peak distance, so it still separates them) and ``w ~ U(0.05, 0.12) * S``. On the cut
  the object's own score is at most 0.25 < its background score, so it always splits there
  (into two or more pieces; a piece may also vanish through under-extension).
- Fused neighbours: with probability ``p_bridge``, two objects of the same class whose gap is at
  most ``bridge_max_gap * min(S1, S2)`` get a bridge (a thick soft segment between their nearest
  pixels) in their class map; over-extension alone also merges close objects.
- Wrong-class blobs: with probability ``p_wrong_class`` an object gets a blob of another class
  (random among ``1..num_classes``) of 4-15% of its area, inside it or on its outline, where its
  own score is lowered so that the wrong class wins.
- Background clutter: every class present in the image gets smooth noise activations up to
  ``background_noise`` (below 0.5, so they do not change the decoded labels).

Score format: :func:`cam_scores` returns a ``CxHxW`` float32 array in [0, 1], channel ``k`` for
class ``k + 1`` (all-zero channels for classes that never fire). ``cam_format.to_cam_dict`` turns
it into the dictionary weakly supervised methods save per image, ``{"keys": K int64 class ids
(1-based, the classes with any activation), "cam": KxHxW float32}``; IRN-style ``.npy`` files
store 0-based foreground keys, add 1 before decoding them. ``decode_cam_scores`` /
``decode_cam_dict`` decode either form, and :func:`cam_coarse_semantic` runs the whole chain and
writes 255 back on ignore pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._morphology import (
    distance_inside,
    irregular_blob,
    mask_box,
    signed_distance,
    smooth_noise,
    window,
)
from ._validation import RngLike, as_generator, check_count, check_interval, check_number
from .cam_format import IGNORE, MAX_CLASSES, decode_cam_scores, describe_array


def cam_scores(
    semantic: np.ndarray,
    rng: RngLike,
    num_classes: int,
    instances: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    *,
    softness: float = 0.04,
    over_extension: tuple[float, float] = (0.02, 0.2),
    under_extension: tuple[float, float] = (0.05, 0.35),
    num_peaks: tuple[int, int] = (1, 3),
    peak_spread: tuple[float, float] = (0.2, 0.45),
    wobble: float = 0.06,
    p_fragment: float = 0.25,
    p_bridge: float = 0.6,
    bridge_max_gap: float = 0.5,
    p_wrong_class: float = 0.15,
    background_noise: float = 0.15,
) -> np.ndarray:
    """Simulated class activation maps of a semantic label map (see the module docstring).

    Arguments:
      semantic: HxW uint8 label map: 0 background, 1..num_classes classes, 255 ignore.
      rng: int seed or numpy Generator (the only source of randomness).
      num_classes: number of foreground classes C (1..254).
      instances: NxHxW bool instance masks, or None to use the 8-connected components of each
        class. Pixels of a class not covered by its instances become extra components.
      labels: (N,) integer class ids in 1..num_classes of ``instances`` (required with them).
      softness: width of the soft score transition, relative to the object scale S.
      over_extension: (lo, hi) range of the largest outward growth near peaks, relative to S.
      under_extension: (lo, hi) range of the largest inward retreat far from peaks, relative to S.
      num_peaks: (lo, hi) inclusive range of discriminative peaks per object.
      peak_spread: (lo, hi) range of each peak's Gaussian sigma, relative to S.
      wobble: amplitude of the smooth outline noise, relative to S.
      p_fragment: probability that an object is split in two by a low-score valley.
      p_bridge: probability that two close objects of the same class are joined by a bridge.
      bridge_max_gap: largest gap that may be bridged, relative to the smaller object's S.
      p_wrong_class: probability that an object gets a blob of another class.
      background_noise: peak value of the background clutter of present classes (< 0.5).

    Returns:
      CxHxW float32 scores in [0, 1], channel k for class k + 1.
    """
    num_classes = check_count(num_classes, "num_classes")
    if num_classes > MAX_CLASSES:
        raise ValueError(f"num_classes must be <= {MAX_CLASSES}, got {num_classes}")
    semantic = _check_semantic(semantic, num_classes)
    generator = as_generator(rng)
    objects = _objects(semantic, num_classes, instances, labels)
    softness = check_number(softness, "softness", 0.0, strict=True)
    over = check_interval(over_extension, "over_extension", 0.0, 2.0)
    under = check_interval(under_extension, "under_extension", 0.0, 2.0)
    peaks = _check_int_range(num_peaks, "num_peaks")
    spread = check_interval(peak_spread, "peak_spread", 0.0, 10.0)
    if spread[0] <= 0:
        raise ValueError(f"peak_spread must be > 0, got {peak_spread!r}")
    wobble = check_number(wobble, "wobble", 0.0, 1.0)
    p_fragment = check_number(p_fragment, "p_fragment", 0.0, 1.0)
    p_bridge = check_number(p_bridge, "p_bridge", 0.0, 1.0)
    bridge_max_gap = check_number(bridge_max_gap, "bridge_max_gap", 0.0)
    p_wrong_class = check_number(p_wrong_class, "p_wrong_class", 0.0, 1.0)
    background_noise = check_number(background_noise, "background_noise", 0.0, 0.5)

    shape = semantic.shape
    scores = np.zeros((num_classes, *shape), dtype=np.float32)
    wrong_blobs: list[tuple[int, int, slice, slice, np.ndarray]] = []
    for mask, cls in objects:
        area = int(np.count_nonzero(mask))
        scale = float(np.sqrt(area))
        fragment = bool(generator.random() < p_fragment)
        params = _ObjectParams(
            over=generator.uniform(*over),
            under=generator.uniform(*under),
            peaks=max(int(generator.integers(peaks[0], peaks[1] + 1)), 2 if fragment else 1),
            fragment=fragment,
        )
        _paint_object(scores[cls - 1], mask, scale, params, softness, spread, wobble, generator)
        if num_classes >= 2 and generator.random() < p_wrong_class:
            wrong = int(generator.integers(1, num_classes))
            wrong += int(wrong >= cls)  # uniform over the other classes
            rows, cols, soft = _wrong_blob(mask, area, generator)
            wrong_blobs.append((cls, wrong, rows, cols, soft))

    _paint_bridges(scores, objects, p_bridge, bridge_max_gap, softness, generator)

    # Wrong-class blobs last, so that no later object repaints over them.
    for cls, wrong, rows, cols, soft in wrong_blobs:
        own = scores[cls - 1, rows, cols]
        own *= 1.0 - 0.6 * soft
        np.maximum(scores[wrong - 1, rows, cols], 0.95 * soft, out=scores[wrong - 1, rows, cols])

    if background_noise > 0:
        for cls in sorted({cls for _, cls in objects}):
            clutter = np.clip(smooth_noise(shape, 6.0, generator), 0.0, 1.0) * background_noise
            np.maximum(scores[cls - 1], clutter, out=scores[cls - 1])
    return np.clip(scores, 0.0, 1.0, out=scores)


def cam_coarse_semantic(
    semantic: np.ndarray,
    rng: RngLike,
    instances: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    num_classes: int | None = None,
    background: float | None = None,
    **score_options: float | tuple[float, float] | tuple[int, int],
) -> np.ndarray:
    """CAM-like coarse semantic label map of a ground-truth label map.

    Arguments:
      semantic: HxW uint8 label map: 0 background, 1..C classes, 255 ignore.
      rng: int seed or numpy Generator (the only source of randomness).
      instances: NxHxW bool instance masks, or None (connected components are used).
      labels: (N,) class ids of ``instances``.
      num_classes: C; defaults to the largest class id in ``semantic`` and ``labels`` (at least
        1). Wrong-class blobs need C >= 2 and use classes 1..C, present in the image or not.
      background: fixed background score for decoding, or None for ``1 - max score``.
      **score_options: keyword options of :func:`cam_scores` (``softness``, ``p_fragment``...).

    Returns:
      HxW uint8 labels in {0, 1..C, 255}; exactly the ignore pixels of ``semantic`` are 255.
    """
    if num_classes is None:
        present = _check_semantic(semantic, MAX_CLASSES)
        top = present[present != IGNORE].max(initial=0)
        if labels is not None:
            label_array = np.asarray(labels)
            if label_array.size and np.issubdtype(label_array.dtype, np.integer):
                top = max(int(top), int(label_array.max()))
        num_classes = max(int(top), 1)
    scores = cam_scores(semantic, rng, num_classes, instances, labels, **score_options)
    return decode_cam_scores(scores, background, ignore=semantic == IGNORE)


@dataclass(frozen=True)
class _ObjectParams:
    """Per-object random draws."""

    over: float
    under: float
    peaks: int
    fragment: bool


def _paint_object(
    score_map: np.ndarray,
    mask: np.ndarray,
    scale: float,
    params: _ObjectParams,
    softness: float,
    spread: tuple[float, float],
    wobble: float,
    rng: np.random.Generator,
) -> None:
    """Max-composite one object's activation into its class map (in place)."""
    y0, x0, y1, x1 = mask_box(mask)
    margin = int(np.ceil((params.over + wobble + 4.0 * softness) * scale)) + 3
    rows = slice(max(y0 - margin, 0), min(y1 + margin, mask.shape[0]))
    cols = slice(max(x0 - margin, 0), min(x1 + margin, mask.shape[1]))
    local = mask[rows, cols]
    h, w = local.shape
    sd = signed_distance(local)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)

    centres = _interior_points(
        np.clip(sd, 0.0, None), params.peaks, rng, spread_out=params.fragment
    )
    peak = np.zeros((h, w), dtype=np.float32)
    for cy, cx in centres:
        sigma = rng.uniform(*spread) * scale
        np.maximum(peak, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma**2)), out=peak)
    cells = max(3.0, max(h, w) / max(0.35 * scale, 1.0))
    noise = smooth_noise((h, w), cells, rng)
    offset = scale * (params.over * peak - params.under * (1.0 - peak) + wobble * noise)
    tau = max(softness * scale, 0.5)
    activation = (0.8 + 0.2 * peak) / (1.0 + np.exp(-(sd + offset) / tau))
    if params.fragment and len(centres) >= 2:
        activation *= 1.0 - _valley(centres[0], centres[1], scale, cells, rng, (h, w))
    np.maximum(score_map[rows, cols], activation, out=score_map[rows, cols])


def _valley(
    a: tuple[float, float],
    b: tuple[float, float],
    scale: float,
    cells: float,
    rng: np.random.Generator,
    shape: tuple[int, int],
) -> np.ndarray:
    """Dip in [0, 0.75] along a bent cut between peaks a and b (multiplies the activation down).

    The cut follows the zero level of ``t + bend * noise``, ``t`` the signed distance to the
    perpendicular bisector of a-b; ``bend`` stays below half of |a - b|, so the level curve
    always separates a from b. The dip is ``0.75 * exp(-t'^2 / (2 width^2))``: on the cut the
    object's activation is at most 0.25, below its background score, so it splits there.
    """
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    direction = np.array([b[0] - a[0], b[1] - a[1]], dtype=np.float32)
    length = float(np.hypot(*direction))
    if length < 1e-6:
        theta = rng.uniform(0.0, np.pi)
        direction, length = np.array([np.sin(theta), np.cos(theta)], np.float32), 0.0
    else:
        direction /= length
    across = (yy - 0.5 * (a[0] + b[0])) * direction[0] + (xx - 0.5 * (a[1] + b[1])) * direction[1]
    bend = min(0.15 * scale, 0.4 * length)
    across = across + bend * smooth_noise((h, w), cells, rng)
    width = max(1.0, rng.uniform(0.05, 0.12) * scale)
    return 0.75 * np.exp(-(across**2) / (2.0 * width**2))


def _interior_points(
    depth: np.ndarray, count: int, rng: np.random.Generator, *, spread_out: bool = False
) -> list[tuple[float, float]]:
    """``count`` pixels drawn with weight depth^2 (mostly far from the outline).

    With ``spread_out``, each later pixel's weight is also multiplied by its squared distance to
    the nearest earlier one, so that the points lie far apart.
    """
    base = depth.astype(np.float64) ** 2
    yy, xx = np.mgrid[: depth.shape[0], : depth.shape[1]]
    nearest = np.full(depth.shape, np.inf)
    points = []
    for _ in range(count):
        weights = base * nearest**2 if points and spread_out else base
        cumulative = np.cumsum(weights.ravel())
        index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], "right"))
        y, x = np.unravel_index(min(index, cumulative.size - 1), depth.shape)
        points.append((float(y), float(x)))
        if spread_out:
            nearest = np.minimum(nearest, np.hypot(yy - y, xx - x))
    return points


def _wrong_blob(
    mask: np.ndarray, area: int, rng: np.random.Generator
) -> tuple[slice, slice, np.ndarray]:
    """Soft blob (values in [0, 1]) inside the object or on its outline."""
    ys, xs = np.nonzero(mask)
    pick = int(rng.integers(ys.size))
    blob_area = max(rng.uniform(0.04, 0.15) * area, 4.0)
    rows, cols, blob = irregular_blob(
        mask.shape,
        float(ys[pick]),
        float(xs[pick]),
        blob_area,
        rng,
        aspect=rng.uniform(1.0, 2.0),
        angle=rng.uniform(0.0, np.pi),
        roughness=0.3,
    )
    sigma = 0.5 + 0.05 * np.sqrt(blob_area)
    soft = cv2.GaussianBlur(blob.astype(np.float32), (0, 0), sigma)
    peak = float(soft.max())
    if peak > 0:
        soft = np.clip(soft / peak * 1.2, 0.0, 1.0)
    return rows, cols, soft


def _paint_bridges(
    scores: np.ndarray,
    objects: list[tuple[np.ndarray, int]],
    p_bridge: float,
    max_gap: float,
    softness: float,
    rng: np.random.Generator,
) -> None:
    """Join close objects of the same class by soft thick segments (in place)."""
    if p_bridge <= 0 or len(objects) < 2:
        return
    boxes = [mask_box(mask) for mask, _ in objects]
    scales = [float(np.sqrt(np.count_nonzero(mask))) for mask, _ in objects]
    shape = scores.shape[1:]
    for i in range(len(objects)):
        for j in range(i + 1, len(objects)):
            if objects[i][1] != objects[j][1]:
                continue
            limit = max_gap * min(scales[i], scales[j])
            if _box_gap(boxes[i], boxes[j]) > limit or rng.random() >= p_bridge:
                continue
            ends = _nearest_pixels(objects[i][0], objects[j][0], boxes[i], boxes[j], limit)
            if ends is None:
                continue
            (ay, ax), (by, bx) = ends
            thickness = max(2.0, rng.uniform(0.1, 0.25) * min(scales[i], scales[j]))
            # Reach a little into both objects so that the bridge joins them firmly.
            direction = np.array([by - ay, bx - ax], dtype=np.float64)
            direction /= max(float(np.hypot(*direction)), 1e-6)
            ay, ax = ay - direction[0] * thickness, ax - direction[1] * thickness
            by, bx = by + direction[0] * thickness, bx + direction[1] * thickness
            cy, cx = 0.5 * (ay + by), 0.5 * (ax + bx)
            reach = 0.5 * float(np.hypot(by - ay, bx - ax)) + 2.0 * thickness + 2.0
            rows, cols, wy0, wx0 = window(cy, cx, reach, shape)
            h, w = rows.stop - rows.start, cols.stop - cols.start
            if h <= 0 or w <= 0:
                continue
            line = np.zeros((h, w), dtype=np.uint8)
            cv2.line(
                line,
                (int(round(ax - wx0)), int(round(ay - wy0))),
                (int(round(bx - wx0)), int(round(by - wy0))),
                1,
                thickness=int(round(thickness)),
            )
            sd = signed_distance(line.astype(bool))
            tau = max(softness * min(scales[i], scales[j]), 0.5)
            soft = 0.9 / (1.0 + np.exp(-(sd + 0.5) / tau))
            target = scores[objects[i][1] - 1, rows, cols]
            np.maximum(target, soft.astype(np.float32), out=target)


def _box_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Smallest possible distance between pixels of two (y0, x0, y1, x1) boxes."""
    dy = max(a[0] - b[2] + 1, b[0] - a[2] + 1, 0)
    dx = max(a[1] - b[3] + 1, b[1] - a[3] + 1, 0)
    return float(np.hypot(dy, dx))


def _nearest_pixels(
    a: np.ndarray,
    b: np.ndarray,
    box_a: tuple[int, int, int, int],
    box_b: tuple[int, int, int, int],
    limit: float,
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A closest pixel pair (pixel of a, pixel of b) if their distance is at most ``limit``."""
    y0, x0 = min(box_a[0], box_b[0]), min(box_a[1], box_b[1])
    y1, x1 = max(box_a[2], box_b[2]), max(box_a[3], box_b[3])
    local_a, local_b = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
    if (local_a & local_b).any():
        return None  # overlapping (or touching through shared pixels): nothing to bridge
    distance = distance_inside(~local_a)
    candidates = np.where(local_b, distance, np.inf)
    flat = int(np.argmin(candidates))
    if not np.isfinite(candidates.flat[flat]) or candidates.flat[flat] > limit + 1.0:
        return None
    qy, qx = np.unravel_index(flat, local_b.shape)
    ys, xs = np.nonzero(local_a)
    index = int(np.argmin((ys - qy) ** 2 + (xs - qx) ** 2))
    return (float(ys[index] + y0), float(xs[index] + x0)), (float(qy + y0), float(qx + x0))


def _objects(
    semantic: np.ndarray,
    num_classes: int,
    instances: np.ndarray | None,
    labels: np.ndarray | None,
) -> list[tuple[np.ndarray, int]]:
    """(HxW bool mask, class id) of every object, instances first."""
    objects: list[tuple[np.ndarray, int]] = []
    covered = np.zeros(semantic.shape, dtype=bool)
    if instances is None:
        if labels is not None:
            raise ValueError("labels were given without instances")
    else:
        if not isinstance(instances, np.ndarray) or instances.dtype != np.bool_:
            raise ValueError(
                f"instances must be a bool NxHxW numpy array, got {describe_array(instances)}"
            )
        if instances.ndim != 3 or instances.shape[1:] != semantic.shape:
            raise ValueError(
                f"instances must have shape Nx{semantic.shape[0]}x{semantic.shape[1]}, "
                f"got {instances.shape}"
            )
        if labels is None:
            raise ValueError("labels are required with instances")
        label_array = np.asarray(labels)
        if label_array.shape != (instances.shape[0],) or (
            label_array.size and not np.issubdtype(label_array.dtype, np.integer)
        ):
            raise ValueError(
                f"labels must be ({instances.shape[0]},) integers, "
                f"got {describe_array(label_array)}"
            )
        if label_array.size and (label_array.min() < 1 or label_array.max() > num_classes):
            raise ValueError(f"labels must lie in 1..{num_classes}, got {label_array.tolist()}")
        for mask, cls in zip(instances, label_array, strict=True):
            if mask.any():
                objects.append((mask, int(cls)))
                covered |= mask
    present = np.flatnonzero(np.bincount(semantic.ravel(), minlength=256)[1 : num_classes + 1]) + 1
    for cls in present.tolist():
        rest = (semantic == cls) & ~covered
        if not rest.any():
            continue
        count, components = cv2.connectedComponents(rest.astype(np.uint8), connectivity=8)
        for index in range(1, count):
            objects.append((components == index, cls))
    return objects


def _check_semantic(semantic: object, num_classes: int) -> np.ndarray:
    """Check an HxW uint8 label map with labels in 0..num_classes and 255; return it."""
    if not isinstance(semantic, np.ndarray):
        raise ValueError(f"semantic must be a numpy array, got {type(semantic).__name__}")
    if semantic.dtype != np.uint8:
        raise ValueError(f"semantic must have dtype uint8, got {semantic.dtype}")
    if semantic.ndim != 2 or 0 in semantic.shape:
        raise ValueError(f"semantic must be a non-empty HxW array, got shape {semantic.shape}")
    values = np.flatnonzero(np.bincount(semantic.ravel(), minlength=256))
    bad = values[(values > num_classes) & (values != IGNORE)]
    if bad.size:
        raise ValueError(
            f"semantic holds labels {bad.tolist()} outside 0..{num_classes} and {IGNORE}"
        )
    return semantic


def _check_int_range(value: tuple[int, int], name: str) -> tuple[int, int]:
    """Check an inclusive (lo, hi) integer range with 1 <= lo <= hi."""
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of integers, got {value!r}") from None
    if lo < 1 or hi < lo:
        raise ValueError(f"{name} must satisfy 1 <= lo <= hi, got {value!r}")
    return lo, hi
