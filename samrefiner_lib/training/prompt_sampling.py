"""SAM-style prompt sampling for training, vectorised over targets (torch, any device).

Follows the recipe of the SAM paper: the first prompt is a point drawn uniformly from the target
or its box with noise (standard deviation 10% of the side, at most 20 px); each correction round
adds a point drawn uniformly from the error region of the previous prediction (positive on a
missed pixel, negative on a false one) and feeds the previous logits back as the mask prompt.
A third kind of first prompt, a noisy mask given as logits (optionally with its box or a point
inside it), teaches the model to read coarse masks like its own previous predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PromptState:
    """Prompts of T targets that share one structure (same number of points, box or not).

    Attributes:
      coords: TxPx2 point coordinates (x, y) in the input frame, or None.
      labels: TxP labels (1 positive, 0 negative, -1 padding), or None.
      boxes: Tx4 XYXY boxes in the input frame, or None.
      masks: Tx1xGhxGw mask-prompt logits, or None.
    """

    coords: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    masks: torch.Tensor | None = None

    def points(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if self.coords is None else (self.coords, self.labels)

    def add_point(self, xy: torch.Tensor, label: torch.Tensor) -> None:
        """Append one point per target (label -1 marks 'no point')."""
        xy = xy[:, None].float()
        label = label[:, None].long()
        if self.coords is None:
            self.coords, self.labels = xy, label
        else:
            self.coords = torch.cat([self.coords, xy], dim=1)
            self.labels = torch.cat([self.labels, label], dim=1)


def sample_pixels(masks: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
    """One pixel drawn uniformly from each mask.

    Arguments:
      masks: TxHxW bool.
      generator: torch generator on the masks' device.

    Returns:
      (Tx2 (x, y) float coordinates, (T,) bool: False where the mask was empty).
    """
    t, h, w = masks.shape
    weights = masks.reshape(t, -1).float()
    found = weights.sum(1) > 0
    weights[~found] = 1.0
    idx = torch.multinomial(weights, 1, generator=generator)[:, 0]
    xy = torch.stack([idx % w, idx // w], dim=1).float()
    return xy, found


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight XYXY boxes (inclusive) of TxHxW bool masks; empty masks give (0, 0, 0, 0)."""
    t, h, w = masks.shape
    rows = masks.any(dim=2)
    cols = masks.any(dim=1)
    ar_h = torch.arange(h, device=masks.device)
    ar_w = torch.arange(w, device=masks.device)
    big = torch.tensor(10**9, device=masks.device)
    y0 = torch.where(rows, ar_h, big).min(1).values
    y1 = torch.where(rows, ar_h, -1).max(1).values
    x0 = torch.where(cols, ar_w, big).min(1).values
    x1 = torch.where(cols, ar_w, -1).max(1).values
    boxes = torch.stack([x0, y0, x1, y1], dim=1).float()
    return torch.where(rows.any(1, keepdim=True), boxes, torch.zeros_like(boxes))


def jitter_boxes(boxes: torch.Tensor, sizes: torch.Tensor, generator: torch.Generator,
                 fraction: float = 0.1, max_px: float = 20.0) -> torch.Tensor:
    """SAM's box noise: each coordinate moves by N(0, fraction * side), clipped to max_px.

    Arguments:
      boxes: Tx4 XYXY.
      sizes: Tx2 (h, w) of each target's image, to keep boxes inside it.
    """
    wh = (boxes[:, 2:] - boxes[:, :2]).clamp_min(1.0)
    std = (fraction * wh).repeat(1, 2)
    noise = torch.randn(boxes.shape, generator=generator, device=boxes.device) * std
    noise = noise.clamp(-max_px, max_px)
    out = boxes + noise
    hmax = (sizes[:, 0] - 1).float()
    wmax = (sizes[:, 1] - 1).float()
    zero = torch.zeros_like(wmax)
    x0 = torch.minimum(out[:, 0], out[:, 2]).clamp(min=0)
    x1 = torch.maximum(out[:, 0], out[:, 2]).clamp(min=0)
    y0 = torch.minimum(out[:, 1], out[:, 3]).clamp(min=0)
    y1 = torch.maximum(out[:, 1], out[:, 3]).clamp(min=0)
    return torch.stack([torch.minimum(x0, wmax), torch.minimum(y0, hmax),
                        torch.maximum(torch.minimum(x1, wmax), zero),
                        torch.maximum(torch.minimum(y1, hmax), zero)], dim=1)


def correction_point(pred: torch.Tensor, target: torch.Tensor, generator: torch.Generator
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """A point from the error region: positive on a missed pixel, negative on a false one.

    Arguments:
      pred: TxHxW bool previous prediction.
      target: TxHxW bool target.

    Returns:
      (Tx2 coordinates, (T,) labels; -1 where the prediction was already perfect)
    """
    error = pred ^ target
    xy, found = sample_pixels(error, generator)
    x, y = xy[:, 0].long(), xy[:, 1].long()
    rows = torch.arange(target.shape[0], device=target.device)
    label = target[rows, y, x].long()
    return xy, torch.where(found, label, torch.full_like(label, -1))


def noisy_mask_logits(noisy: torch.Tensor, grid: tuple[int, int], generator: torch.Generator,
                      low: float = 2.0, high: float = 20.0) -> torch.Tensor:
    """A noisy mask as mask-prompt logits: +A inside, -A outside (A drawn per target),
    area-resampled onto the mask-input grid.

    Arguments:
      noisy: TxSxS bool, already padded to the model's square input.

    Returns:
      Tx1xGhxGw float logits.
    """
    t = noisy.shape[0]
    amp = low + (high - low) * torch.rand(t, 1, 1, 1, generator=generator, device=noisy.device)
    x = noisy[:, None].float() * 2 - 1
    x = torch.nn.functional.adaptive_avg_pool2d(x, grid)
    return x * amp
