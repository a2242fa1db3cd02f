"""The self-boosted ranking objective of SAMRefiner++ (METHOD.md section 3).

No ground truth is used: among SAM's K candidates for a single-prompt (box) query, the one that
agrees most with the coarse mask is taken as the positive, and the IoU head is trained to score
it above every other candidate by a margin.
"""

from __future__ import annotations

import torch

from ..selectors import mask_iou

#: Margin m of the ranking loss (the reference code's value).
DEFAULT_MARGIN = 0.02


def coarse_targets(candidates: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
    """Index of the candidate with the highest IoU against the coarse mask (first on ties).

    Arguments:
      candidates: BxKxHxW bool candidate masks.
      coarse: BxHxW bool coarse masks.

    Returns:
      torch.Tensor: (B,) int64 target indices.
    """
    if candidates.ndim != 4 or coarse.ndim != 3:
        raise ValueError(f"coarse_targets: candidates must be BxKxHxW and coarse BxHxW, got "
                         f"{tuple(candidates.shape)} and {tuple(coarse.shape)}")
    if candidates.shape[0] != coarse.shape[0] or candidates.shape[2:] != coarse.shape[1:]:
        raise ValueError(f"coarse_targets: shape mismatch, candidates {tuple(candidates.shape)} "
                         f"vs coarse {tuple(coarse.shape)}")
    return mask_iou(candidates.bool(), coarse.bool()[:, None]).argmax(dim=1)


def margin_ranking_loss(
    iou_predictions: torch.Tensor, targets: torch.Tensor, margin: float = DEFAULT_MARGIN
) -> torch.Tensor:
    """Per-sample hinge ranking loss: ``sum over i != j of max(0, x_i - x_j + margin)``.

    ``x`` are the predicted IoUs and ``j`` the target. This equals the reference code's
    ``MarginRankingLoss(margin, reduction="sum")`` of the target against each other candidate.

    Arguments:
      iou_predictions: BxK predicted IoUs (K >= 2).
      targets: (B,) int64 index of the positive candidate of each row.
      margin: m >= 0.

    Returns:
      torch.Tensor: (B,) losses (differentiable in ``iou_predictions``).
    """
    if iou_predictions.ndim != 2 or iou_predictions.shape[1] < 2:
        raise ValueError(f"margin_ranking_loss: iou_predictions must be BxK with K >= 2, got "
                         f"{tuple(iou_predictions.shape)}")
    if targets.shape != iou_predictions.shape[:1]:
        raise ValueError(f"margin_ranking_loss: targets must have shape "
                         f"({iou_predictions.shape[0]},), got {tuple(targets.shape)}")
    if margin < 0:
        raise ValueError(f"margin_ranking_loss: margin must be >= 0, got {margin}")
    k = iou_predictions.shape[1]
    targets = targets.to(device=iou_predictions.device, dtype=torch.int64)
    if bool(((targets < 0) | (targets >= k)).any()):
        raise ValueError(f"margin_ranking_loss: targets must lie in [0, {k}), got {targets}")
    positive = iou_predictions.gather(1, targets[:, None])
    hinge = torch.relu(iou_predictions - positive + margin)
    # The target's own term is exactly the margin; it is masked out, not subtracted.
    others = torch.arange(k, device=hinge.device)[None] != targets[:, None]
    return (hinge * others).sum(dim=1)
