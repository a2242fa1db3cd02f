"""Gaussian-style mask prompts (METHOD.md section 1.3).

SAM's mask input expects logits like those of its own previous prediction, not a binary mask. The
method turns the coarse mask into a smooth logit map that is highest at the object's centre, so
that SAM trusts the interior and leaves the boundary to the image.

Two forms exist:

* ``"paper"``: ``omega * exp(-((x - x0)^2 + (y - y0)^2) / (|M| * gamma))`` inside the mask, centred
  on the positive point (x0, y0), with omega = 15 and gamma = 4 by default.
* ``"reference"``: ``strength * exp(-(D - D_max)^2 / max(|M| / gamma, 1))`` inside the mask, with D
  the distance transform of the mask, strength = 30 and gamma = 4 by default.

A third form, ``"binary"``, is the plain mask (+amplitude inside), the naive mask prompt of the
ablations. In every form the pixels outside the mask, and the padding, get ``-amplitude``.

The map is then resampled onto the model's mask-input grid the way images are: the longest side
is resized to the encoder's input size, the result padded to a square, then shrunk to the grid
(``sam.prompt_encoder.mask_input_size``). Two resampling modes exist (``grid_mapping``):

* ``"area"``: the logit map is resampled with area averaging (antialiased), giving logits that fall
  smoothly from +amplitude to -amplitude across the boundary.
* ``"reference"``: as the reference code: the binary mask (as +-1) and the Gaussian are each resized
  bilinearly (no antialiasing), then the logit is ``sign(mask) * amplitude * gaussian`` (with the
  Gaussian replaced by 1 where it is 0).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from .points import MaskDistances

MaskForm = Literal["paper", "reference", "binary"]
GridMapping = Literal["area", "reference"]


def gaussian_weights(
    mask: np.ndarray,
    form: MaskForm,
    gamma: float,
    point: np.ndarray | None = None,
    distances: MaskDistances | None = None,
) -> np.ndarray:
    """Centre-prior weights in [0, 1] inside the mask, 0 outside.

    Arguments:
      mask: HxW bool, non-empty.
      form: ``"paper"``, ``"reference"`` or ``"binary"`` (all ones inside the mask).
      gamma: spread parameter (> 0).
      point: (x, y) centre for the paper form (the positive point).
      distances: precomputed :class:`MaskDistances` (reference form; also gives the crop).

    Returns:
      np.ndarray: HxW float32.
    """
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    if form == "binary":
        return mask.astype(np.float32)
    d = distances if distances is not None else MaskDistances.of(mask)
    area = float(np.count_nonzero(d.inside))
    cx0, cy0 = d.origin
    ch, cw = d.inside.shape
    if form == "paper":
        if point is None:
            raise ValueError("the paper form needs the positive point (x0, y0)")
        ys = np.arange(cy0, cy0 + ch, dtype=np.float64)[:, None] - float(point[1])
        xs = np.arange(cx0, cx0 + cw, dtype=np.float64)[None, :] - float(point[0])
        crop = np.exp(-(xs * xs + ys * ys) / (area * gamma))
    elif form == "reference":
        dd = d.dist.astype(np.float64) - d.max_distance
        crop = np.exp(-(dd * dd) / max(area / gamma, 1.0))
    else:
        raise ValueError(f"unknown mask prompt form {form!r}; expected paper, reference or binary")
    out = np.zeros(mask.shape, np.float32)
    out[cy0 : cy0 + ch, cx0 : cx0 + cw] = np.where(d.inside, crop, 0.0)
    return out


def _to_square(x: np.ndarray, input_size: tuple[int, int], img_size: int, pad: float,
               interpolation: int) -> np.ndarray:
    """Resize an HxW map to ``input_size`` (the resized image) and pad it to img_size^2."""
    h_r, w_r = input_size
    if x.shape != (h_r, w_r):
        x = cv2.resize(x, (w_r, h_r), interpolation=interpolation)
    out = np.full((img_size, img_size), pad, np.float32)
    out[:h_r, :w_r] = x
    return out


def to_mask_grid(
    logits: np.ndarray,
    input_size: tuple[int, int],
    img_size: int,
    grid_size: tuple[int, int],
    pad_value: float,
) -> np.ndarray:
    """Map an HxW logit map (original resolution) onto SAM's mask-input grid by area resampling.

    Arguments:
      logits: HxW float logit map at the original image resolution.
      input_size: (h, w) of the image after the longest-side resize.
      img_size: the image encoder's square input size (``sam.image_encoder.img_size``).
      grid_size: the mask-input grid (``sam.prompt_encoder.mask_input_size``).
      pad_value: logit for the padded area (the background logit).

    Returns:
      np.ndarray: grid_h x grid_w float32.
    """
    sq = _to_square(logits.astype(np.float32), input_size, img_size, pad_value, cv2.INTER_AREA)
    gh, gw = grid_size
    return cv2.resize(sq, (gw, gh), interpolation=cv2.INTER_AREA)


def mask_prompt_logits(
    mask: np.ndarray,
    weights: np.ndarray,
    amplitude: float,
    input_size: tuple[int, int],
    img_size: int,
    grid_size: tuple[int, int],
    grid_mapping: GridMapping = "area",
) -> np.ndarray:
    """Mask-prompt logits on the model's mask-input grid.

    Arguments:
      mask: HxW bool coarse mask.
      weights: HxW centre-prior weights from :func:`gaussian_weights`.
      amplitude: logit magnitude (omega in the paper, strength in the reference code).
      input_size, img_size, grid_size: as in :func:`to_mask_grid`.
      grid_mapping: ``"area"`` or ``"reference"`` (see the module docstring).

    Returns:
      np.ndarray: grid_h x grid_w float32 logits.
    """
    if amplitude <= 0:
        raise ValueError(f"mask prompt amplitude must be > 0, got {amplitude}")
    if grid_mapping == "area":
        logits = np.where(mask, amplitude * weights, -amplitude).astype(np.float32)
        return to_mask_grid(logits, input_size, img_size, grid_size, -float(amplitude))
    if grid_mapping != "reference":
        raise ValueError(f"unknown grid_mapping {grid_mapping!r}; expected area or reference")
    gh, gw = grid_size
    sign = _to_square(np.where(mask, 1.0, -1.0).astype(np.float32), input_size, img_size, -1.0,
                      cv2.INTER_LINEAR)
    gauss = _to_square(weights.astype(np.float32), input_size, img_size, 0.0, cv2.INTER_LINEAR)
    sign = cv2.resize(sign, (gw, gh), interpolation=cv2.INTER_LINEAR)
    gauss = cv2.resize(gauss, (gw, gh), interpolation=cv2.INTER_LINEAR)
    gauss = np.where(gauss <= 0, 1.0, gauss)
    return (np.where(sign > 0, amplitude, -amplitude) * gauss).astype(np.float32)
