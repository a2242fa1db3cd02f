"""Backgrounds: a textured base (gradient, noise, stripes, tiles or object-like colours) plus
distractor clutter that is not an object and never appears in the ground truth."""

from __future__ import annotations

import cv2
import numpy as np

from .classes import CLASS_SPECS
from .painting import random_colour, sample_colour
from .shapes import blob_outline
from .styles import Style
from .textures import NOISE_SWING, checker, hsv_colour, linear_gradient, stripes, value_noise

BACKGROUND_KINDS: tuple[str, ...] = ("gradient", "noise", "stripes", "tiles", "similar")


def _object_like_colour(rng: np.random.Generator, style: Style) -> np.ndarray:
    """A colour drawn from a random class's random role: backgrounds and clutter that look
    like objects make boundaries ambiguous."""
    spec = CLASS_SPECS[int(rng.integers(len(CLASS_SPECS)))]
    roles = list(spec.palette)
    return sample_colour(rng, spec.palette[roles[int(rng.integers(len(roles)))]], style)


def _near(rng: np.random.Generator, colour: np.ndarray, spread: float) -> np.ndarray:
    """``colour`` with independent per-channel offsets up to ``spread`` (a low-contrast mate)."""
    return np.clip(colour + rng.uniform(-spread, spread, 3), 0.0, 1.0).astype(np.float32)


def render_background(
    rng: np.random.Generator, shape: tuple[int, int], style: Style, px_scale: float
) -> np.ndarray:
    """A random textured background with clutter.

    Arguments:
      rng: source of randomness.
      shape: (H, W).
      style: the scene style (kind weights, colour ranges, clutter density).
      px_scale: min(H, W) / 256, so pattern sizes follow the image size.

    Returns:
      np.ndarray: HxWx3 float32 RGB, roughly in [0, 1].
    """
    h, w = shape
    weights = np.array([style.background_weights.get(k, 0.0) for k in BACKGROUND_KINDS])
    kind = BACKGROUND_KINDS[int(rng.choice(len(BACKGROUND_KINDS), p=weights / weights.sum()))]
    if kind == "similar":
        c1 = _object_like_colour(rng, style)
    else:
        c1 = hsv_colour(
            rng.uniform(0, 360),
            rng.uniform(*style.background_sat),
            rng.uniform(*style.background_val),
        )
    c2 = random_colour(rng) if rng.random() < 0.3 else _near(rng, c1, 0.25)

    # Every background starts from a two-colour gradient.
    t = 0.5 + 0.5 * np.float32(rng.uniform(0.3, 1.0)) * linear_gradient(rng, (h, w))
    img = c1 + t[..., None] * (c2 - c1)

    # Grain at a random scale; strong, two-coloured "camouflage" for the noise kind.
    amp = rng.uniform(0.15, 0.4) if kind == "noise" else rng.uniform(0.02, 0.1)
    n = value_noise(rng, (h, w), rng.uniform(3, 40), octaves=3)
    img *= (1.0 + np.float32(amp / NOISE_SWING) * n)[..., None]
    if kind == "noise":
        c3 = _object_like_colour(rng, style) if rng.random() < 0.4 else _near(rng, c1, 0.35)
        blot = np.clip(value_noise(rng, (h, w), rng.uniform(2, 12)) * 3.0, 0.0, 1.0)
        img += (blot * np.float32(rng.uniform(0.4, 0.9)))[..., None] * (c3 - img)
    elif kind in ("stripes", "tiles"):
        c3 = random_colour(rng) if rng.random() < 0.5 else _near(rng, c1, 0.3)
        period = rng.uniform(4, 30) * px_scale
        if kind == "stripes":
            pattern = stripes(rng, (h, w), max(period, 2.5), rng.uniform(1, 8))
        else:
            pattern = checker(rng, (h, w), max(period * 1.5, 3.0))
        mix = (pattern + 1.0) * np.float32(0.5 * rng.uniform(0.2, 0.7))
        img += mix[..., None] * (c3 - img)

    _draw_clutter(rng, img, style, px_scale, c1)
    return img


def _draw_clutter(
    rng: np.random.Generator, img: np.ndarray, style: Style, px_scale: float, base: np.ndarray
) -> None:
    """Draw distractors in place: strokes, dots, small blobs, boxes and arcs.

    Most are low-contrast versions of the background colour, some are random, and some take
    object colours, so neither colour nor edges alone say where the objects are.

    Arguments:
      rng: source of randomness.
      img: HxWx3 float32 image, modified in place.
      style: the scene style (clutter density).
      px_scale: min(H, W) / 256.
      base: (3,) the main background colour.
    """
    h, w = img.shape[:2]
    density = rng.uniform(*style.clutter)
    # Item sizes follow px_scale, so the count follows the area in units of (256 px_scale)^2:
    # the same coverage at every resolution.
    count = int(round(density * h * w / (256.0 * px_scale) ** 2))
    for _ in range(count):
        u = rng.random()
        if u < 0.55:
            colour = _near(rng, base, 0.3)
        elif u < 0.8:
            colour = random_colour(rng)
        else:
            colour = _object_like_colour(rng, style)
        col = tuple(float(v) for v in colour)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        size = rng.uniform(3, 22) * px_scale
        kind = int(rng.integers(5))
        if kind == 0:  # a stroke (grass, scratch, cable)
            steps = int(rng.integers(2, 5))
            heading = rng.uniform(0, 2 * np.pi)
            pts = [(cx, cy)]
            for _ in range(steps):
                heading += rng.normal(0, 0.5)
                pts.append(
                    (pts[-1][0] + size * np.cos(heading), pts[-1][1] + size * np.sin(heading))
                )
            thick = max(1, int(round(rng.uniform(1, 3) * px_scale)))
            cv2.polylines(
                img,
                [np.round(np.array(pts) * 16).astype(np.int32)],
                False,
                col,
                thick,
                cv2.LINE_AA,
                4,
            )
        elif kind == 1:  # a dot
            r = max(1, int(round(size * 0.2)))
            cv2.circle(img, (int(cx), int(cy)), r, col, -1, cv2.LINE_AA)
        elif kind == 2:  # a small irregular blob
            pts = blob_outline(rng, (cx, cy), size * 0.6, 0.4, rng.uniform(0.4, 1.0), n=16)
            cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], col, cv2.LINE_AA, 4)
        elif kind == 3:  # a small rotated box
            rect = ((cx, cy), (size, size * rng.uniform(0.2, 1.0)), rng.uniform(0, 180))
            box = cv2.boxPoints(rect)
            cv2.fillPoly(img, [np.round(box * 16).astype(np.int32)], col, cv2.LINE_AA, 4)
        else:  # an arc
            a0 = rng.uniform(0, 360)
            axes = (max(1, int(size)), max(1, int(size * rng.uniform(0.3, 1.0))))
            thick = max(1, int(round(rng.uniform(1, 2.5) * px_scale)))
            cv2.ellipse(
                img,
                (int(cx), int(cy)),
                axes,
                rng.uniform(0, 180),
                a0,
                a0 + rng.uniform(60, 240),
                col,
                thick,
                cv2.LINE_AA,
            )
