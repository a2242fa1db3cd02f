"""The one record type every dataset loader yields.

A :class:`Sample` is an image plus whatever masks the dataset has for it. Loaders differ in what
they know (ground truth only, coarse masks only, both, an ignore band), so each field that a
dataset cannot provide is ``None`` rather than an empty stand-in, and ``meta`` carries the
dataset-specific extras (ids, category labels, scores, file paths).

Conventions shared by all loaders:

* ``image`` is HxWx3 ``uint8`` RGB, C-contiguous.
* ``gt`` is NxHxW ``bool``: one binary mask per ground-truth object (instance datasets) or per
  class present in the image (semantic datasets; ``meta["gt_labels"]`` then names the class of
  each mask).
* ``coarse`` is MxHxW ``bool``: the masks to refine. When ``meta["pairing"] == "index"``,
  ``coarse[i]`` is a degraded version of ``gt[i]`` (DAVIS-585, synthetic corruptions) and M == N;
  with ``"label"`` (semantic datasets) masks correspond through their class ids
  (``meta["gt_labels"]`` / ``meta["coarse_labels"]``); with ``"none"`` the two sets are
  unrelated lists, e.g. detector outputs versus COCO annotations, to be matched by the
  evaluation code.
* ``ignore`` is HxW ``bool``: pixels to leave out of every metric (GrabCut's 128 band, VOC's 255
  boundary, COCO crowd regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class DatasetError(ValueError):
    """Raised when dataset files are missing or malformed; the message names the file."""


class SampleError(DatasetError):
    """Raised when a loader would produce an inconsistent sample; the message names it."""


def _check_masks(arr: np.ndarray | None, what: str, hw: tuple[int, int], name: str) -> None:
    if arr is None:
        return
    if not isinstance(arr, np.ndarray) or arr.dtype != np.bool_ or arr.ndim != 3:
        got = getattr(arr, "dtype", type(arr)), getattr(arr, "shape", None)
        raise SampleError(f"sample {name!r}: {what} must be an NxHxW bool array, got {got}")
    if tuple(arr.shape[1:]) != hw:
        raise SampleError(
            f"sample {name!r}: {what} masks are {arr.shape[1]}x{arr.shape[2]} (HxW) but the image "
            f"is {hw[0]}x{hw[1]}"
        )


@dataclass
class Sample:
    """One image with its ground truth, coarse masks and ignore region.

    Arguments:
      image: HxWx3 uint8 RGB.
      gt: NxHxW bool ground-truth masks, or None when the dataset has none for this image.
      coarse: MxHxW bool masks to refine, or None.
      ignore: HxW bool pixels excluded from evaluation, or None when nothing is ignored.
      name: a stable, unique (within its dataset) identifier, e.g. the file stem.
      meta: dataset-specific extras; see the module docstring for the shared keys.
    """

    image: np.ndarray
    gt: np.ndarray | None
    coarse: np.ndarray | None
    ignore: np.ndarray | None
    name: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
            raise SampleError(
                f"sample {self.name!r}: image must be an HxWx3 uint8 array, got "
                f"{getattr(img, 'dtype', type(img))} {getattr(img, 'shape', None)}"
            )
        if img.shape[2] != 3:
            raise SampleError(f"sample {self.name!r}: image has {img.shape[2]} channels, not 3")
        hw = (int(img.shape[0]), int(img.shape[1]))
        _check_masks(self.gt, "gt", hw, self.name)
        _check_masks(self.coarse, "coarse", hw, self.name)
        if self.ignore is not None:
            ign = self.ignore
            if not isinstance(ign, np.ndarray) or ign.dtype != np.bool_ or ign.shape != hw:
                raise SampleError(
                    f"sample {self.name!r}: ignore must be an HxW bool array of shape {hw}, got "
                    f"{getattr(ign, 'dtype', type(ign))} {getattr(ign, 'shape', None)}"
                )
        if self.meta.get("pairing") == "index":
            n_gt = 0 if self.gt is None else len(self.gt)
            n_coarse = 0 if self.coarse is None else len(self.coarse)
            if self.gt is not None and self.coarse is not None and n_gt != n_coarse:
                raise SampleError(
                    f"sample {self.name!r}: pairing 'index' needs as many coarse masks as gt "
                    f"masks, got {n_coarse} and {n_gt}"
                )

    @property
    def height(self) -> int:
        """Image height H in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width W in pixels."""
        return int(self.image.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image and of every mask."""
        return self.height, self.width
