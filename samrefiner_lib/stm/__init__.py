"""Split-then-merge (STM): refine semantic label maps with SAMRefiner (METHOD.md section 2).

SAM segments one object per prompt set, but one class of a semantic map may hold several
objects. STM turns the map into regions that each hold one object, refines them all in one
batched call, and merges the refined masks back into a label map:

1. ``split``: per class, 8-connected components; specks below ``min_size`` (5) pixels dropped;
2. ``merge``: greedy pairwise union of same-class components (box rule with ``mu`` and the
   reference code's density rule);
3. ``semantic.refine_semantic``: one encoder pass, one ``refine_masks`` call for all regions;
4. ``merge_back``: per-pixel class from the refined masks, with named rules for pixels two
   classes claim and for class pixels no refined region claims; 255 (ignore) is kept.

Inputs are label maps (palette PNGs, arrays) or class activation maps (``cam_input``); the
ablation modes ``"no_merge"`` and ``"whole_class"`` are in ``regions``; ``evaluate`` scores mIoU.
"""

from .cam_input import labels_from_cam, load_cam, read_cam
from .evaluate import SemanticScore, score_label_maps
from .label_maps import BACKGROUND, IGNORE, check_label_map, load_label_map, save_label_map
from .merge import MergeRule, greedy_merge
from .merge_back import CONFLICT_RULES, DROPPED_RULES, MergedLabels, merge_back
from .regions import MODES, Regions, build_regions
from .semantic import SemanticRefinement, refine_semantic
from .split import DEFAULT_MIN_SIZE, Components, split_components

__all__ = [
    "BACKGROUND",
    "CONFLICT_RULES",
    "DEFAULT_MIN_SIZE",
    "DROPPED_RULES",
    "IGNORE",
    "MODES",
    "Components",
    "MergeRule",
    "MergedLabels",
    "Regions",
    "SemanticRefinement",
    "SemanticScore",
    "build_regions",
    "check_label_map",
    "greedy_merge",
    "labels_from_cam",
    "load_cam",
    "load_label_map",
    "merge_back",
    "read_cam",
    "refine_semantic",
    "save_label_map",
    "score_label_maps",
    "split_components",
]
