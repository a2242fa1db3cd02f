"""Low-rank adaptation (LoRA, Hu et al. 2021) of one frozen linear layer.

A :class:`LoRALinear` computes ``base(x) + scaling * B(A(dropout(x)))`` where ``base`` is the
frozen layer, ``A`` is rank x in_features, ``B`` is out_features x rank and
``scaling = alpha / rank``. ``B`` starts at zero, so a fresh adaptor changes nothing until it is
trained; the update ``scaling * B @ A`` can be folded into the base weight afterwards.

The project needs this for exactly one layer (the last layer of SAM's IoU head), so a small
self-contained module is used rather than a general adapter framework.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LoRAConfig:
    """Shape and strength of a LoRA update.

    Attributes:
      rank: inner dimension r of the update (the paper uses 4).
      alpha: the update is scaled by ``alpha / rank``.
      dropout: dropout probability on the adaptor's input while training (0 = off).
    """

    rank: int = 4
    alpha: float = 4.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.rank, int) or self.rank < 1:
            raise ValueError(f"LoRAConfig.rank must be an integer >= 1, got {self.rank!r}")
        if not math.isfinite(self.alpha) or self.alpha <= 0:
            raise ValueError(f"LoRAConfig.alpha must be a finite number > 0, got {self.alpha!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LoRAConfig.dropout must lie in [0, 1), got {self.dropout!r}")

    @property
    def scaling(self) -> float:
        """Factor ``alpha / rank`` applied to ``B @ A``."""
        return self.alpha / self.rank

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (stored in adaptor files)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoRAConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = sorted(set(d) - {"rank", "alpha", "dropout"})
        if unknown:
            raise ValueError(f"unknown LoRAConfig field(s): {unknown}")
        return cls(**d)


def init_lora_factors(
    in_features: int, out_features: int, rank: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial factors: A uniform like a linear layer's default init, B zero.

    Arguments:
      in_features, out_features: shape of the adapted layer.
      rank: inner dimension r.
      seed: seeds A (a private generator, so the global RNG is untouched).

    Returns:
      (A rank x in_features, B out_features x rank), float32 on the CPU.
    """
    gen = torch.Generator().manual_seed(seed)
    # Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)) as nn.Linear does.
    bound = 1.0 / math.sqrt(in_features)
    a = (torch.rand(rank, in_features, generator=gen) * 2 - 1) * bound
    b = torch.zeros(out_features, rank)
    return a, b


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update.

    Arguments:
      base: the layer to adapt. Its parameters are left as they are: whoever trains the
        adaptor freezes the base model (``adapt_iou_head`` freezes every SAM weight).
      config: rank, alpha and dropout.
      lora_a: rank x in_features initial A (copied).
      lora_b: out_features x rank initial B (copied).
    """

    def __init__(
        self, base: nn.Linear, config: LoRAConfig, lora_a: torch.Tensor, lora_b: torch.Tensor
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear adapts an nn.Linear, got {type(base).__name__}")
        expected_a = (config.rank, base.in_features)
        expected_b = (base.out_features, config.rank)
        if tuple(lora_a.shape) != expected_a or tuple(lora_b.shape) != expected_b:
            raise ValueError(
                f"LoRA factors have shapes A {tuple(lora_a.shape)}, B {tuple(lora_b.shape)}; "
                f"the layer needs A {expected_a} and B {expected_b}"
            )
        self.base = base
        self.config = config
        self.scaling = config.scaling
        dev, dt = base.weight.device, base.weight.dtype
        self.lora_a = nn.Parameter(lora_a.detach().to(dev, dt).clone())
        self.lora_b = nn.Parameter(lora_b.detach().to(dev, dt).clone())
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """...xin_features -> ...xout_features."""
        update = F.linear(F.linear(self.dropout(x), self.lora_a), self.lora_b)
        return self.base(x) + self.scaling * update

    def delta_weight(self) -> torch.Tensor:
        """out_features x in_features: the update ``scaling * B @ A`` as a weight matrix."""
        return self.scaling * (self.lora_b @ self.lora_a)

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` equal to this module in eval mode (base weight + update)."""
        out = nn.Linear(self.in_features, self.out_features, bias=self.base.bias is not None)
        out = out.to(self.base.weight.device, self.base.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        out.weight.requires_grad_(self.base.weight.requires_grad)
        if out.bias is not None:
            out.bias.requires_grad_(self.base.bias.requires_grad)
        return out

    def extra_repr(self) -> str:
        c = self.config
        return f"rank={c.rank}, alpha={c.alpha}, dropout={c.dropout}"
