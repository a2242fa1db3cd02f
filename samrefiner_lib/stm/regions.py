"""Regions: what SAM refines, one prompt set each, built from a label map by one of three modes.

- ``"stm"``: split-then-merge, the method: per-class components (``split``), then greedy merging
  (``merge``).
- ``"no_merge"``: every kept component is its own region (ablation: split only).
- ``"whole_class"``: one region per class, the class mask as it is, small specks included
  (ablation: SAMRefiner without STM, one prompt set for all objects of a class).

In every mode the regions partition the kept class pixels: each such pixel lies in exactly one
region and a region never mixes classes; in ``"stm"`` a region is a union of whole components.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .label_maps import BACKGROUND, IGNORE, check_label_map
from .merge import MergeRule, greedy_merge
from .split import DEFAULT_MIN_SIZE, split_components

Mode = Literal["stm", "no_merge", "whole_class"]
MODES: tuple[str, ...] = ("stm", "no_merge", "whole_class")


@dataclass(frozen=True)
class Regions:
    """The regions of one label map.

    Attributes:
      region_map: HxW int32 index of the region owning each pixel, -1 where none does.
      classes: (N,) int64 class id of each region (ascending; raster order inside a class).
      boxes: Nx4 int64 tight boxes (x0, y0, x1, y1), inclusive pixel indices.
      areas: (N,) int64 pixel counts.
      components: (N,) int64 number of connected components merged into each region (for
        ``"whole_class"`` the class's component count, specks included).
      dropped: HxW bool class pixels in no region (components below ``min_size``).
      mode: how the regions were built.
      rule: the merge rule (``"stm"`` only, else None).
      min_size: the split's size threshold (None for ``"whole_class"``).
    """

    region_map: np.ndarray
    classes: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    components: np.ndarray
    dropped: np.ndarray
    mode: str
    rule: MergeRule | None
    min_size: int | None

    def __len__(self) -> int:
        return int(self.classes.shape[0])

    @property
    def masks(self) -> np.ndarray:
        """NxHxW bool region masks (pairwise disjoint)."""
        ids = np.arange(len(self), dtype=np.int32)
        return self.region_map[None] == ids[:, None, None]

    def signature(self) -> bytes:
        """Bytes that identify the partition (equal signatures = identical regions)."""
        return self.classes.tobytes() + self.region_map.tobytes()

    def to_records(self) -> list[dict[str, int | list[int]]]:
        """One JSON-ready dictionary per region: class, area, box, components."""
        return [
            {"class_id": int(c), "area": int(a), "box_xyxy": [int(v) for v in b],
             "components": int(k)}
            for c, a, b, k in zip(self.classes, self.areas, self.boxes, self.components,
                                  strict=True)
        ]


def build_regions(
    labels: np.ndarray,
    mode: Mode = "stm",
    rule: MergeRule | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    name: str = "label_map",
) -> Regions:
    """The regions SAM will refine for one label map.

    Arguments:
      labels: HxW integer label map (0 background, 1..254 classes, 255 ignore).
      mode: ``"stm"``, ``"no_merge"`` or ``"whole_class"`` (module docstring).
      rule: merge rule for ``"stm"``; defaults to ``MergeRule()`` (mu 0.5, density rule on).
      min_size: components below this many pixels are dropped (``"stm"``, ``"no_merge"``).
      name: how error messages refer to ``labels``.

    Returns:
      Regions
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    labels = check_label_map(labels, name)
    if mode == "whole_class":
        return _whole_class(labels)
    comps = split_components(labels, min_size, name)
    rule = rule if rule is not None else MergeRule()
    group = np.arange(len(comps), dtype=np.int64)
    if mode == "stm":
        offset = 0
        for cls in np.unique(comps.classes):  # merging never crosses classes
            idx = np.flatnonzero(comps.classes == cls)
            group[idx] = offset + greedy_merge(comps.boxes[idx], comps.areas[idx], rule)
            offset = int(group[idx].max()) + 1
    n = int(group.max()) + 1 if group.size else 0
    lookup = np.append(group, -1).astype(np.int32)  # component index -1 maps to region -1
    region_map = lookup[comps.component_map]
    boxes = np.zeros((n, 4), np.int64)
    classes = np.zeros(n, np.int64)
    for r in range(n):
        members = group == r
        classes[r] = comps.classes[members][0]
        boxes[r, :2] = comps.boxes[members, :2].min(axis=0)
        boxes[r, 2:] = comps.boxes[members, 2:].max(axis=0)
    return Regions(
        region_map=region_map,
        classes=classes,
        boxes=boxes,
        areas=np.bincount(group, weights=comps.areas, minlength=n).astype(np.int64),
        components=np.bincount(group, minlength=n).astype(np.int64),
        dropped=comps.dropped,
        mode=mode,
        rule=rule if mode == "stm" else None,
        min_size=comps.min_size,
    )


def _whole_class(labels: np.ndarray) -> Regions:
    """One region per class present, nothing dropped."""
    present = [int(c) for c in np.unique(labels) if c not in (BACKGROUND, IGNORE)]
    region_map = np.full(labels.shape, -1, np.int32)
    boxes = np.zeros((len(present), 4), np.int64)
    areas = np.zeros(len(present), np.int64)
    counts = np.zeros(len(present), np.int64)
    all_comps = split_components(labels, 0)
    for r, cls in enumerate(present):
        mask = labels == cls
        region_map[mask] = r
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        boxes[r] = (cols[0], rows[0], cols[-1], rows[-1])
        areas[r] = int(mask.sum())
        counts[r] = int(np.count_nonzero(all_comps.classes == cls))
    return Regions(
        region_map=region_map,
        classes=np.asarray(present, np.int64),
        boxes=boxes,
        areas=areas,
        components=counts,
        dropped=np.zeros(labels.shape, bool),
        mode="whole_class",
        rule=None,
        min_size=None,
    )
