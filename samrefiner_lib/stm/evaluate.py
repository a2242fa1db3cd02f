"""mIoU of label maps: a confusion matrix over all classes (background included), 255 ignored.

A thin layer over :class:`samrefiner_lib.metrics.ConfusionMatrix`, which also fixes the edge
cases: a predicted 255 on a scored pixel counts as a miss of its true class, and a class absent
from both ground truth and prediction of the whole set is left out of the mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import ConfusionMatrix
from .label_maps import IGNORE


@dataclass(frozen=True)
class SemanticScore:
    """mIoU of a set of label maps.

    Attributes:
      miou: mean IoU over the classes seen in ground truth or prediction, in [0, 1].
      table: per-class rows (``name``, ``iou``, ``gt_pixels``, ``pred_pixels``, ``tp``), indexed
        by class id.
      matrix: the accumulated confusion matrix.
    """

    miou: float
    table: pd.DataFrame
    matrix: ConfusionMatrix


def score_label_maps(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    num_classes: int,
    class_names: Sequence[str] | None = None,
) -> SemanticScore:
    """Accumulate (prediction, ground truth) label maps into one confusion matrix.

    Arguments:
      pairs: (pred, gt) HxW integer label maps; gt pixels equal to 255 are skipped.
      num_classes: K, the number of classes including background (labels 0..K-1).
      class_names: K names for the table, or None.

    Returns:
      SemanticScore
    """
    cm = ConfusionMatrix(num_classes, ignore_index=IGNORE)
    for pred, gt in pairs:
        cm.update(pred, gt)
    return SemanticScore(miou=cm.miou(), table=cm.table(class_names), matrix=cm)
