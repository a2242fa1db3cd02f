"""Procedural texture fields and colour helpers.

Every field is a float32 HxW array, roughly in [-1, 1] (or [0, 1] where said), built from a few
random numbers and OpenCV resizes so that a 256 x 256 field costs well under a millisecond.
Randomness always comes from the ``np.random.Generator`` passed in.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

# Typical excursion of ``value_noise``: ``amp * noise / NOISE_SWING`` swings by about +-amp.
NOISE_SWING = 0.45


def value_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cells: float,
    octaves: int = 3,
    persistence: float = 0.5,
) -> np.ndarray:
    """Smooth multi-octave value noise.

    Arguments:
      rng: source of randomness.
      shape: (H, W) of the field.
      cells: number of random lattice cells along the longer side for the coarsest octave;
        larger means finer detail.
      octaves: number of octaves, each with twice the cells of the previous one.
      persistence: amplitude ratio between consecutive octaves.

    Returns:
      np.ndarray: HxW float32, zero mean, standard deviation about 0.25, typical
        excursions about +-``NOISE_SWING`` and rarely beyond +-1.
    """
    h, w = int(shape[0]), int(shape[1])
    longer = max(h, w)
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    c = max(float(cells), 1.0)
    for _ in range(max(int(octaves), 1)):
        # A lattice no finer than the pixel grid: beyond that the octave is plain white noise.
        gh = int(min(max(round(c * h / longer), 1), h)) + 1
        gw = int(min(max(round(c * w / longer), 1), w)) + 1
        grid = rng.standard_normal((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
        c *= 2.0
    out *= np.float32(NOISE_SWING / total)
    return out


def stripes(
    rng: np.random.Generator,
    shape: tuple[int, int],
    period: float,
    sharpness: float = 1.0,
    angle: float | None = None,
) -> np.ndarray:
    """Parallel stripes at a random phase.

    Arguments:
      rng: source of randomness (phase, and the angle when ``angle`` is None).
      shape: (H, W) of the field.
      period: stripe period in pixels.
      sharpness: 1 gives a sine; larger values approach hard-edged bands.
      angle: stripe direction in radians; random when None.

    Returns:
      np.ndarray: HxW float32 in [-1, 1].
    """
    h, w = int(shape[0]), int(shape[1])
    if angle is None:
        angle = float(rng.uniform(0.0, np.pi))
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    k = np.float32(2.0 * np.pi / max(period, 1.0))
    # Separable: sin(a + b) needs only a row and a column of phases, then one broadcast add.
    ys = np.arange(h, dtype=np.float32)[:, None] * (k * np.float32(np.sin(angle)))
    xs = np.arange(w, dtype=np.float32)[None, :] * (k * np.float32(np.cos(angle)))
    field = np.sin(ys + xs + np.float32(phase))
    if sharpness > 1.0:
        field = np.tanh(field * np.float32(sharpness)) / np.float32(np.tanh(sharpness))
    return field.astype(np.float32, copy=False)


def linear_gradient(
    rng: np.random.Generator, shape: tuple[int, int], angle: float | None = None
) -> np.ndarray:
    """A linear ramp across the field.

    Arguments:
      rng: source of randomness (the angle when ``angle`` is None).
      shape: (H, W) of the field.
      angle: ramp direction in radians; random when None.

    Returns:
      np.ndarray: HxW float32 in [-1, 1].
    """
    h, w = int(shape[0]), int(shape[1])
    if angle is None:
        angle = float(rng.uniform(0.0, 2.0 * np.pi))
    ys = (np.arange(h, dtype=np.float32) - (h - 1) / 2)[:, None] * np.float32(np.sin(angle))
    xs = (np.arange(w, dtype=np.float32) - (w - 1) / 2)[None, :] * np.float32(np.cos(angle))
    field = ys + xs
    half = np.float32(max(abs(field).max(), 1e-6))
    return field / half


def radial_falloff(
    shape: tuple[int, int], centre: tuple[float, float], radius: float
) -> np.ndarray:
    """Squared distance from a centre, normalised by a radius (a vignette or spot-light).

    Arguments:
      shape: (H, W) of the field.
      centre: (y, x) in pixels.
      radius: distance at which the field reaches 1.

    Returns:
      np.ndarray: HxW float32, 0 at the centre, 1 at ``radius``, growing quadratically.
    """
    h, w = int(shape[0]), int(shape[1])
    r2 = np.float32(max(radius, 1e-6) ** 2)
    dy = (np.arange(h, dtype=np.float32) - np.float32(centre[0])) ** 2 / r2
    dx = (np.arange(w, dtype=np.float32) - np.float32(centre[1])) ** 2 / r2
    return dy[:, None] + dx[None, :]


def checker(
    rng: np.random.Generator, shape: tuple[int, int], period: float, angle: float | None = None
) -> np.ndarray:
    """A soft checkerboard (floor tiles, paving) at a random angle.

    Arguments:
      rng: source of randomness.
      shape: (H, W) of the field.
      period: tile size in pixels.
      angle: grid rotation in radians; random when None.

    Returns:
      np.ndarray: HxW float32 in [-1, 1].
    """
    if angle is None:
        angle = float(rng.uniform(0.0, np.pi / 2))
    a = stripes(rng, shape, 2.0 * period, sharpness=6.0, angle=angle)
    b = stripes(rng, shape, 2.0 * period, sharpness=6.0, angle=angle + np.pi / 2)
    return a * b


def edge_shading(mask: np.ndarray, width: float) -> np.ndarray:
    """Interior depth of a mask, for darkening objects towards their outline (a rounded look).

    Arguments:
      mask: HxW uint8 or bool, non-zero inside.
      width: distance in pixels over which the shading fades out.

    Returns:
      np.ndarray: HxW float32 in [0, 1]: 1 on the outline, decaying to 0 deep inside.
    """
    m = (np.asarray(mask) > 0).astype(np.uint8)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    return np.exp(-dist / np.float32(max(width, 0.5))).astype(np.float32)


def hsv_colour(hue_deg: float, sat: float, val: float) -> np.ndarray:
    """One RGB colour from hue (degrees, any value, wrapped), saturation and value in [0, 1].

    Returns:
      np.ndarray: (3,) float32 RGB in [0, 1].
    """
    r, g, b = colorsys.hsv_to_rgb(
        (hue_deg % 360.0) / 360.0, float(np.clip(sat, 0, 1)), float(np.clip(val, 0, 1))
    )
    return np.array([r, g, b], np.float32)
