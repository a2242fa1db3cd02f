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

The resizing itself is done by one of two libraries (``resize_backend``):

* ``"opencv"``: ``cv2.resize`` (fast; the default).
* ``"torch"``: ``torch.nn.functional.interpolate`` (bilinear, ``align_corners=False``), as the
  reference code does, for the ``"reference"`` mapping only. The two differ in the last bits,
  and the +-1 map is exactly 0 where a pixel sits halfway between foreground and background, so
  last bits decide its sign there: only the library the reference code used gives its grid.
  With this backend the reference form's weights are also evaluated as the reference code does,
  with float32 torch operations (``"opencv"`` evaluates them in float64).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .points import MaskDistances

MaskForm = Literal["paper", "reference", "binary"]
GridMapping = Literal["area", "reference"]
ResizeBackend = Literal["opencv", "torch"]

_RESIZE_BACKENDS = ("opencv", "torch")


def _reference_weights_float32(dist: np.ndarray, area: int, gamma: float) -> np.ndarray:
    """The reference form in float32 torch arithmetic, in the reference code's order of steps.

    Arguments:
      dist: hxw distances (0 on background).
      area: number of foreground pixels.
      gamma: spread parameter.

    Returns:
      np.ndarray: hxw float32, 0 where the distance is 0.
    """
    d = torch.from_numpy(np.ascontiguousarray(dist, dtype=np.float32))
    # int64 count / float scalar gives a float32 tensor there; max(., 1) keeps it unless < 1.
    spread = torch.tensor(area, dtype=torch.int64) / gamma
    spread = spread if spread >= 1 else 1
    d0 = d - d.max()
    g = torch.exp(-d0 * d0 / spread)
    g[d == 0] = 0
    return g.numpy()


def crop_weights(
    mask: np.ndarray,
    form: MaskForm,
    gamma: float,
    point: np.ndarray | None = None,
    distances: MaskDistances | None = None,
    backend: ResizeBackend = "opencv",
) -> tuple[np.ndarray, tuple[int, int]]:
    """Centre-prior weights on the mask's box (plus a one-pixel ring), and the box's origin.

    Arguments:
      mask: HxW bool, non-empty.
      form: ``"paper"``, ``"reference"`` or ``"binary"`` (ones inside the mask).
      gamma: spread parameter (> 0).
      point: (x, y) centre for the paper form (the positive point).
      distances: precomputed :class:`MaskDistances` (reference form; also gives the crop).
      backend: ``"torch"`` evaluates the reference form in float32 torch arithmetic, as the
        reference code does; ``"opencv"`` in float64. The other forms do not depend on it.

    Returns:
      (hxw float32 weights in [0, 1], 0 outside the mask; (x, y) of the crop in the image)
    """
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    d = distances if distances is not None else MaskDistances.of(mask)
    cx0, cy0 = d.origin
    ch, cw = d.inside.shape
    if form == "binary":
        return d.inside.astype(np.float32), d.origin
    area = float(np.count_nonzero(d.inside))
    if form == "paper":
        if point is None:
            raise ValueError("the paper form needs the positive point (x0, y0)")
        ys = np.arange(cy0, cy0 + ch, dtype=np.float64)[:, None] - float(point[1])
        xs = np.arange(cx0, cx0 + cw, dtype=np.float64)[None, :] - float(point[0])
        # The Gaussian is separable: h + w exponentials instead of h * w.
        crop = np.exp(-(ys * ys) / (area * gamma)) * np.exp(-(xs * xs) / (area * gamma))
    elif form == "reference" and backend == "torch":
        # Zero where the distance is 0, which is the background: the same as the mask below.
        return _reference_weights_float32(d.dist, int(area), gamma), d.origin
    elif form == "reference":
        dd = d.dist - d.max_distance
        crop = np.exp(-(dd * dd) / max(area / gamma, 1.0))
    else:
        raise ValueError(f"unknown mask prompt form {form!r}; expected paper, reference or binary")
    return np.where(d.inside, crop, 0.0).astype(np.float32), d.origin


def gaussian_weights(
    mask: np.ndarray,
    form: MaskForm,
    gamma: float,
    point: np.ndarray | None = None,
    distances: MaskDistances | None = None,
    backend: ResizeBackend = "opencv",
) -> np.ndarray:
    """Centre-prior weights in [0, 1] inside the mask, 0 outside, at full size.

    Arguments: as :func:`crop_weights`.

    Returns:
      np.ndarray: HxW float32.
    """
    crop, (cx0, cy0) = crop_weights(mask, form, gamma, point, distances, backend)
    out = np.zeros(mask.shape, np.float32)
    out[cy0 : cy0 + crop.shape[0], cx0 : cx0 + crop.shape[1]] = crop
    return out


def _to_square(x: np.ndarray, input_size: tuple[int, int], img_size: int, pad: float,
               interpolation: int) -> np.ndarray:
    """Resize an HxW map to ``input_size`` (the resized image) and pad it to img_size^2."""
    h_r, w_r = input_size
    if x.shape != (h_r, w_r):
        x = cv2.resize(x, (w_r, h_r), interpolation=interpolation)
    if (h_r, w_r) == (img_size, img_size):
        return x  # nothing to pad; a copy would only cost a full-size allocation per mask
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
    sq = _to_square(np.asarray(logits, dtype=np.float32), input_size, img_size, pad_value,
                    cv2.INTER_AREA)
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
    origin: tuple[int, int] = (0, 0),
    resize_backend: ResizeBackend = "opencv",
) -> np.ndarray:
    """Mask-prompt logits on the model's mask-input grid.

    Arguments:
      mask: HxW bool coarse mask.
      weights: centre-prior weights, either HxW (:func:`gaussian_weights`) or a window of the
        image that holds every foreground pixel, placed at ``origin`` (:func:`crop_weights`).
      amplitude: logit magnitude (omega in the paper, strength in the reference code).
      input_size, img_size, grid_size: as in :func:`to_mask_grid`.
      grid_mapping: ``"area"`` or ``"reference"`` (see the module docstring).
      origin: (x, y) of ``weights`` in the image.
      resize_backend: ``"opencv"`` or ``"torch"`` (``"reference"`` mapping only).

    Returns:
      np.ndarray: grid_h x grid_w float32 logits.
    """
    if amplitude <= 0:
        raise ValueError(f"mask prompt amplitude must be > 0, got {amplitude}")
    if resize_backend not in _RESIZE_BACKENDS:
        raise ValueError(f"resize_backend must be one of {_RESIZE_BACKENDS}, "
                         f"got {resize_backend!r}")
    if resize_backend == "torch" and grid_mapping != "reference":
        raise ValueError("resize_backend='torch' reproduces the reference code's bilinear "
                         "mapping; use it with grid_mapping='reference'")
    ox, oy = origin
    h, w = weights.shape
    window = (slice(oy, oy + h), slice(ox, ox + w))
    amp = float(amplitude)
    if grid_mapping == "area":
        # Only the window is computed; the rest of the map is background (-amplitude).
        logits = np.full(mask.shape, -amp, np.float32)
        logits[window] = np.where(mask[window], amp * weights, -amp)
        return to_mask_grid(logits, input_size, img_size, grid_size, -amp)
    if grid_mapping != "reference":
        raise ValueError(f"unknown grid_mapping {grid_mapping!r}; expected area or reference")
    gh, gw = grid_size
    full = np.zeros(mask.shape, np.float32)
    full[window] = weights
    if resize_backend == "torch":
        return _reference_grid_torch(mask, full, amp, input_size, img_size, grid_size)
    sign = _to_square(np.where(mask, 1.0, -1.0).astype(np.float32), input_size, img_size, -1.0,
                      cv2.INTER_LINEAR)
    gauss = _to_square(full, input_size, img_size, 0.0, cv2.INTER_LINEAR)
    sign = cv2.resize(sign, (gw, gh), interpolation=cv2.INTER_LINEAR)
    gauss = cv2.resize(gauss, (gw, gh), interpolation=cv2.INTER_LINEAR)
    gauss = np.where(gauss <= 0, 1.0, gauss)
    return (np.where(sign > 0, amp, -amp) * gauss).astype(np.float32)


def _reference_grid_torch(mask: np.ndarray, weights: np.ndarray, amplitude: float,
                          input_size: tuple[int, int], img_size: int,
                          grid_size: tuple[int, int]) -> np.ndarray:
    """The ``"reference"`` mapping with PyTorch's bilinear resizing, step for step as there.

    Arguments:
      mask: HxW bool coarse mask.
      weights: HxW float32 centre-prior weights (0 outside the mask).
      amplitude: logit magnitude.
      input_size, img_size, grid_size: as in :func:`to_mask_grid`.

    Returns:
      np.ndarray: grid_h x grid_w float32 logits.
    """
    h_r, w_r = input_size
    pad = (0, img_size - w_r, 0, img_size - h_r)

    def to_grid(x: torch.Tensor, pad_value: float) -> torch.Tensor:
        x = F.interpolate(x[None, None], (h_r, w_r), mode="bilinear", align_corners=False)
        x = F.pad(x, pad, "constant", pad_value)
        return F.interpolate(x, tuple(grid_size), mode="bilinear", align_corners=False)[0, 0]

    sign = to_grid(torch.from_numpy(np.where(mask, 1.0, -1.0).astype(np.float32)), -1.0)
    gauss = to_grid(torch.from_numpy(weights), 0.0)
    amp = torch.where(sign > 0, torch.tensor(amplitude, dtype=torch.float32),
                      torch.tensor(-amplitude, dtype=torch.float32))
    gauss = torch.where(gauss <= 0, torch.ones_like(gauss), gauss)
    return (amp * gauss).numpy()
