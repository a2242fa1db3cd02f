"""CAM inputs: class activation maps as weakly supervised methods publish them -> label maps.

Accepted forms (one image each):

- a dictionary ``{"keys": K class ids, <cam_key>: KxHxW scores}`` (IRN/CLIP-ES style; the
  reference code reads ``"attn_highres"`` or ``"high_res"``, this project writes ``"cam"``);
  keys are 1-based class ids, or 0-based foreground ids with ``key_base=0`` (IRN files);
- a dense ``CxHxW`` array, channel k for class k + 1;
- files: ``.npy`` holding either of the above (a dictionary is stored pickled, so ``.npy``
  dictionaries are only read with ``allow_pickle=True``: open only files you trust), or ``.npz``
  with arrays ``keys`` and ``<cam_key>``.

Decoding (SAMRefiner's convention, :mod:`samrefiner_lib.defects.cam_format`): background score
``1 - max over classes`` (or a fixed ``background`` value), label = argmax over
[background, classes], ties to background.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..defects.cam_format import decode_cam_dict, decode_cam_scores
from ..io import InputError

CamInput = Mapping[str, np.ndarray] | np.ndarray


def labels_from_cam(
    cam: CamInput,
    *,
    cam_key: str = "cam",
    key_base: int = 1,
    background: float | None = None,
    shape: tuple[int, int] | None = None,
    name: str = "cam",
) -> np.ndarray:
    """Decode class activation maps into a label map.

    Arguments:
      cam: a ``{"keys", cam_key}`` dictionary or a dense CxHxW array (module docstring).
      cam_key: dictionary entry holding the KxHxW scores.
      key_base: 1 if the keys are class ids, 0 if they are 0-based foreground indices.
      background: fixed background score, or None for ``1 - max over classes``.
      shape: (H, W) the scores must have, usually the image's.
      name: how error messages refer to this input.

    Returns:
      np.ndarray: HxW uint8 labels (0 background, class ids).
    """
    if key_base not in (0, 1):
        raise ValueError(f"key_base must be 0 or 1, got {key_base!r}")
    try:
        if isinstance(cam, Mapping):
            missing = [k for k in ("keys", cam_key) if k not in cam]
            if missing:
                raise InputError(
                    f"{name}: CAM dictionary lacks {missing} (has {sorted(map(str, cam))}); "
                    "set cam_key to the entry that holds the KxHxW scores"
                )
            scores = np.asarray(cam[cam_key])
            keys = np.asarray(cam["keys"]).reshape(-1)
            if keys.size and np.issubdtype(keys.dtype, np.integer):
                keys = keys + (1 - key_base)
            _check_scores(scores, name, shape)
            return decode_cam_dict({"keys": keys, "cam": scores}, background)
        if isinstance(cam, np.ndarray):
            _check_scores(cam, name, shape)
            return decode_cam_scores(cam, background)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{name}: {exc}") from exc
    raise InputError(
        f"{name}: expected a {{'keys', '{cam_key}'}} dictionary or a CxHxW array, "
        f"got {type(cam).__name__}"
    )


def _check_scores(scores: np.ndarray, name: str, shape: tuple[int, int] | None) -> None:
    if scores.ndim != 3:
        raise InputError(f"{name}: CAM scores must be KxHxW, got shape {tuple(scores.shape)}")
    if not np.issubdtype(scores.dtype, np.floating) and not np.issubdtype(
        scores.dtype, np.integer
    ):
        raise InputError(f"{name}: CAM scores must be numbers, got dtype {scores.dtype}")
    if scores.size and not np.isfinite(scores).all():
        raise InputError(f"{name}: CAM scores contain NaN or infinity")
    if shape is not None and scores.shape[1:] != tuple(shape):
        raise InputError(
            f"{name}: CAM size {scores.shape[1]}x{scores.shape[2]} (HxW) differs from the image "
            f"size {shape[0]}x{shape[1]}"
        )


def read_cam(path: str | os.PathLike, *, allow_pickle: bool = True,
             name: str = "cam") -> CamInput:
    """Read a CAM file (``.npy`` dictionary or dense array, or ``.npz``) without decoding it.

    Arguments:
      path: the file.
      allow_pickle: let ``.npy`` files hold a pickled dictionary (how WSSS code saves them).
      name: how error messages refer to this input.

    Returns:
      a dictionary of arrays or a dense CxHxW array.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{name}: file not found: {path}")
    with path.open("rb") as fh:
        magic = fh.read(6)
    # Only real .npy/.npz files are opened: np.load would unpickle any other file.
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK\x03\x04"):
        raise InputError(f"{name}: cannot read {path} as .npy/.npz (not a numpy file)")
    try:
        data = np.load(path, allow_pickle=allow_pickle)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise InputError(f"{name}: cannot read {path} as .npy/.npz ({exc})") from exc
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return {k: data[k] for k in data.files}
    if data.dtype == object and data.shape == ():
        item = data.item()
        if not isinstance(item, Mapping):
            raise InputError(f"{name}: {path} holds a {type(item).__name__}, not a dictionary")
        return dict(item)
    return data


def load_cam(
    path: str | os.PathLike,
    *,
    cam_key: str = "cam",
    key_base: int = 1,
    background: float | None = None,
    shape: tuple[int, int] | None = None,
    allow_pickle: bool = True,
    name: str = "cam",
) -> np.ndarray:
    """Read a CAM file and decode it into a label map (see :func:`labels_from_cam`).

    Returns:
      np.ndarray: HxW uint8 labels.
    """
    cam = read_cam(path, allow_pickle=allow_pickle, name=name)
    return labels_from_cam(cam, cam_key=cam_key, key_base=key_base, background=background,
                           shape=shape, name=f"{name} ({path})")
