"""Split: the 8-connected components of every class of a label map (STM step 1).

Each class of a semantic label map may hold several objects; SAM wants one object per prompt
set. The split takes, per class, the 8-connected components of ``labels == class`` and drops
those smaller than ``min_size`` pixels (5 in the reference code: such specks carry no shape a
prompt could use). Background (0) and ignore (255) pixels are never split.

Order: classes ascending, and inside a class components by their first pixel in raster order
(row by row, left to right), so the result and every later step are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .label_maps import BACKGROUND, IGNORE, check_label_map

#: Components smaller than this many pixels are dropped (reference code default).
DEFAULT_MIN_SIZE = 5

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Components:
    """The kept connected components of a label map.

    Attributes:
      component_map: HxW int32, the index of the component owning each pixel, -1 where none
        does (background, ignore and dropped pixels).
      classes: (K,) int64 class id of each component.
      boxes: Kx4 int64 tight boxes (x0, y0, x1, y1), inclusive pixel indices.
      areas: (K,) int64 pixel counts.
      dropped: HxW bool class pixels left out because their component is below ``min_size``.
      min_size: the size threshold used.
    """

    component_map: np.ndarray
    classes: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    dropped: np.ndarray
    min_size: int

    def __len__(self) -> int:
        return int(self.classes.shape[0])


def _class_components(
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[tuple[slice, slice]]]:
    """8-connected components of one bool mask, renumbered in raster order of first pixel.

    Returns:
      (HxW int32 map with 0 = none and 1..n components, (n,) areas, n bounding slices).
    """
    raw, n = ndimage.label(mask, structure=_EIGHT)
    if n == 0:
        return raw.astype(np.int32), np.zeros(0, np.int64), []
    # np.unique's first-occurrence indices give the raster order of each component's first pixel,
    # whatever numbering the labelling algorithm chose.
    ids, first = np.unique(raw.ravel(), return_index=True)
    keep = ids > 0
    order = ids[keep][np.argsort(first[keep], kind="stable")]
    rank = np.zeros(n + 1, np.int32)
    rank[order] = np.arange(1, n + 1, dtype=np.int32)
    renum = rank[raw]
    areas = np.bincount(renum.ravel(), minlength=n + 1)[1:].astype(np.int64)
    slices = ndimage.find_objects(renum)
    return renum, areas, slices


def split_components(
    labels: np.ndarray, min_size: int = DEFAULT_MIN_SIZE, name: str = "label_map"
) -> Components:
    """Split a label map into per-class 8-connected components.

    Arguments:
      labels: HxW integer label map (0 background, 1..254 classes, 255 ignore).
      min_size: components with fewer pixels are dropped (0 or 1 keeps everything).
      name: how error messages refer to ``labels``.

    Returns:
      Components: the kept components, classes ascending, raster order inside a class.
    """
    labels = check_label_map(labels, name)
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 0:
        raise ValueError(f"min_size must be a non-negative int, got {min_size!r}")
    component_map = np.full(labels.shape, -1, np.int32)
    dropped = np.zeros(labels.shape, bool)
    classes: list[int] = []
    boxes: list[tuple[int, int, int, int]] = []
    areas: list[int] = []
    for cls in np.unique(labels):
        if cls in (BACKGROUND, IGNORE):
            continue
        comp, comp_areas, slices = _class_components(labels == cls)
        lookup = np.full(comp_areas.size + 1, -1, np.int32)  # class-local id -> global index
        for k, (area, (rows, cols)) in enumerate(zip(comp_areas, slices, strict=True), start=1):
            if area < min_size:
                continue
            lookup[k] = len(classes)
            classes.append(int(cls))
            boxes.append((cols.start, rows.start, cols.stop - 1, rows.stop - 1))
            areas.append(int(area))
        inside = comp > 0
        component_map[inside] = lookup[comp[inside]]
        dropped |= inside & (component_map < 0)
    return Components(
        component_map=component_map,
        classes=np.asarray(classes, np.int64),
        boxes=np.asarray(boxes, np.int64).reshape(-1, 4),
        areas=np.asarray(areas, np.int64),
        dropped=dropped,
        min_size=int(min_size),
    )
