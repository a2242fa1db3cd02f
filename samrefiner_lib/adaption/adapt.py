"""Self-boosted IoU adaption (SAMRefiner++, METHOD.md section 3): training without ground truth.

For every coarse mask, SAM is prompted with a single box (the tight box of the mask); its K = 3
candidates are compared with the coarse mask, the best-agreeing one is the target, and a margin
ranking loss teaches a LoRA adaptor on the IoU head's last layer to score the target highest.
The box is used because, with one prompt, the candidates differ in granularity (part, object,
group) and the coarse mask reliably tells which granularity is meant; at inference the adapted
head then scores the candidates of the full point + box + mask prompt.

Every SAM weight stays frozen; the image encoder runs once per image (its output is cached), and
the prompt encoder and mask decoder are called directly with gradients enabled, because the stock
``Sam.forward`` runs under ``no_grad``. The optimisation follows the reference code: SGD
(lr 0.01, momentum 0.9, weight decay 5e-4), batches of 5 masks by gradient accumulation (each
loss divided by 5), one epoch over shuffled masks, lr x 0.1 after optimiser steps 60 and 100.
A last, incomplete batch is still applied (the reference code drops it), with the same 1/5
weight per mask.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..config import RefinerConfig
from ..decoding import decode, prompt_tensors, upsample_logits
from ..geometry import Frame
from ..metrics.iou import mask_iou as metric_iou
from ..metrics.ranking import top1_correct
from ..models.builders import SamSpec
from ..prompts.excavate import excavate_prompts
from ..refiner import SAMRefiner
from ..selectors import mask_iou
from .adaptor import AdaptorError, IoUHeadAdaptor, attached_adaptor
from .data import DatasetItem, iter_items
from .lora import LoRAConfig
from .ranking_loss import DEFAULT_MARGIN, coarse_targets, margin_ranking_loss


@dataclass(frozen=True)
class AdaptionConfig:
    """Settings of :func:`adapt_iou_head` (defaults: the reference code's).

    Attributes:
      lora: rank, alpha and dropout of the adaptor.
      margin: margin m of the ranking loss.
      lr, momentum, weight_decay: SGD settings.
      batch_size: masks per optimiser step (gradient accumulation; each loss / batch_size).
      epochs: passes over the masks.
      milestones: optimiser steps after which the learning rate is multiplied by ``gamma``.
      gamma: learning-rate decay factor.
      seed: seeds the adaptor's initialisation, the shuffling and any dropout.
      shuffle: visit the masks in a random order each epoch (the reference code does).
    """

    lora: LoRAConfig = field(default_factory=LoRAConfig)
    margin: float = DEFAULT_MARGIN
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 5
    epochs: int = 1
    milestones: tuple[int, ...] = (60, 100)
    gamma: float = 0.1
    seed: int = 0
    shuffle: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"AdaptionConfig.batch_size must be >= 1, got {self.batch_size}")
        if self.epochs < 1:
            raise ValueError(f"AdaptionConfig.epochs must be >= 1, got {self.epochs}")
        if self.lr <= 0 or self.margin < 0 or self.weight_decay < 0 or self.momentum < 0:
            raise ValueError("AdaptionConfig: lr must be > 0; margin, weight_decay and momentum "
                             "must be >= 0")
        if list(self.milestones) != sorted(self.milestones) or any(m < 1 for m in self.milestones):
            raise ValueError(f"AdaptionConfig.milestones must be increasing steps >= 1, got "
                             f"{self.milestones}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


@dataclass
class StepRecord:
    """One optimiser step of the loss log.

    Attributes:
      step: optimiser step, from 1.
      epoch: epoch, from 1.
      masks: masks accumulated in this step.
      loss: the step's loss as the reference code logs it (sum of ranking losses / batch_size).
      mean_loss: mean ranking loss per mask of the step.
      lr: learning rate used by this step.
      coarse_top1: fraction of the step's masks whose predicted-IoU argmax already was the
        coarse-mask target (measured before the step's update).
    """

    step: int
    epoch: int
    masks: int
    loss: float
    mean_loss: float
    lr: float
    coarse_top1: float


def training_prompt_config(base: RefinerConfig) -> RefinerConfig:
    """The single-box prompt configuration used for training, derived from ``base``.

    Only fields that differ are overridden, so ``describe()`` shows what changed: no point, no
    mask prompt, the tight box (no CEBox), one pass, 3 candidates.
    """
    wanted = {"use_point": False, "use_mask": False, "use_box": True, "use_cebox": False,
              "iterations": 1, "multimask_output": True}
    changes = {k: v for k, v in wanted.items() if getattr(base, k) != v}
    return base.replace(**changes) if changes else base


@dataclass
class _CachedImage:
    """Encoder output and prompts of one training image."""

    name: str
    features: torch.Tensor  # 1xCxhxw, a normal (not inference-mode) tensor
    frame: Frame
    coarse: torch.Tensor  # NxHxW bool
    prompts: list[tuple[Any, Any, Any] | None]  # per mask: prompt_tensors(...); None if empty
    valid: np.ndarray  # (N,) bool


def _cache_images(
    refiner: SAMRefiner, dataset: Iterable[DatasetItem], cfg: RefinerConfig, progress: bool
) -> tuple[list[_CachedImage], int]:
    """Encode each image once and excavate its training prompts."""
    cached: list[_CachedImage] = []
    empty = 0
    dev = refiner.device
    bar = tqdm(iter_items(dataset), desc="encode images", unit="img", disable=not progress)
    for item in bar:
        emb = refiner.encode(item.image)
        cebox = emb.valid_features if (cfg.use_box and cfg.use_cebox) else None
        prompts = excavate_prompts(item.coarse, cfg, emb.frame, cebox)
        per_mask = [prompt_tensors(prompts.select(np.array([i])), emb.frame, dev)
                    if prompts.valid[i] else None for i in range(len(prompts))]
        empty += int((~prompts.valid).sum())
        # clone() outside inference mode: the encoder ran under inference_mode, and such
        # tensors cannot take part in a graph that is differentiated.
        cached.append(_CachedImage(item.name, emb.features.clone().cpu(), emb.frame,
                                   torch.from_numpy(item.coarse), per_mask, prompts.valid))
    return cached, empty


class _FrozenSam:
    """Context: every SAM parameter has ``requires_grad = False``; flags restored on exit."""

    def __init__(self, sam: torch.nn.Module) -> None:
        self.sam = sam
        self.flags: list[tuple[torch.nn.Parameter, bool]] = []

    def __enter__(self) -> None:
        self.flags = [(p, p.requires_grad) for p in self.sam.parameters()]
        for p, _ in self.flags:
            p.requires_grad_(False)

    def __exit__(self, *exc: object) -> None:
        for p, flag in self.flags:
            p.requires_grad_(flag)


def adapt_iou_head(
    refiner: SAMRefiner,
    dataset: Iterable[DatasetItem],
    config: AdaptionConfig | None = None,
    *,
    train_config: RefinerConfig | None = None,
    model_name: str | None = None,
    spec: SamSpec | dict[str, Any] | None = None,
    checkpoint: str | os.PathLike | None = None,
    data_label: str | None = None,
    progress: bool = True,
) -> IoUHeadAdaptor:
    """Train an IoU-head adaptor on images with coarse masks (no ground truth used).

    Arguments:
      refiner: holds the base SAM (not modified: the adaptor is attached only while training).
      dataset: ``Sample`` objects or ``(image, masks)`` pairs, see
        :func:`~samrefiner_lib.adaption.data.iter_items`. Every non-empty coarse mask is one
        training sample. Image embeddings are kept in memory (on the CPU) for the whole run.
      config: optimisation settings (default :class:`AdaptionConfig`).
      train_config: prompt configuration of the training queries; default
        :func:`training_prompt_config` of the refiner's configuration (a single tight box). It
        must ask for 3 candidates; one decoding pass is made whatever its ``iterations``.
      model_name, spec, checkpoint: the base model's identity, recorded in the adaptor.
      data_label: a description of the data, recorded in the adaptor.
      progress: show progress bars (encoding, then training with the running loss).

    Returns:
      IoUHeadAdaptor: trained factors, ``training`` (settings, counts) and ``log`` (one
      :class:`StepRecord` dict per optimiser step; :func:`loss_log` makes it a DataFrame).
    """
    cfg = config or AdaptionConfig()
    sam = refiner.sam
    if attached_adaptor(sam) is not None:
        raise AdaptorError("refiner.sam already has an IoU-head adaptor attached; detach it")
    tcfg = train_config if train_config is not None else training_prompt_config(refiner.config)
    if not tcfg.multimask_output:
        raise ValueError("train_config: IoU adaption ranks 3 candidates; multimask_output must "
                         "be True")
    images, empty = _cache_images(refiner, dataset, tcfg, progress)
    order_all = [(i, j) for i, im in enumerate(images) for j in np.flatnonzero(im.valid)]
    if not order_all:
        raise ValueError("dataset: no non-empty coarse mask to adapt on")
    adaptor = IoUHeadAdaptor.create(sam, cfg.lora, cfg.seed, model_name, spec, checkpoint)
    dev = refiner.device
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    records: list[StepRecord] = []
    n = len(order_all)
    with torch.random.fork_rng(devices=fork_devices), _FrozenSam(sam), \
            adaptor.applied(sam) as module:
        torch.manual_seed(cfg.seed)  # LoRA dropout draws from the global generator
        module.train()
        params = [module.lora_a, module.lora_b]
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                              weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.milestones), cfg.gamma)
        gen = torch.Generator().manual_seed(cfg.seed)
        bar = tqdm(total=n * cfg.epochs, desc="adapt IoU head", unit="mask",
                   disable=not progress)
        for epoch in range(1, cfg.epochs + 1):
            perm = torch.randperm(n, generator=gen).tolist() if cfg.shuffle else list(range(n))
            for start in range(0, n, cfg.batch_size):
                batch = [order_all[k] for k in perm[start : start + cfg.batch_size]]
                opt.zero_grad(set_to_none=True)
                total, hits = 0.0, 0
                for i, j in batch:
                    im = images[i]
                    points, boxes, masks = im.prompts[j]
                    logits, iou = decode(sam, im.features.to(dev), points, boxes, masks, True)
                    with torch.no_grad():
                        cands = upsample_logits(logits.detach(), im.frame) > sam.mask_threshold
                        target = coarse_targets(cands, im.coarse[j : j + 1].to(cands.device))
                    loss = margin_ranking_loss(iou, target, cfg.margin).sum()
                    # Backward per mask: the same gradient as summing the losses first, with
                    # the memory of one decoder graph.
                    (loss / cfg.batch_size).backward()
                    total += loss.detach().item()
                    hits += int(iou.detach().argmax(dim=1).eq(target).sum())
                    bar.update(1)
                lr = opt.param_groups[0]["lr"]
                opt.step()
                sched.step()
                rec = StepRecord(step=len(records) + 1, epoch=epoch, masks=len(batch),
                                 loss=total / cfg.batch_size, mean_loss=total / len(batch),
                                 lr=lr, coarse_top1=hits / len(batch))
                records.append(rec)
                bar.set_postfix(loss=f"{rec.loss:.4f}", lr=f"{lr:.0e}")
        bar.close()
        module.eval()
        adaptor.update_from(module)
    adaptor.log = [asdict(r) for r in records]
    adaptor.training = {
        **cfg.to_dict(),
        "lora": cfg.lora.to_dict(),
        "train_prompts": tcfg.describe(),
        "train_config": tcfg.to_dict(),
        "images": len(images),
        "masks": n,
        "empty_masks_skipped": empty,
        "steps": len(records),
        "data": data_label,
    }
    return adaptor


def loss_log(adaptor: IoUHeadAdaptor) -> pd.DataFrame:
    """The adaptor's training log as a DataFrame, one row per optimiser step."""
    cols = [f.name for f in StepRecord.__dataclass_fields__.values()]
    return pd.DataFrame(adaptor.log, columns=cols)


@dataclass
class CoarseTop1:
    """Top-1 accuracy of the IoU head on the training objective.

    Attributes:
      coarse_top1: fraction of masks where argmax predicted IoU is a best candidate against the
        coarse mask (the self-supervised target).
      gt_top1: the same against the ground truth (NaN when no sample has ground truth).
      masks: number of (non-empty) masks scored.
      ranking_loss: mean margin ranking loss of the coarse-mask target against the other
        candidates (the quantity adaption minimises).
    """

    coarse_top1: float
    gt_top1: float
    masks: int
    ranking_loss: float


def coarse_target_top1(
    refiner: SAMRefiner,
    dataset: Iterable[DatasetItem],
    prompt_config: RefinerConfig | None = None,
    margin: float = DEFAULT_MARGIN,
) -> CoarseTop1:
    """Score the refiner's IoU head (with whatever adaptor is attached) on single-box prompts.

    Arguments:
      refiner: the model to score.
      dataset: as for :func:`adapt_iou_head`; ``Sample`` objects with aligned ``gt`` also get a
        ground-truth top-1.
      prompt_config: the prompts (default :func:`training_prompt_config` of the refiner's).
      margin: margin of the reported ranking loss.

    Returns:
      CoarseTop1
    """
    cfg = prompt_config if prompt_config is not None else training_prompt_config(refiner.config)
    items = list(dataset)
    pred: list[np.ndarray] = []
    vs_coarse: list[np.ndarray] = []
    gt_hits: list[bool] = []
    for item, raw in zip(iter_items(items), items, strict=True):
        gt = getattr(raw, "gt", None)
        gt = gt if gt is not None and len(gt) == len(item.coarse) else None
        ignore = getattr(raw, "ignore", None)
        out = refiner.refine(item.image, item.coarse, config=cfg)
        for i in np.flatnonzero(out.prompts.valid):
            cands = torch.from_numpy(out.candidate_masks(int(i)))
            p = out.iou_predictions[i][None]
            c = mask_iou(cands, torch.from_numpy(item.coarse[i])[None]).numpy()[None]
            pred.append(p)
            vs_coarse.append(c)
            if gt is not None:
                g = np.array([[metric_iou(c, gt[i], ignore) for c in cands.numpy()]])
                gt_hits.append(bool(top1_correct(p, g)[0]))
    if not pred:
        raise ValueError("dataset: no non-empty coarse mask to score")
    pred_all, coarse_all = np.concatenate(pred), np.concatenate(vs_coarse)
    hits = top1_correct(pred_all, coarse_all)
    loss = margin_ranking_loss(torch.from_numpy(pred_all).double(),
                               torch.from_numpy(coarse_all.argmax(axis=1)), margin)
    gt_top1 = float(np.mean(gt_hits)) if gt_hits else float("nan")
    return CoarseTop1(float(hits.mean()), gt_top1, int(hits.size), float(loss.mean()))
