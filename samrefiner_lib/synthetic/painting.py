"""Colouring a rasterised object: per-role palette colours plus texture, sheen and shading."""

from __future__ import annotations

import numpy as np

from .classes import ClassSpec, ColourSpec
from .shapes import RasterObject
from .styles import Style
from .textures import NOISE_SWING, edge_shading, hsv_colour, linear_gradient, stripes, value_noise


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """A colour from anywhere in a broad HSV box (used to break class-colour correlations).

    Returns:
      np.ndarray: (3,) float32 RGB in [0, 1].
    """
    return hsv_colour(rng.uniform(0, 360), rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.95))


def sample_colour(rng: np.random.Generator, spec: ColourSpec, style: Style) -> np.ndarray:
    """One colour for a role, from its HSV box as modified by the style.

    Arguments:
      rng: source of randomness.
      spec: the role's HSV box.
      style: supplies the hue shift and the saturation/value factors, and the chance of
        ignoring the palette altogether.

    Returns:
      np.ndarray: (3,) float32 RGB in [0, 1].
    """
    if rng.random() < style.random_colour_prob:
        return random_colour(rng)
    return hsv_colour(
        rng.uniform(*spec.hue) + style.hue_shift,
        rng.uniform(*spec.sat) * style.sat_scale,
        rng.uniform(*spec.val) * style.val_scale,
    )


def paint_object(
    rng: np.random.Generator,
    obj: RasterObject,
    spec: ClassSpec,
    style: Style,
    angle: float,
    extent_px: float,
) -> np.ndarray:
    """Colour every pixel of an object's label canvas.

    Regions sharing a colour role share a base colour (with a small per-region brightness
    jitter). A multiplicative field (value noise, a linear sheen, darkening near the outline)
    gives texture and a rounded look; an optional two-colour stripe pattern covers the roles that
    allow it.

    Arguments:
      rng: source of randomness.
      obj: the rasterised object (hxw labels).
      spec: the object's class.
      style: the scene style.
      angle: the object's rotation in radians (stripes with a fixed direction follow it).
      extent_px: the object's nominal extent in pixels (sets texture scales).

    Returns:
      np.ndarray: hxwx3 float32 RGB, meaningful where ``obj.labels > 0``.
    """
    labels = obj.labels
    h, w = labels.shape
    k = len(obj.region_role)
    roles = {
        role: sample_colour(rng, spec.palette[role], style)
        for role in dict.fromkeys(obj.region_role[1:])  # unique, in first-use order
    }
    lut = np.zeros((k, 3), np.float32)
    stripe_on = np.zeros(k, np.float32)
    jitter = rng.uniform(0.93, 1.07, k).astype(np.float32)
    for r in range(1, k):
        role = obj.region_role[r]
        lut[r] = roles[role] * jitter[r]
        stripe_on[r] = float(spec.palette[role].stripes)

    # One multiplicative brightness field for the whole object.
    cells = max(spec.noise_cells * style.texture_cells * rng.uniform(0.7, 1.4), 1.0)
    field = value_noise(rng, (h, w), cells * max(h, w) / max(extent_px, 1.0), octaves=2)
    field *= np.float32(spec.noise_amp * style.texture_amp * rng.uniform(0.6, 1.4) / NOISE_SWING)
    if spec.sheen > 0:
        field += np.float32(spec.sheen * rng.uniform(0.3, 1.0)) * linear_gradient(rng, (h, w))
    if spec.shading > 0:
        width = extent_px * rng.uniform(0.06, 0.15)
        field -= np.float32(spec.shading * rng.uniform(0.5, 1.0)) * edge_shading(labels, width)
    colour = lut[labels] * (1.0 + field)[..., None]

    p_stripes = spec.stripe_prob + (1.0 - spec.stripe_prob) * style.stripe_prob * 0.5
    if rng.random() < p_stripes:
        period = extent_px * rng.uniform(*spec.stripe_period) / style.texture_cells**0.5
        direction = None if spec.stripe_angle is None else spec.stripe_angle + angle
        sharp = rng.uniform(1.0, 8.0)
        band = (stripes(rng, (h, w), max(period, 2.5), sharp, direction) + 1.0) * 0.5
        mix = band * np.float32(rng.uniform(0.3, 0.8)) * stripe_on[labels]
        second = random_colour(rng) if rng.random() < 0.5 else lut.max(0) * 0.5
        colour += mix[..., None] * (second - colour)
    return colour
