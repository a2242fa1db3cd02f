"""Scene composition: background, objects placed with occlusion, lighting, blur and noise,
and the exact ground truth (visible instance masks, parts, sub-parts and a semantic map).

Placement rule: objects are pasted in order, each occluding what lies under it. An object is
only accepted if (a) at least ``MIN_VISIBLE_FRACTION`` of its own area and at least
``min_pixels`` pixels fall inside the image, and (b) it leaves every earlier instance with at
least that much visible area; otherwise another position is tried, and after a few failures the
object is skipped. Thus no object is painted without being in the ground truth, and every
instance keeps a reasonable visible area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .backgrounds import render_background
from .classes import NUM_CLASSES, class_spec
from .painting import paint_object
from .shapes import RasterObject
from .styles import Style, get_style
from .textures import linear_gradient, radial_falloff

MIN_VISIBLE_FRACTION = 0.35  # of an object's full (amodal) area that must stay visible
_PLACEMENT_TRIES = 8
_OVERLAP_PROB = 0.4  # chance that a placement try aims at an earlier object
_SEMANTIC_STREAM = 1  # second seed word: semantic scenes use their own random stream


@dataclass(eq=False)
class Scene:
    """One generated image with its ground truth.

    Attributes:
      image: HxWx3 uint8 RGB.
      instances: NxHxW bool visible instance masks: non-empty and pairwise disjoint; N >= 1.
      labels: (N,) int64 class ids in 1..C (names in ``CLASS_NAMES``).
      parts: N arrays, each PxHxW bool (P >= 1): the visible parts of instance i; they are
        non-empty, pairwise disjoint and their union is exactly ``instances[i]``. An object
        with a single part has P = 1 and ``parts[i][0] == instances[i]``.
      semantic: HxW uint8 class map, 0 = background; equals ``labels[i]`` on ``instances[i]``.
      seed: the seed the scene was made from.
      style: the style name.
      part_names: N tuples, the names of the parts in ``parts[i]`` (e.g. "wheel 1").
      subparts: N arrays, each SxHxW bool (S >= 0): finer pieces (a hub, one spike, one window,
        a forearm), each non-empty and inside one part.
      subpart_parents: N arrays, each (S,) int64: index into ``parts[i]`` of each sub-part's part.
      visible_fraction: (N,) float64 visible area / full (unoccluded, uncropped) area.
    """

    image: np.ndarray
    instances: np.ndarray
    labels: np.ndarray
    parts: list[np.ndarray]
    semantic: np.ndarray
    seed: int
    style: str
    part_names: list[tuple[str, ...]]
    subparts: list[np.ndarray]
    subpart_parents: list[np.ndarray]
    visible_fraction: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def __len__(self) -> int:
        """Number of instances."""
        return int(self.instances.shape[0])


@dataclass
class _Placed:
    """Bookkeeping for one accepted object."""

    class_id: int
    raster: RasterObject
    full_area: int
    min_visible: int
    centre: tuple[float, float]


def _check_args(seed: int, size: int | tuple[int, int], max_objects: int) -> tuple[int, int]:
    """Validate common arguments; return (H, W)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        h, w = (int(v) for v in size)
    if h < 16 or w < 16:
        raise ValueError(f"size must be at least 16 x 16, got {h} x {w}")
    if max_objects < 1:
        raise ValueError(f"max_objects must be >= 1, got {max_objects}")
    return h, w


def make_scene(
    seed: int,
    size: int | tuple[int, int] = 256,
    style: str = "default",
    max_objects: int = 6,
) -> Scene:
    """A general scene: 2..max_objects objects from 2-4 classes, placed anywhere.

    Classes are drawn from a small per-scene pool, so same-class instances are common.

    Arguments:
      seed: non-negative int; the scene is a deterministic function of all arguments.
      size: side of a square image, or (H, W); at least 16.
      style: a key of ``STYLES`` ("default" or "shifted").
      max_objects: upper bound on the number of objects (some may be skipped when they would
        be, or would leave others, too occluded).

    Returns:
      Scene: the image and its ground truth (at least one instance).
    """
    h, w = _check_args(seed, size, max_objects)
    st = get_style(style)
    rng = np.random.default_rng(int(seed))
    n = int(rng.integers(min(2, max_objects), max_objects + 1))
    pool = rng.choice(NUM_CLASSES, size=int(rng.integers(2, 5)), replace=False) + 1
    classes = pool[rng.integers(0, len(pool), n)]
    return _compose(rng, int(seed), (h, w), st, classes, None, 1.0)


def make_semantic_scene(
    seed: int,
    size: int | tuple[int, int] = 256,
    style: str = "default",
    max_objects: int = 8,
) -> Scene:
    """A scene for semantic-segmentation experiments: 3..max_objects objects of only 1-3
    classes, each class clustered around its own centre, so a class region is usually made of
    several touching or overlapping instances.

    Use this (not ``make_scene``) for "split-then-merge" semantic experiments. The random stream
    differs from ``make_scene`` for the same seed; the same seed splits apply.

    Arguments:
      seed: non-negative int.
      size: side of a square image, or (H, W); at least 16.
      style: a key of ``STYLES``.
      max_objects: upper bound on the number of objects (>= 3).

    Returns:
      Scene: the image and its ground truth (at least one instance).
    """
    h, w = _check_args(seed, size, max_objects)
    if max_objects < 3:
        raise ValueError(f"max_objects must be >= 3 for semantic scenes, got {max_objects}")
    st = get_style(style)
    rng = np.random.default_rng([int(seed), _SEMANTIC_STREAM])
    n = int(rng.integers(3, max_objects + 1))
    k = int(rng.integers(1, 4))
    pool = rng.choice(NUM_CLASSES, size=k, replace=False) + 1
    # Every class gets at least one object; the rest are spread at random over the pool.
    which = np.concatenate([np.arange(k), rng.integers(0, k, n - k)]) if n >= k else np.arange(n)
    which = rng.permutation(which)
    centres = np.stack([rng.uniform(0.2, 0.8, k) * h, rng.uniform(0.2, 0.8, k) * w], 1)
    return _compose(rng, int(seed), (h, w), st, pool[which], centres[which], 0.8)


def _compose(
    rng: np.random.Generator,
    seed: int,
    shape: tuple[int, int],
    style: Style,
    classes: Sequence[int] | np.ndarray,
    centres: np.ndarray | None,
    extent_scale: float,
) -> Scene:
    """Render a scene from a class list.

    Arguments:
      rng: the scene's random stream.
      seed: recorded in the scene.
      shape: (H, W).
      style: rendering style.
      classes: (M,) class id of each object to try, in paint order (later occludes earlier).
      centres: Mx2 (y, x) preferred centre per object (clustered layouts), or None for uniform.
      extent_scale: factor on the style's object extents.

    Returns:
      Scene: the rendered scene.
    """
    h, w = shape
    short = min(h, w)
    px = short / 256.0
    margin = int(math.ceil(14 * px)) + 2  # room for the drop-shadow blur and offset
    min_pixels = max(8, int(0.001 * h * w))
    image = render_background(rng, (h, w), style, px)
    owner = np.full((h, w), -1, np.int16)  # index of the instance on top, -1 = background
    region = np.zeros((h, w), np.uint8)  # region id inside that instance's raster
    placed: list[_Placed] = []
    visible = np.zeros(0, np.int64)
    light_dir = rng.uniform(0, 2 * np.pi)  # one light per scene: all shadows fall the same way
    log_lo, log_hi = math.log(style.extent[0]), math.log(style.extent[1])

    queue = [int(c) for c in classes]
    fallback = 0
    for idx in range(len(queue) + 10):
        if idx >= len(queue):
            if placed or fallback >= 10:
                break
            # Nothing fitted (tiny images): keep trying a large centred object.
            fallback += 1
            queue.append(int(rng.integers(1, NUM_CLASSES + 1)))
        cls = queue[idx]
        spec = class_spec(cls)
        extent = math.exp(rng.uniform(log_lo, log_hi)) * short * extent_scale
        if fallback:
            extent = 0.7 * short
        angle = rng.uniform(-spec.max_tilt, spec.max_tilt)
        raster = spec.builder(rng).render(extent / 2, angle, bool(rng.random() < 0.5), px, margin)
        mask = raster.labels > 0
        full_area = int(np.count_nonzero(mask))
        min_visible = max(min_pixels, int(math.ceil(MIN_VISIBLE_FRACTION * full_area)))
        if full_area < min_visible:
            continue
        colour = paint_object(rng, raster, spec, style, angle, extent)
        shadow = None
        if rng.random() < style.shadow_prob:
            shadow = _shadow(mask, light_dir, rng.uniform(2.0, 5.0) * px, rng.uniform(0.25, 0.5))
        oh, ow = mask.shape
        for attempt in range(_PLACEMENT_TRIES):
            if fallback:
                cy, cx = h / 2 + rng.normal(0, 0.05 * h), w / 2 + rng.normal(0, 0.05 * w)
            elif centres is not None:
                spread = 0.12 * short * (1 + attempt * 0.5)
                cy = centres[idx, 0] + rng.normal(0, spread)
                cx = centres[idx, 1] + rng.normal(0, spread)
            elif placed and rng.random() < _OVERLAP_PROB:
                # Next to an earlier object, so that occlusion is common rather than rare.
                anchor = placed[int(rng.integers(len(placed)))].centre
                cy = anchor[0] + rng.normal(0, 0.35 * extent)
                cx = anchor[1] + rng.normal(0, 0.35 * extent)
            else:
                cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            y0, x0 = int(round(cy - oh / 2)), int(round(cx - ow / 2))
            ys, ye, xs, xe = max(y0, 0), min(y0 + oh, h), max(x0, 0), min(x0 + ow, w)
            if ys >= ye or xs >= xe:
                continue
            local = (slice(ys - y0, ye - y0), slice(xs - x0, xe - x0))
            win = (slice(ys, ye), slice(xs, xe))
            m = mask[local]
            if np.count_nonzero(m) < min_visible:
                continue
            under = owner[win][m]
            lost = np.bincount(under[under >= 0], minlength=len(placed))
            if len(placed) and np.any(visible - lost < [p.min_visible for p in placed]):
                continue
            if shadow is not None:
                image[win] *= (1.0 - shadow[local])[..., None]
            image[win][m] = colour[local][m]
            owner[win][m] = len(placed)
            region[win][m] = raster.labels[local][m]
            visible = np.append(visible - lost, np.count_nonzero(m))
            placed.append(_Placed(cls, raster, full_area, min_visible, (cy, cx)))
            break

    image = _finish(rng, image, style, px)
    return _ground_truth(image, owner, region, placed, visible, seed, style.name)


def _shadow(mask: np.ndarray, direction: float, offset: float, strength: float) -> np.ndarray:
    """A soft drop shadow of a mask, shifted along ``direction``.

    Arguments:
      mask: hxw bool object mask (with an empty margin wider than the offset plus blur).
      direction: shadow direction in radians.
      offset: shift in pixels.
      strength: darkening at full shadow (0..1).

    Returns:
      np.ndarray: hxw float32 darkening factor in [0, strength].
    """
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(offset * 0.6, 0.8))
    dy, dx = int(round(offset * math.sin(direction))), int(round(offset * math.cos(direction)))
    return np.roll(soft, (dy, dx), axis=(0, 1)) * np.float32(strength)


def _finish(rng: np.random.Generator, image: np.ndarray, style: Style, px: float) -> np.ndarray:
    """Lighting, colour cast, gamma, blur and sensor noise, then quantise.

    Arguments:
      rng: source of randomness.
      image: HxWx3 float32 RGB, roughly in [0, 1].
      style: the scene style.
      px: min(H, W) / 256.

    Returns:
      np.ndarray: HxWx3 uint8 RGB.
    """
    h, w = image.shape[:2]
    light = 1.0 + np.float32(rng.uniform(0, style.light_gradient)) * linear_gradient(rng, (h, w))
    if style.spotlight > 0:
        centre = (rng.uniform(0, h), rng.uniform(0, w))
        fall = np.minimum(radial_falloff((h, w), centre, 0.8 * max(h, w)), 1.0)
        light *= 1.0 - np.float32(rng.uniform(0, style.spotlight)) * fall
    cast = (1.0 + rng.uniform(-style.cast, style.cast, 3)).astype(np.float32)
    image *= light[..., None]
    image *= cast
    np.clip(image, 0.0, 1.0, out=image)
    gamma = rng.uniform(*style.gamma)
    if abs(gamma - 1.0) > 1e-3:
        np.power(image, np.float32(gamma), out=image)
    sigma = rng.uniform(*style.blur_sigma) * px
    if sigma > 0.2:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    image += noise * np.float32(rng.uniform(*style.noise_sigma))
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _ground_truth(
    image: np.ndarray,
    owner: np.ndarray,
    region: np.ndarray,
    placed: list[_Placed],
    visible: np.ndarray,
    seed: int,
    style: str,
) -> Scene:
    """Turn the owner/region maps into the Scene's masks.

    Arguments:
      image: HxWx3 uint8.
      owner: HxW int16 instance index on top of each pixel, -1 = background.
      region: HxW uint8 region id within that instance's raster.
      placed: accepted objects, index = instance index.
      visible: (N,) visible pixel counts.
      seed: the scene seed.
      style: the style name.

    Returns:
      Scene: every mask at full image size.
    """
    h, w = owner.shape
    n = len(placed)
    labels = np.array([p.class_id for p in placed], np.int64)
    lut = np.zeros(n + 1, np.uint8)
    lut[1:] = labels
    semantic = lut[owner.astype(np.int64) + 1]
    instances = owner[None] == np.arange(n, dtype=np.int16)[:, None, None]
    parts, part_names, subparts, parents = [], [], [], []
    for i, p in enumerate(placed):
        rows = np.flatnonzero(instances[i].any(1))
        cols = np.flatnonzero(instances[i].any(0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        inside = instances[i][box]
        reg = np.where(inside, region[box], 0)
        part_map = p.raster.region_part[reg]  # -1 outside the instance
        num_parts = len(p.raster.part_names)
        pm = part_map[None] == np.arange(num_parts)[:, None, None]
        keep = np.flatnonzero(pm.any((1, 2)))
        full = np.zeros((len(keep), h, w), bool)
        full[(slice(None),) + box] = pm[keep]
        parts.append(full)
        part_names.append(tuple(p.raster.part_names[k] for k in keep))
        new_index = np.full(num_parts, -1, np.int64)
        new_index[keep] = np.arange(len(keep))
        sub_ids = np.flatnonzero(p.raster.region_subpart)
        sm = reg[None] == sub_ids[:, None, None].astype(np.uint8)
        sub_keep = np.flatnonzero(sm.any((1, 2)))
        sfull = np.zeros((len(sub_keep), h, w), bool)
        sfull[(slice(None),) + box] = sm[sub_keep]
        subparts.append(sfull)
        parents.append(new_index[p.raster.region_part[sub_ids[sub_keep]]])
    fraction = visible.astype(np.float64) / np.array([p.full_area for p in placed], np.float64)
    return Scene(
        image=image,
        instances=instances,
        labels=labels,
        parts=parts,
        semantic=semantic,
        seed=seed,
        style=style,
        part_names=part_names,
        subparts=subparts,
        subpart_parents=parents,
        visible_fraction=fraction,
    )
