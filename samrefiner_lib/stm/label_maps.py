"""Semantic label maps in and out: validation, palette/grayscale PNG reading, palette writing.

A label map is an HxW array of class indices: 0 background, 1..254 classes, 255 ignore (the
PASCAL VOC "void" band, never refined and never scored). On disk it is a palette PNG whose
indices are the classes (what VOC and most weakly supervised methods publish) or an 8-bit
grayscale PNG holding the same indices.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..datasets.voc import write_label_png
from ..io import InputError, read_image_file

#: Label of pixels that are neither refined nor scored.
IGNORE = 255
#: Label of pixels no class claims.
BACKGROUND = 0

LabelMapInput = str | os.PathLike | np.ndarray | Image.Image


def check_label_map(
    labels: object, name: str = "label_map", shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Validate an in-memory label map and return it as HxW uint8.

    Arguments:
      labels: HxW integer array with values in 0..255 (255 = ignore). Bool and float arrays are
        refused: a binary mask or a score map is not a label map.
      name: how error messages refer to this input.
      shape: (H, W) the map must have, usually the image's.

    Returns:
      np.ndarray: HxW uint8 (a copy when the dtype changes, the same values).
    """
    if not isinstance(labels, np.ndarray):
        raise InputError(f"{name}: expected an HxW integer array, got {type(labels).__name__}")
    if labels.ndim == 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2:
        raise InputError(f"{name}: expected an HxW label map, got shape {tuple(labels.shape)}")
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(
            f"{name}: expected integer class indices, got dtype {labels.dtype} (decode score "
            "maps first, e.g. with labels_from_cam)"
        )
    if labels.size and (labels.min() < 0 or labels.max() > IGNORE):
        raise InputError(
            f"{name}: class indices must lie in 0..{IGNORE}, got range "
            f"[{labels.min()}, {labels.max()}]"
        )
    if shape is not None and labels.shape != tuple(shape):
        raise InputError(
            f"{name}: label map size {labels.shape[0]}x{labels.shape[1]} (HxW) differs from the "
            f"image size {shape[0]}x{shape[1]}"
        )
    return np.ascontiguousarray(labels, dtype=np.uint8)


def _pil_indices(img: Image.Image, name: str) -> np.ndarray:
    """The class indices stored in a palette or grayscale image (never the palette colours)."""
    if img.mode not in ("P", "L"):
        raise InputError(
            f"{name}: image mode {img.mode!r} holds no class indices; expected a palette ('P') "
            "or 8-bit grayscale ('L') PNG (convert colour-coded label images first)"
        )
    return np.asarray(img, dtype=np.uint8)


def load_label_map(
    source: LabelMapInput, name: str = "label_map", shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Read a label map from a file, a PIL image or an array.

    Arguments:
      source: path to a palette/grayscale PNG, a PIL image in mode ``P`` or ``L``, or an HxW
        integer array.
      name: how error messages refer to this input.
      shape: (H, W) the map must have.

    Returns:
      np.ndarray: HxW uint8 class indices.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        source = _pil_indices(read_image_file(path, name), f"{name} ({path})")
    elif isinstance(source, Image.Image):
        source = _pil_indices(source, name)
    return check_label_map(source, name, shape)


def save_label_map(labels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an HxW label map as a VOC palette PNG (indices = classes), atomically.

    Arguments:
      labels: HxW integer array in 0..255.
      path: destination ``.png``.

    Returns:
      Path: ``path``.
    """
    return write_label_png(check_label_map(labels, "labels"), path)
