"""Input checks shared by the baselines: an HxWx3 image and NxHxW masks of the same size."""

from __future__ import annotations

import numpy as np

from ..io import InputError, load_image


def check_inputs(image: np.ndarray | None, coarse: np.ndarray) -> tuple[np.ndarray | None,
                                                                        np.ndarray]:
    """Validate a baseline's inputs.

    Arguments:
      image: HxWx3 image (anything :func:`~samrefiner_lib.io.load_image` accepts), or None for
        baselines that do not look at the image.
      coarse: NxHxW masks (bool or {0, 1}).

    Returns:
      tuple: (HxWx3 uint8 image or None, NxHxW bool masks).
    """
    masks = np.asarray(coarse)
    if masks.ndim != 3:
        raise InputError(f"coarse: expected NxHxW masks, got shape {masks.shape}")
    if masks.dtype != np.bool_:
        if not np.isin(np.unique(masks), (0, 1)).all():
            raise InputError("coarse: masks must be bool or hold only 0 and 1")
        masks = masks.astype(bool)
    if image is None:
        return None, masks
    img = load_image(image, name="image")
    if img.shape[:2] != masks.shape[1:]:
        raise InputError(
            f"coarse: masks are {masks.shape[1]}x{masks.shape[2]} (HxW) but the image is "
            f"{img.shape[0]}x{img.shape[1]}"
        )
    return img, masks
