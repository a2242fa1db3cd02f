"""BSDS500 region segmentations as segmentation targets (objects, parts and stuff).

The shared ``BSDS500`` folder holds 404 images (``images/<id>.jpg``) and, per image, 4-9 human
partitions of it into regions (``groundTruth/<id>.mat``; ``groundTruth[0, k]["Segmentation"]``
is an HxW map of labels 1..R). Following SAM's data, every region is a target, and so are its
connected components and the unions of two neighbouring regions: whole objects, their parts and
background stuff. The 96 ids of the Berkeley interactive-segmentation benchmark are absent from
the folder, so that benchmark stays unseen.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .readers import read_rgb
from .sample import DatasetError


class BSDS500:
    """The BSDS500 folder as a sequence of image ids.

    Arguments:
      root: the ``BSDS500`` folder (holding ``images/`` and ``groundTruth/``).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        images = self.root / "images"
        truth = self.root / "groundTruth"
        if not images.is_dir() or not truth.is_dir():
            raise DatasetError(
                f"{self.root} is not a BSDS500 folder: expected images/ and groundTruth/ in it"
            )
        self.ids = sorted(p.stem for p in images.glob("*.jpg"))
        lacking = [i for i in self.ids if not (truth / f"{i}.mat").is_file()]
        if lacking:
            raise DatasetError(
                f"{truth} lacks the segmentation of {len(lacking)} image(s), e.g. {lacking[0]}.mat"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, image_id: str) -> np.ndarray:
        """HxWx3 uint8 RGB image."""
        return read_rgb(self.root / "images" / f"{image_id}.jpg")

    def segmentations(self, image_id: str) -> list[np.ndarray]:
        """The annotators' HxW int32 region maps (labels 1..R) of one image."""
        from scipy.io import loadmat

        path = self.root / "groundTruth" / f"{image_id}.mat"
        try:
            cells = loadmat(path)["groundTruth"]
            maps = [np.asarray(cells[0, k]["Segmentation"][0, 0], np.int32)
                    for k in range(cells.shape[1])]
        except (KeyError, IndexError, ValueError, OSError) as exc:
            raise DatasetError(f"cannot read BSDS500 segmentations from {path}: {exc}") from exc
        return maps


def region_targets(
    labels: np.ndarray,
    rng: np.random.Generator,
    count: int,
    min_fraction: float = 0.002,
    max_fraction: float = 0.9,
    component_probability: float = 0.25,
    union_probability: float = 0.25,
) -> list[np.ndarray]:
    """Up to ``count`` distinct target masks drawn from one region map.

    Each draw picks a region uniformly; with ``component_probability`` the target becomes one
    of its connected components, with ``union_probability`` its union with a random
    neighbouring region (touching it, 4-connectivity), otherwise the region itself. Targets
    covering less than ``min_fraction`` or more than ``max_fraction`` of the image are skipped.

    Arguments:
      labels: HxW integer region map.
      rng: the random generator (the draws are deterministic for its state).
      count: the number of targets wanted.

    Returns:
      list of HxW bool masks (may be shorter than ``count`` for maps with few usable regions).
    """
    area = labels.size
    ids = np.unique(labels)
    out: list[np.ndarray] = []
    for _ in range(count * 4):
        if len(out) == count:
            break
        r = ids[rng.integers(len(ids))]
        mask = labels == r
        u = rng.random()
        if u < component_probability:
            n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            if n > 2:
                mask = comp == rng.integers(1, n)
        elif u < component_probability + union_probability:
            ring = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            neighbours = np.unique(labels[ring & ~mask])
            if neighbours.size:
                mask = mask | (labels == neighbours[rng.integers(neighbours.size)])
        frac = mask.sum() / area
        if not min_fraction <= frac <= max_fraction:
            continue
        if any(np.array_equal(mask, m) for m in out):
            continue
        out.append(mask)
    return out
