"""Loading and validating images and coarse masks.

Every public entry point of the library funnels its inputs through :func:`load_image` and
:func:`load_masks`, so that bad input fails here, with a message naming the input, instead of
deep inside torch with a shape error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

PathLike = str | os.PathLike
ImageInput = PathLike | np.ndarray | Image.Image
MaskInput = PathLike | np.ndarray | Image.Image


class InputError(ValueError):
    """Raised when an image or mask given to the library is unusable; the message names it."""


def read_image_file(path: PathLike, what: str) -> Image.Image:
    """Open and fully decode an image file, or raise InputError naming ``what`` and the path."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    if not path.is_file():
        raise InputError(f"{what}: not a regular file: {path}")
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{what}: cannot decode {path} as an image ({exc})") from exc
    return img


def load_image(image: ImageInput, name: str = "image") -> np.ndarray:
    """Return an image as a contiguous HxWx3 uint8 RGB array.

    Arguments:
      image: a path, a PIL image or an array. Arrays may be HxW (grayscale), HxWx1, HxWx3 or
        HxWx4 (alpha is dropped); dtype uint8, or float in [0, 1] (scaled by 255).
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxWx3, uint8.
    """
    if isinstance(image, (str, os.PathLike)):
        image = read_image_file(image, name)
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a path, PIL image or numpy array, got {type(image)!r}")
    arr = image
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(
            f"{name}: expected shape HxW, HxWx1, HxWx3 or HxWx4, got {tuple(image.shape)}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name}: image has zero size {tuple(image.shape)}")
    if arr.dtype == np.bool_:
        raise InputError(f"{name}: boolean array is a mask, not an image")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: float image contains NaN or infinity")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"{name}: float images must lie in [0, 1], got range [{lo:.3g}, {hi:.3g}]"
            )
        arr = np.round(arr * 255.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 255:
            raise InputError(f"{name}: integer images must lie in [0, 255] ({arr.dtype})")
        arr = arr.astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def _binarise(arr: np.ndarray, name: str) -> np.ndarray:
    """Turn one 2-D mask array into bool, accepting {0,1}, {0,255}, bool and float in [0,1]."""
    if arr.dtype == np.bool_:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: float mask contains NaN or infinity")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"{name}: float masks must be probabilities in [0, 1], got [{lo:.3g}, {hi:.3g}]"
            )
        return arr >= 0.5
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name}: unsupported mask dtype {arr.dtype}")
    values = np.unique(arr)
    if np.isin(values, (0, 1)).all():
        return arr == 1
    if np.isin(values, (0, 255)).all():
        return arr == 255
    raise InputError(
        f"{name}: integer masks must hold only {{0, 1}} or {{0, 255}}, found values "
        f"{values[:8].tolist()}{' ...' if values.size > 8 else ''}; threshold soft masks first"
    )


def _mask_to_array(mask: MaskInput, name: str) -> np.ndarray:
    if isinstance(mask, (str, os.PathLike)):
        pil = read_image_file(mask, name)
        # Palette and RGB(A) PNGs carry the mask in the first band; grayscale is used as is.
        if pil.mode in ("RGB", "RGBA", "P", "LA"):
            pil = pil.convert("RGB") if pil.mode == "P" else pil
            arr = np.asarray(pil)[..., 0]
        else:
            arr = np.asarray(pil)
        return arr
    if isinstance(mask, Image.Image):
        return np.asarray(mask.convert("L"))
    if isinstance(mask, np.ndarray):
        return mask
    try:
        import torch

        if isinstance(mask, torch.Tensor):
            return mask.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    raise InputError(f"{name}: expected a path, PIL image or array, got {type(mask)!r}")


def load_masks(
    masks: MaskInput | Sequence[MaskInput],
    image_shape: tuple[int, int] | None = None,
    name: str = "masks",
) -> np.ndarray:
    """Return coarse masks as an NxHxW bool array.

    Arguments:
      masks: one mask (path, PIL image, HxW or HxWx1 array) or several (a list of those, or an
        NxHxW array). Values may be bool, {0, 1}, {0, 255} or floats in [0, 1] (threshold 0.5).
      image_shape: (H, W) every mask must match, usually the image's.
      name: how error messages refer to this input.

    Returns:
      np.ndarray: NxHxW, bool. N may be 0 for an empty list.
    """
    if isinstance(masks, np.ndarray) and masks.ndim == 3 and masks.shape[-1] != 1:
        if masks.dtype == np.bool_ and (image_shape is None
                                        or masks.shape[1:] == tuple(image_shape)):
            # Already in the output format: no per-mask copies (a batch can be gigabytes).
            return np.ascontiguousarray(masks)
        items: list[MaskInput] = list(masks)
    elif isinstance(masks, (list, tuple)):
        items = list(masks)
    else:
        items = [masks]
    out = []
    for i, m in enumerate(items):
        label = f"{name}[{i}]"
        arr = _mask_to_array(m, label)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 2:
            raise InputError(f"{label}: expected a 2-D mask (HxW), got shape {tuple(arr.shape)}")
        arr = _binarise(arr, label)
        if image_shape is not None and arr.shape != tuple(image_shape):
            raise InputError(
                f"{label}: mask size {arr.shape[0]}x{arr.shape[1]} (HxW) differs from the image "
                f"size {image_shape[0]}x{image_shape[1]}"
            )
        out.append(arr)
    if not out:
        h, w = image_shape if image_shape is not None else (0, 0)
        return np.zeros((0, h, w), dtype=bool)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise InputError(f"{name}: masks have different sizes {sorted(shapes)}")
    return np.stack(out, axis=0)


def save_mask(mask: np.ndarray, path: PathLike) -> None:
    """Write a binary mask as an 8-bit 0/255 PNG, atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(tmp, format="PNG")
    os.replace(tmp, path)
