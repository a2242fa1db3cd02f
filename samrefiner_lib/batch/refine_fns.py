"""The two shapes of refinement a dataset job calls, built from any method.

* instance: ``(image HxWx3, coarse NxHxW bool) -> (refined NxHxW bool, scores (N,) float32)``,
  scores being SAM's predicted IoU of the chosen candidate (NaN for baselines and empty masks);
* label map: ``(image HxWx3, coarse HxW uint8) -> refined HxW uint8``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..evaluation.methods import refine_instances
from ..evaluation.runner import Method
from ..evaluation.semantic_maps import refine_label_map_with
from ..refiner import SAMRefiner

InstanceRefine = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
LabelMapRefine = Callable[[np.ndarray, np.ndarray], np.ndarray]


def instance_refine(method: Method, refiner: SAMRefiner | None = None) -> InstanceRefine:
    """An instance refinement function running ``method`` (with ``refiner`` for SAM methods)."""

    def run(image: np.ndarray, coarse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return refine_instances(method, image, coarse, refiner)

    return run


def label_map_refine(method: Method, refiner: SAMRefiner | None = None,
                     mode: str = "stm") -> LabelMapRefine:
    """A label-map refinement function: STM (``mode``) for SAM methods, per class otherwise."""

    def run(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return refine_label_map_with(method, image, labels, refiner, mode)

    return run


def score_or_none(score: float | None) -> float | None:
    """A score for JSON: a float, or None where there is none (NaN)."""
    return None if score is None or not math.isfinite(float(score)) else float(score)
