"""Applying a binary-mask baseline to a semantic label map, one class at a time.

Baselines refine binary masks. For a label map (VOC style: 0 background, 1..K-1 classes, 255
ignore) each class present becomes one mask, the baseline refines it, and the refined masks are
painted back:

* a pixel claimed by several refined classes takes the highest class id (the paint order of
  :func:`~samrefiner_lib.datasets.voc.masks_to_labels`; overlaps are rare and small for
  smoothing baselines);
* a pixel no refined class claims becomes background (0), except pixels that were 255 in the
  coarse map, which stay 255 ("no label") so an uncertain region is not turned into a
  confident background by a baseline that never looked at it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..datasets.voc import IGNORE_INDEX, masks_to_labels


class MaskBaseline(Protocol):
    """Anything with ``refine(image, coarse NxHxW bool) -> NxHxW bool``."""

    def refine(self, image: np.ndarray, coarse: np.ndarray) -> np.ndarray: ...


def refine_label_map(baseline: MaskBaseline, image: np.ndarray, labels: np.ndarray,
                     ignore_index: int = IGNORE_INDEX, background: int = 0) -> np.ndarray:
    """Refine each class of a label map with a binary-mask baseline and merge the classes back.

    Arguments:
      baseline: a binary-mask refiner.
      image: HxWx3 uint8 image.
      labels: HxW integer class map (``ignore_index`` = no label).
      ignore_index: the "no label" value.
      background: the background class id (not refined).

    Returns:
      np.ndarray: HxW uint8 refined class map.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels: expected an HxW label map, got shape {labels.shape}")
    if np.shape(image)[:2] != labels.shape:
        raise ValueError(f"labels: map is {labels.shape} but the image is {np.shape(image)[:2]}")
    ids = [int(c) for c in np.unique(labels) if c not in (ignore_index, background)]
    masks = np.stack([labels == c for c in ids]) if ids else np.zeros((0, *labels.shape), bool)
    refined = np.asarray(baseline.refine(image, masks), dtype=bool) if ids else masks
    out = masks_to_labels(refined, ids, background=background)
    out[(labels == ignore_index) & ~refined.any(axis=0)] = ignore_index
    return out
