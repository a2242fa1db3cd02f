"""The CAM score format: ``CxHxW`` class scores, the ``{"keys", "cam"}`` dictionary, decoding.

Weakly supervised semantic segmentation methods publish class activation maps per image either
as a dense ``CxHxW`` array (channel ``k`` for class ``k + 1``) or as a dictionary of the classes
present, ``{"keys": K class ids, "cam": KxHxW scores}``. Here the keys are 1-based class ids;
IRN-style ``.npy`` files store 0-based foreground keys, so add 1 before decoding them. Decoding
follows SAMRefiner's convention: background score ``1 - max over classes`` (or a fixed value),
label = argmax over [background, classes], ties to background, optional 255 on ignore pixels.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_number

IGNORE = 255
MAX_CLASSES = 254  # labels 1..254 fit a uint8 map next to background 0 and ignore 255


def decode_cam_scores(
    scores: np.ndarray, background: float | None = None, ignore: np.ndarray | None = None
) -> np.ndarray:
    """Label map from CxHxW class scores: argmax over [background, classes].

    Arguments:
      scores: CxHxW float scores, channel k for class k + 1 (C <= 254).
      background: fixed background score, or None for ``1 - max over classes`` (ties go to
        background).
      ignore: HxW bool pixels to label 255, or None.

    Returns:
      HxW uint8 labels in {0, 1..C} (and 255 where ``ignore``).
    """
    if not isinstance(scores, np.ndarray) or scores.ndim != 3 or scores.shape[0] < 1:
        raise ValueError(f"scores must be a CxHxW numpy array, got {describe_array(scores)}")
    if scores.shape[0] > MAX_CLASSES:
        raise ValueError(f"scores must have at most {MAX_CLASSES} channels")
    keys = np.arange(1, scores.shape[0] + 1)
    return _decode(scores, keys, background, ignore)


def to_cam_dict(scores: np.ndarray) -> dict[str, np.ndarray]:
    """Compact CAM dictionary of the classes that fire anywhere.

    Arguments:
      scores: CxHxW float scores, channel k for class k + 1.

    Returns:
      {"keys": (K,) int64 class ids (1-based), "cam": KxHxW float32}.
    """
    if not isinstance(scores, np.ndarray) or scores.ndim != 3:
        raise ValueError(f"scores must be a CxHxW numpy array, got {describe_array(scores)}")
    active = np.flatnonzero(scores.reshape(scores.shape[0], -1).max(axis=1) > 0)
    return {
        "keys": (active + 1).astype(np.int64),
        "cam": scores[active].astype(np.float32, copy=True),
    }


def decode_cam_dict(
    cam: dict[str, np.ndarray], background: float | None = None, ignore: np.ndarray | None = None
) -> np.ndarray:
    """Label map from a ``{"keys", "cam"}`` dictionary (see :func:`to_cam_dict`).

    Arguments:
      cam: {"keys": (K,) class ids in 1..254, "cam": KxHxW scores}; K may be 0 only if
        ``ignore`` is given (it fixes the output size).
      background: fixed background score, or None for ``1 - max over classes``.
      ignore: HxW bool pixels to label 255, or None.

    Returns:
      HxW uint8 labels.
    """
    if not isinstance(cam, dict) or "keys" not in cam or "cam" not in cam:
        raise ValueError("cam must be a dict with 'keys' and 'cam' entries")
    keys = np.asarray(cam["keys"]).reshape(-1)
    maps = np.asarray(cam["cam"])
    if maps.ndim != 3 or maps.shape[0] != keys.size:
        raise ValueError(
            f"cam['cam'] must be KxHxW with K = len(cam['keys']) = {keys.size}, got {maps.shape}"
        )
    if keys.size and (
        not np.issubdtype(keys.dtype, np.integer) or keys.min() < 1 or keys.max() > MAX_CLASSES
    ):
        raise ValueError(f"cam['keys'] must be integer class ids in 1..{MAX_CLASSES}")
    if keys.size == 0:
        if ignore is None:
            raise ValueError("an empty cam dict needs `ignore` to know the image size")
        return np.where(ignore, np.uint8(IGNORE), np.uint8(0))
    return _decode(maps, keys, background, ignore)


def _decode(
    scores: np.ndarray, keys: np.ndarray, background: float | None, ignore: np.ndarray | None
) -> np.ndarray:
    """Argmax over [background, KxHxW scores], mapped to [0, keys...], 255 on ``ignore``."""
    if ignore is not None and (
        not isinstance(ignore, np.ndarray) or ignore.shape != scores.shape[1:]
    ):
        raise ValueError(f"ignore must be an HxW array of shape {scores.shape[1:]}")
    fixed = None if background is None else np.float32(check_number(background, "background"))
    # A channel that never rises above the lowest possible background score cannot win (ties
    # go to background), so only the others take part: usually a handful out of C.
    peaks = scores.reshape(scores.shape[0], -1).max(axis=1)
    active = np.flatnonzero(peaks > (0.0 if fixed is None else fixed))
    out = np.zeros(scores.shape[1:], dtype=np.uint8)
    if active.size:
        subset = scores[active].astype(np.float32, copy=False)
        best = subset.argmax(axis=0)
        top = np.take_along_axis(subset, best[None], axis=0)[0]
        bg = np.float32(1.0) - top if fixed is None else fixed
        out = np.where(top > bg, keys[active].astype(np.uint8)[best], out)
    if ignore is not None:
        out[ignore.astype(bool)] = IGNORE
    return out


def describe_array(value: object) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
