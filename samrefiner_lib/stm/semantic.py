"""Refine a semantic label map with SAMRefiner: split, merge, one batched refinement, merge back.

All regions of an image go through :meth:`SAMRefiner.refine_masks` in one call, after one
image-encoder pass (or none, when the caller passes the image's embedding), so the cost of STM
over plain SAMRefiner is only the extra prompt sets in that batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RefinerConfig
from ..decoding import ImageEmbedding
from ..io import ImageInput, InputError, load_image
from ..refiner import RefinementResult, SAMRefiner
from ..selectors import Selector
from .label_maps import BACKGROUND, IGNORE, LabelMapInput, load_label_map
from .merge import MergeRule
from .merge_back import ConflictRule, DroppedRule, MergedLabels, merge_back
from .regions import Mode, Regions, build_regions
from .split import DEFAULT_MIN_SIZE


@dataclass
class SemanticRefinement:
    """A refined label map and everything that produced it.

    Attributes:
      labels: HxW uint8 refined label map (0 background, classes, 255 ignore).
      coarse: HxW uint8 input label map.
      regions: the N regions that were refined (one prompt set each).
      refined: NxHxW bool refined region masks.
      scores: (N,) float32 predicted IoU of each region's selected candidate (NaN if skipped).
      merged: the merge-back output (conflict and released pixels, the rules used).
      config: the refiner configuration (``config.describe()`` names the preset).
      result: the underlying refinement (None when the map had no class pixels).
    """

    labels: np.ndarray
    coarse: np.ndarray
    regions: Regions
    refined: np.ndarray
    scores: np.ndarray
    merged: MergedLabels
    config: RefinerConfig
    result: RefinementResult | None

    @property
    def preset(self) -> str:
        """The preset label plus overrides, e.g. ``"paper"`` or ``"reference (iterations=1)"``."""
        return self.config.describe()

    @property
    def mode(self) -> str:
        """How the regions were built: ``"stm"``, ``"no_merge"`` or ``"whole_class"``."""
        return self.regions.mode

    def remerge(
        self, conflict: ConflictRule = "score", dropped: DroppedRule = "background"
    ) -> MergedLabels:
        """Merge the same refined regions back under other rules (no new refinement)."""
        return merge_back(self.coarse, self.regions.classes, self.refined, self.scores,
                          conflict, dropped)

    def record(self) -> dict[str, Any]:
        """JSON-ready summary: settings, preset, per-region class/box/area/score, pixel counts."""
        regions = self.regions.to_records()
        for entry, score in zip(regions, self.scores, strict=True):
            entry["score"] = None if np.isnan(score) else float(score)
        valid = self.coarse != IGNORE
        return {
            "mode": self.regions.mode,
            "merge_rule": None if self.regions.rule is None else self.regions.rule.to_dict(),
            "min_size": self.regions.min_size,
            "conflict": self.merged.conflict,
            "dropped": self.merged.dropped,
            "preset": self.preset,
            "config": self.config.to_dict(),
            "selector": None if self.result is None else self.result.selector,
            "regions": regions,
            "pixels": {
                "ignore": int(np.count_nonzero(~valid)),
                "coarse_foreground": int(np.count_nonzero(valid & (self.coarse != BACKGROUND))),
                "refined_foreground": int(np.count_nonzero(valid & (self.labels != BACKGROUND))),
                "split_dropped": int(np.count_nonzero(self.regions.dropped)),
                "released": int(np.count_nonzero(self.merged.released)),
                "conflicts": int(np.count_nonzero(self.merged.conflicts)),
                "changed": int(np.count_nonzero(valid & (self.labels != self.coarse))),
            },
            "classes_coarse": _classes(self.coarse),
            "classes_refined": _classes(self.labels),
        }


def _classes(labels: np.ndarray) -> list[int]:
    return [int(c) for c in np.unique(labels) if c not in (BACKGROUND, IGNORE)]


def refine_semantic(
    image: ImageInput,
    label_map: LabelMapInput,
    refiner: SAMRefiner,
    mode: Mode = "stm",
    mu: float = 0.5,
    *,
    rule: MergeRule | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    conflict: ConflictRule = "score",
    dropped: DroppedRule = "background",
    config: RefinerConfig | None = None,
    selector: Selector | None = None,
    embedding: ImageEmbedding | None = None,
) -> SemanticRefinement:
    """Refine the semantic label map of one image.

    Arguments:
      image: path, PIL image or HxWx3 array (see :func:`samrefiner_lib.io.load_image`).
      label_map: palette/grayscale PNG path, PIL image or HxW integer array (0 background,
        1..254 classes, 255 ignore); decode CAMs first with ``labels_from_cam``/``load_cam``.
      refiner: the SAMRefiner to use (its model, configuration and selector).
      mode: ``"stm"`` (split-then-merge), ``"no_merge"`` or ``"whole_class"``.
      mu: box-rule factor of the merge (``"stm"`` only).
      rule: the full merge rule; if given, its ``mu`` is used and ``mu`` must be left at 0.5 or
        agree with it.
      min_size: the split drops components smaller than this (pixels).
      conflict: rule for pixels claimed by two classes (see ``merge_back``).
      dropped: rule for class pixels no refined region claims (see ``merge_back``).
      config: overrides the refiner's configuration for this call.
      selector: overrides the refiner's selector for this call.
      embedding: the image's precomputed ``refiner.encode(image)`` (skips the encoder).

    Returns:
      SemanticRefinement
    """
    img = load_image(image)
    coarse = load_label_map(label_map, "label_map", shape=img.shape[:2])
    if rule is None:
        rule = MergeRule(mu=mu)
    elif mu != 0.5 and mu != rule.mu:
        raise ValueError(f"mu={mu} disagrees with rule.mu={rule.mu}; give mu through the rule")
    regions = build_regions(coarse, mode, rule, min_size)
    cfg = config if config is not None else refiner.config
    n, (h, w) = len(regions), coarse.shape
    result = None
    refined = np.zeros((n, h, w), bool)
    scores = np.full(n, np.nan, np.float32)
    if n:
        if embedding is None:
            embedding = refiner.encode(img)
        elif embedding.frame.original_size != (h, w):
            raise InputError(
                f"embedding: computed for an image of size {embedding.frame.original_size}, "
                f"but the image is {(h, w)}"
            )
        result = refiner.refine_masks(embedding, regions.masks, cfg, selector)
        refined, scores = result.masks, result.scores
    merged = merge_back(coarse, regions.classes, refined, scores, conflict, dropped)
    return SemanticRefinement(
        labels=merged.labels, coarse=coarse, regions=regions, refined=refined, scores=scores,
        merged=merged, config=cfg, result=result,
    )
