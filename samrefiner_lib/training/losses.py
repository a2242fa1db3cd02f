"""SAM's training losses: focal + dice on masks, MSE on the IoU head."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25,
               gamma: float = 2.0) -> torch.Tensor:
    """Sigmoid focal loss averaged over pixels: ...xHxW logits and {0,1} targets -> (...)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss.flatten(-2).mean(-1)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft dice loss: ...xHxW logits and {0,1} targets -> (...)."""
    p = torch.sigmoid(logits).flatten(-2)
    t = target.flatten(-2)
    return 1 - (2 * (p * t).sum(-1) + eps) / (p.sum(-1) + t.sum(-1) + eps)


def hard_iou(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of the thresholded prediction (logit > 0) with the target: ...xHxW -> (...)."""
    pred = logits > 0
    tgt = target > 0.5
    inter = (pred & tgt).flatten(-2).sum(-1).float()
    union = (pred | tgt).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def sam_loss(
    logits: torch.Tensor,
    iou_pred: torch.Tensor,
    target: torch.Tensor,
    focal_weight: float = 20.0,
    dice_weight: float = 1.0,
    iou_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of T prompt sets with K outputs each; only the best output's mask loss counts.

    Arguments:
      logits: TxKxHxW mask logits at the target's resolution.
      iou_pred: TxK predicted IoUs.
      target: TxHxW {0,1} float targets.

    Returns:
      (scalar loss, dict of per-term means for logging)
    """
    tgt = target[:, None].expand_as(logits)
    focal = focal_loss(logits, tgt)
    dice = dice_loss(logits, tgt)
    mask_terms = focal_weight * focal + dice_weight * dice
    best = mask_terms.argmin(dim=1)
    rows = torch.arange(logits.shape[0], device=logits.device)
    with torch.no_grad():
        true_iou = hard_iou(logits, tgt)
    iou_mse = F.mse_loss(iou_pred.float(), true_iou, reduction="none").mean(dim=1)
    total = mask_terms[rows, best] + iou_weight * iou_mse
    logs = {
        "focal": focal[rows, best].mean().detach(),
        "dice": dice[rows, best].mean().detach(),
        "iou_mse": iou_mse.mean().detach(),
        "iou": true_iou[rows, best].mean().detach(),
    }
    return total.mean(), logs
