"""Choosing one of SAM's candidate masks (METHOD.md sections 1.4 and 3).

A selector receives, for a batch of B prompt sets, SAM's predicted IoUs and (when it asks for
them) the K candidate masks at the original resolution, and returns the index of the chosen
candidate for each prompt set.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch


class Selector(Protocol):
    """Picks one candidate per prompt set.

    Attributes:
      name: short label recorded with results.
      needs_candidates: whether ``__call__`` needs the full-resolution candidate masks.
    """

    name: str
    needs_candidates: bool

    def __call__(
        self,
        iou_predictions: torch.Tensor,
        candidates: torch.Tensor | None,
        coarse: torch.Tensor,
        indices: np.ndarray,
    ) -> torch.Tensor:
        """Return the chosen candidate index for each prompt set.

        Arguments:
          iou_predictions: BxK predicted IoUs.
          candidates: BxKxHxW bool candidate masks, or None if ``needs_candidates`` is False.
          coarse: BxHxW bool masks the prompts came from (the input of this iteration).
          indices: (B,) positions of these masks in the image's list of masks.

        Returns:
          torch.Tensor: (B,) int64.
        """
        ...


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU between boolean masks broadcast over leading axes (...xHxW -> ...). Empty/empty = 1."""
    inter = (a & b).flatten(-2).sum(-1).float()
    union = (a | b).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


class PredictedIoUSelector:
    """SAM's own choice: the candidate with the highest predicted IoU (the method's default)."""

    name = "predicted_iou"
    needs_candidates = False

    def __call__(self, iou_predictions, candidates, coarse, indices):
        return iou_predictions.argmax(dim=1)


class CoarseIoUSelector:
    """The candidate that agrees most with the coarse mask (Fig. 5c; the IoU-adaption target)."""

    name = "coarse_iou"
    needs_candidates = True

    def __call__(self, iou_predictions, candidates, coarse, indices):
        return mask_iou(candidates, coarse[:, None]).argmax(dim=1)


class OracleSelector:
    """The candidate closest to the ground truth: an upper bound, for analysis only.

    Arguments:
      ground_truth: NxHxW bool ground-truth masks, aligned with the coarse masks of the image.
    """

    name = "oracle"
    needs_candidates = True

    def __init__(self, ground_truth: np.ndarray) -> None:
        self.ground_truth = np.asarray(ground_truth, dtype=bool)

    def __call__(self, iou_predictions, candidates, coarse, indices):
        gt = torch.from_numpy(self.ground_truth[indices]).to(candidates.device)
        if gt.shape[-2:] != candidates.shape[-2:]:
            raise ValueError(
                f"OracleSelector: ground truth is {tuple(gt.shape[-2:])}, "
                f"candidates are {tuple(candidates.shape[-2:])}"
            )
        return mask_iou(candidates, gt[:, None]).argmax(dim=1)


SELECTORS = {
    "predicted_iou": PredictedIoUSelector,
    "coarse_iou": CoarseIoUSelector,
}


def get_selector(name: str) -> Selector:
    """A selector by name (``predicted_iou`` or ``coarse_iou``; the oracle needs ground truth)."""
    if name not in SELECTORS:
        raise KeyError(f"unknown selector {name!r}; available: {', '.join(sorted(SELECTORS))}")
    return SELECTORS[name]()
