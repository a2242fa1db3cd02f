"""SAMRefiner++: self-boosted adaption of SAM's IoU head with a LoRA adaptor (METHOD.md sec. 3).

- :mod:`.lora`: :class:`LoRAConfig` and :class:`LoRALinear`, a low-rank update of one layer.
- :mod:`.adaptor`: :class:`IoUHeadAdaptor` - attach / apply / merge / save / load the adaptor of
  the IoU-prediction MLP's last layer.
- :mod:`.ranking_loss`: coarse-mask targets and the margin ranking loss.
- :mod:`.adapt`: :func:`adapt_iou_head`, the training loop, and top-1 scoring helpers.
- :mod:`.data`: dataset items, and image/mask folder pairs or list files for the command line.

Typical use::

    adaptor = adapt_iou_head(refiner, samples)       # no ground truth needed
    with adaptor.applied(refiner):
        result = refiner.refine(image, coarse)        # adapted IoU head
    adaptor.save("adaptor.pt")
    sam = load_adaptor("adaptor.pt").merge(sam)       # plain Sam with the update folded in
"""

from .adapt import (
    AdaptionConfig,
    CoarseTop1,
    StepRecord,
    adapt_iou_head,
    coarse_target_top1,
    loss_log,
    training_prompt_config,
)
from .adaptor import (
    AdaptorError,
    BaseModelInfo,
    IoUHeadAdaptor,
    attached_adaptor,
    detach_adaptor,
    iou_head_fingerprint,
    load_adaptor,
    target_layer_name,
)
from .data import AdaptionItem, iter_items, pairs_from_folders, pairs_from_list, write_list
from .lora import LoRAConfig, LoRALinear, init_lora_factors
from .ranking_loss import DEFAULT_MARGIN, coarse_targets, margin_ranking_loss

__all__ = [
    "DEFAULT_MARGIN",
    "AdaptionConfig",
    "AdaptionItem",
    "AdaptorError",
    "BaseModelInfo",
    "CoarseTop1",
    "IoUHeadAdaptor",
    "LoRAConfig",
    "LoRALinear",
    "StepRecord",
    "adapt_iou_head",
    "attached_adaptor",
    "coarse_target_top1",
    "coarse_targets",
    "detach_adaptor",
    "init_lora_factors",
    "iou_head_fingerprint",
    "iter_items",
    "load_adaptor",
    "loss_log",
    "margin_ranking_loss",
    "pairs_from_folders",
    "pairs_from_list",
    "target_layer_name",
    "training_prompt_config",
    "write_list",
]
