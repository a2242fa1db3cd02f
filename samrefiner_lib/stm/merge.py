"""Merge: greedy pairwise union of same-class components (STM step 2).

A class mask is usually cut into pieces that belong to one object (a CAM that only fires on the
discriminative parts, an occluder splitting a body), and SAM refines a whole object better from
one prompt set than from each piece alone. Two regions i, j of one class are merged when

1. box rule: ``box_i + box_j > mu * box_ij`` (``box`` = tight-box area, ``box_ij`` the area of
   the box around both): the union's box is not much larger than the parts' boxes, so the parts
   are close together;
2. density rule (reference code): ``(area_i + area_j) / box_ij > min(cap, min(d_i, d_j) - slack)``
   with ``d = area / box`` each part's fill ratio, ``cap = 0.5`` and ``slack = 0.1``: the union
   must not be much sparser than its sparsest part, so an L or a diagonal pair of thin pieces,
   whose common box is mostly empty, stays apart.

Greedy order (as in the reference code): for each component i in order, for each later
component j, if i's current region and j's current region differ, test the two regions and on
success absorb j's region into i's. Boxes and areas are those of the current regions, so they
grow with every merge; the box of a union is the union of the boxes and its area the sum of
the (disjoint) areas, which is exact. Areas are pixel counts: a box spanning columns 3..7 has
width 5. The reference code measures the merged box as ``(x1 - x0) * (y1 - y0)`` (one pixel less
per side) while the parts' boxes get the ``+ 1``; ``merged_box_area="reference"`` reproduces that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

MergedBoxArea = Literal["pixels", "reference"]
_MERGED_BOX_AREAS = ("pixels", "reference")


@dataclass(frozen=True)
class MergeRule:
    """When two same-class regions are merged.

    Attributes:
      mu: box rule factor; merge only if ``box_i + box_j > mu * box_ij``. 0 disables the box
        rule; any mu >= 2 forbids every merge (each box is at most ``box_ij``).
      density: apply the density rule of the reference code.
      density_cap: upper bound of the density threshold (0.5).
      density_slack: how much sparser than its sparsest part the union may be (0.1).
      merged_box_area: ``"pixels"`` (inclusive pixel count, consistent with the parts) or
        ``"reference"`` (the reference code's ``(x1 - x0) * (y1 - y0)`` for the union only).
    """

    mu: float = 0.5
    density: bool = True
    density_cap: float = 0.5
    density_slack: float = 0.1
    merged_box_area: MergedBoxArea = "pixels"

    def __post_init__(self) -> None:
        for field_name in ("mu", "density_cap", "density_slack"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"MergeRule.{field_name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"MergeRule.{field_name} must be finite and >= 0, got {value}")
        if self.merged_box_area not in _MERGED_BOX_AREAS:
            raise ValueError(
                f"MergeRule.merged_box_area must be one of {_MERGED_BOX_AREAS}, "
                f"got {self.merged_box_area!r}"
            )

    def to_dict(self) -> dict[str, float | bool | str]:
        """Plain dictionary of the fields (for JSON records and tables)."""
        return {
            "mu": float(self.mu),
            "density": bool(self.density),
            "density_cap": float(self.density_cap),
            "density_slack": float(self.density_slack),
            "merged_box_area": self.merged_box_area,
        }

    def accepts(
        self, box_a: np.ndarray, area_a: int, box_b: np.ndarray, area_b: int
    ) -> bool:
        """Whether regions a and b (same class, disjoint) are merged.

        Arguments:
          box_a, box_b: (4,) tight boxes (x0, y0, x1, y1), inclusive pixel indices.
          area_a, area_b: pixel counts (> 0).

        Returns:
          bool
        """
        box_area_a = _box_area(box_a)
        box_area_b = _box_area(box_b)
        union = (min(box_a[0], box_b[0]), min(box_a[1], box_b[1]),
                 max(box_a[2], box_b[2]), max(box_a[3], box_b[3]))
        if self.merged_box_area == "pixels":
            merged = _box_area(union)
        else:
            merged = (union[2] - union[0]) * (union[3] - union[1])
        if not box_area_a + box_area_b > self.mu * merged:
            return False
        if not self.density:
            return True
        if merged <= 0:  # only with the reference area: a one-pixel-thin union is fully dense
            return True
        threshold = min(self.density_cap,
                        min(area_a / box_area_a, area_b / box_area_b) - self.density_slack)
        return (area_a + area_b) / merged > threshold


def _box_area(box: np.ndarray | tuple[int, int, int, int]) -> int:
    """Inclusive pixel count of an (x0, y0, x1, y1) box."""
    return int((box[2] - box[0] + 1) * (box[3] - box[1] + 1))


def greedy_merge(boxes: np.ndarray, areas: np.ndarray, rule: MergeRule) -> np.ndarray:
    """Group the components of one class with the greedy pairwise rule (module docstring).

    Arguments:
      boxes: Kx4 int tight boxes (x0, y0, x1, y1), inclusive, in processing order.
      areas: (K,) int pixel counts, all > 0.
      rule: the merge rule.

    Returns:
      np.ndarray: (K,) int64 group index of each component; groups are numbered 0..G-1 in the
      order of their first component.
    """
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    areas = np.asarray(areas, np.int64).reshape(-1)
    if boxes.shape[0] != areas.shape[0]:
        raise ValueError(f"{boxes.shape[0]} boxes but {areas.shape[0]} areas")
    n = areas.shape[0]
    group = np.arange(n, dtype=np.int64)  # current region of each component (a representative)
    region_box = boxes.copy()  # indexed by representative
    region_area = areas.copy()
    for i in range(n):
        for j in range(i + 1, n):
            gi, gj = group[i], group[j]
            if gi == gj:
                continue
            if not rule.accepts(region_box[gi], int(region_area[gi]),
                                region_box[gj], int(region_area[gj])):
                continue
            region_box[gi, :2] = np.minimum(region_box[gi, :2], region_box[gj, :2])
            region_box[gi, 2:] = np.maximum(region_box[gi, 2:], region_box[gj, 2:])
            region_area[gi] += region_area[gj]
            group[group == gj] = gi
    # Renumber representatives by first appearance so that the output is canonical.
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return rank[inverse].astype(np.int64)
