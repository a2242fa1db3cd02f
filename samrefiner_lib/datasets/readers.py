"""Small, strict image and mask readers shared by the dataset loaders.

Each reader fails with a :class:`DatasetError` that names the file and says what was expected,
so a broken download surfaces as "cannot decode .../boundary_GT/x.bmp" rather than as a numpy
shape error three calls later.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from ..io import InputError, palette_mask, read_image_file
from .sample import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def open_image(path: str | os.PathLike, what: str = "image") -> Image.Image:
    """Open and fully decode an image file, or raise DatasetError naming it."""
    try:
        return read_image_file(path, what)
    except InputError as exc:
        raise DatasetError(str(exc)) from exc


def read_rgb(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file as RGB.

    Arguments:
      path: image file (any format PIL reads: JPEG, PNG, BMP, ...).
      size: optional (H, W) to resize to with bilinear interpolation.

    Returns:
      np.ndarray: HxWx3 uint8, C-contiguous.
    """
    img = open_image(path, "image").convert("RGB")
    if size is not None and (img.height, img.width) != tuple(size):
        img = img.resize((int(size[1]), int(size[0])), Image.BILINEAR)
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file as one 8-bit channel, without thresholding.

    Grayscale files are returned as stored. For RGB(A) files the first channel is used, as the
    interactive-segmentation benchmarks' reference loaders do (their masks have R = G = B).
    Palette files are read by index, never by colour (:func:`samrefiner_lib.io.palette_mask`):
    index 0 reads as 0 and the one other index as 255; a palette file with more than one
    non-zero index is refused (use :func:`read_label_map` for class-index PNGs).

    Arguments:
      path: mask file.

    Returns:
      np.ndarray: HxW uint8.
    """
    img = open_image(path, "mask")
    if img.mode in ("RGB", "RGBA", "LA"):
        arr = np.asarray(img)[..., 0]
    elif img.mode in ("P", "PA"):
        try:
            arr = palette_mask(img, f"mask: {path}")
        except InputError as exc:
            raise DatasetError(str(exc)) from exc
    elif img.mode in ("L", "1"):
        arr = np.asarray(img.convert("L"))
    elif img.mode in ("I", "I;16", "I;16B", "F"):
        arr = np.asarray(img)
        if arr.min() < 0 or arr.max() > 255:
            raise DatasetError(
                f"mask: {path} is a {img.mode} image with values outside 0..255; expected an "
                "8-bit mask"
            )
        arr = arr.astype(np.uint8)
    else:
        raise DatasetError(f"mask: {path} has unsupported image mode {img.mode!r}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """Read a class-index PNG (VOC-style palette or plain 8-bit grayscale).

    The stored indices are returned, not the palette colours: in a VOC ``SegmentationClass`` PNG
    a pixel of index 15 (person) reads as 15 and the boundary band as 255.

    Arguments:
      path: ``P`` (palette) or ``L`` (grayscale) PNG.

    Returns:
      np.ndarray: HxW uint8 class indices.
    """
    img = open_image(path, "label map")
    if img.mode not in ("P", "L"):
        raise DatasetError(
            f"label map: {path} has mode {img.mode!r}; expected a palette ('P') or 8-bit "
            "grayscale ('L') PNG holding class indices (colour-coded RGB label images must be "
            "converted first)"
        )
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def list_images(folder: str | os.PathLike, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Sorted image files directly inside a folder (case-insensitive suffix match).

    Arguments:
      folder: directory to list.
      suffixes: accepted lower-case suffixes, with the dot.

    Returns:
      list[Path]: files sorted by name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"folder not found: {folder}")
    allowed = {s.lower() for s in suffixes}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in allowed)


def index_by_stem(paths: Iterable[Path], folder: str | os.PathLike) -> dict[str, Path]:
    """Map file stems to paths, refusing ambiguous stems (two files that differ only by suffix).

    Arguments:
      paths: files to index.
      folder: the folder they come from, for the error message.

    Returns:
      dict[str, Path]: stem -> path.
    """
    out: dict[str, Path] = {}
    for p in paths:
        if p.stem in out:
            raise DatasetError(
                f"{folder}: two files share the stem {p.stem!r} ({out[p.stem].name}, {p.name}); "
                "cannot tell which one pairs with the other folder"
            )
        out[p.stem] = p
    return out
