"""Training loop of the embedded model: SAM's recipe at a small scale, resumable.

Per step: encode a batch of scenes once; split the targets into prompt groups (single point,
box with multimask output, box with single output, noisy mask, noisy mask + its box); for each
group run ``rounds`` decoding rounds (first prompt, then correction points with the previous
logits as mask prompt); loss = focal x 20 + dice on the best of the outputs + MSE of the IoU
head, averaged over groups and rounds. Multimask outputs are trained on the first round of
single-point and box prompts only; later rounds, with several prompts, train the single-output
token, as in SAM.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from torch.utils.data import DataLoader, IterableDataset

from ..models.builders import SamSpec, build_sam_from_spec
from .batched_decoder import decode_all_tokens
from .data import SampleSettings, SceneStream
from .losses import sam_loss
from .prompt_sampling import (
    PromptState,
    correction_point,
    jitter_boxes,
    mask_boxes,
    noisy_mask_logits,
    sample_pixels,
)

#: Prompt groups of the first round and their shares of the targets.
GROUPS: dict[str, float] = {
    "point": 0.30,
    "box_multi": 0.15,
    "box_single": 0.15,
    "coarse_mask": 0.20,
    "coarse_box": 0.20,
}
_MULTIMASK_GROUPS = ("point", "box_multi", "excavated")

#: Groups for training on real photographs: the synthetic recipe's groups plus ``excavated``,
#: the prompts SAMRefiner itself builds from a coarse mask (distance-guided positive and
#: negative points, tight box, Gaussian mask prompt), trained with the 3 multimask outputs and
#: the IoU head as the refiner uses them (samples must carry the ``exc_*`` arrays).
REAL_GROUPS: dict[str, float] = {
    "point": 0.15,
    "box_multi": 0.10,
    "box_single": 0.10,
    "coarse_mask": 0.10,
    "coarse_box": 0.15,
    "excavated": 0.40,
}


@dataclass
class TrainSettings:
    """Optimisation settings.

    Attributes:
      steps: number of optimiser steps (the schedule's length) when ``minutes`` is None.
      minutes: wall-clock budget; the schedule then follows elapsed time (not bit-reproducible
        across machines, use ``steps`` for that).
      batch_images: scenes per step.
      rounds: decoding rounds per target (first prompt + corrections).
      lr, weight_decay, warmup_steps, min_lr_ratio: AdamW with linear warm-up and cosine decay.
      grad_clip: gradient-norm clip.
      workers: data-loader processes.
      seed: model initialisation and prompt sampling seed.
      checkpoint_every, log_every: in steps.
      bf16: autocast to bfloat16 on CUDA.
      cpu_bf16: autocast to bfloat16 on the CPU too (about 1.5x faster decoder training where
        the CPU has bfloat16 instructions, e.g. AVX512-BF16; weights stay float32).
    """

    steps: int = 2000
    minutes: float | None = None
    batch_images: int = 16
    rounds: int = 3
    lr: float = 8e-4
    weight_decay: float = 0.05
    warmup_steps: int = 300
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0
    workers: int = 2
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 20
    bf16: bool = True
    cpu_bf16: bool = False
    groups: dict[str, float] = field(default_factory=lambda: dict(GROUPS))


def _worker_init(_: int) -> None:
    # Each loader process generates scenes alone; library thread pools would oversubscribe.
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def lr_factor(progress: float, step: int, settings: TrainSettings) -> float:
    """Learning-rate multiplier: linear warm-up over steps, cosine decay over progress."""
    warm = min(1.0, (step + 1) / max(settings.warmup_steps, 1))
    p = min(max(progress, 0.0), 1.0)
    cos = settings.min_lr_ratio + (1 - settings.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))
    return warm * cos


def _normalise(sam: Sam, images: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """BxSxSx3 uint8 padded scenes -> Bx3xSxS normalised input, padding zero as in preprocess."""
    x = images.permute(0, 3, 1, 2).float()
    x = (x - sam.pixel_mean) / sam.pixel_std
    s = x.shape[-1]
    ar = torch.arange(s, device=x.device)
    inside = (ar[None, :, None] < sizes[:, 0, None, None]) & (ar[None, None, :] < sizes[:, 1, None,
                                                                                          None])
    return x * inside[:, None]


def _first_prompts(group: str, targets: torch.Tensor, noisy: torch.Tensor, sizes: torch.Tensor,
                   grid: tuple[int, int], gen: torch.Generator,
                   excavated: dict[str, torch.Tensor] | None = None) -> PromptState:
    state = PromptState()
    if group == "excavated":
        if excavated is None:
            raise ValueError("prompt group 'excavated' needs samples with exc_* arrays "
                             "(RealSampleSettings.excavate)")
        state.coords = excavated["exc_coords"].float()
        state.labels = excavated["exc_labels"].long()
        state.boxes = excavated["exc_boxes"].float()
        state.masks = excavated["exc_masks"].float()[:, None]
    elif group == "point":
        xy, _ = sample_pixels(targets, gen)
        state.add_point(xy, torch.ones(len(xy), device=xy.device))
    elif group in ("box_multi", "box_single"):
        state.boxes = jitter_boxes(mask_boxes(targets), sizes, gen)
    else:
        state.masks = noisy_mask_logits(noisy, grid, gen)
        if group == "coarse_box":
            state.boxes = mask_boxes(noisy)
    return state


def training_loss(sam: Sam, batch: dict[str, torch.Tensor], settings: TrainSettings,
                  gen: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one batch (see the module docstring).

    Groups whose prompts have the same number of sparse tokens are decoded in one call per
    round, which keeps the number of kernel launches per step small on a GPU.
    """
    dev = sam.pixel_mean.device
    images = batch["image"].to(dev, non_blocking=True)
    sizes = batch["size"].to(dev)
    valid = batch["valid"].to(dev)
    tgt_all = batch["targets"].to(dev)
    noisy_all = batch["noisy"].to(dev)
    use_bf16 = (settings.bf16 and dev.type == "cuda") or (settings.cpu_bf16
                                                          and dev.type == "cpu")
    if "embedding" in batch:  # a frozen encoder's cached output
        emb = batch["embedding"].to(dev, non_blocking=True).float()
    else:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            emb = sam.image_encoder(_normalise(sam, images, sizes))
    img_idx, tgt_idx = torch.nonzero(valid, as_tuple=True)
    targets = tgt_all[img_idx, tgt_idx]
    noisy = noisy_all[img_idx, tgt_idx]
    t_sizes = sizes[img_idx]
    exc = ({k: batch[k].to(dev)[img_idx, tgt_idx] for k in batch if k.startswith("exc_")}
           or None)
    s = targets.shape[-1]
    grid = tuple(int(v) for v in sam.prompt_encoder.mask_input_size)
    names = list(settings.groups)
    probs = torch.tensor([settings.groups[k] for k in names], device=dev)
    assign = torch.multinomial(probs, len(targets), replacement=True, generator=gen)
    pe = sam.prompt_encoder.get_dense_pe()
    groups = {}
    for gi, name in enumerate(names):
        sel = torch.nonzero(assign == gi, as_tuple=True)[0]
        if sel.numel():
            groups[name] = {
                "target": targets[sel],
                "state": _first_prompts(name, targets[sel], noisy[sel], t_sizes[sel], grid, gen,
                                        {k: v[sel] for k, v in exc.items()} if exc else None),
                "emb": emb[img_idx[sel]],
            }
    losses, logs = [], {}
    for r in range(settings.rounds):
        outputs = {}
        buckets: dict[int, list[str]] = {}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            encoded = {}
            for name, g in groups.items():
                st = g["state"]
                encoded[name] = sam.prompt_encoder(points=st.points(), boxes=st.boxes,
                                                   masks=st.masks)
                buckets.setdefault(encoded[name][0].shape[1], []).append(name)
            for members in buckets.values():
                low, iou = decode_all_tokens(
                    sam.mask_decoder, torch.cat([groups[m]["emb"] for m in members]), pe,
                    torch.cat([encoded[m][0] for m in members]),
                    torch.cat([encoded[m][1] for m in members]),
                )
                counts = [len(groups[m]["target"]) for m in members]
                for m, lo, io in zip(members, low.split(counts), iou.split(counts), strict=True):
                    outputs[m] = (lo, io)
        for name, g in groups.items():
            low, iou = outputs[name]
            multi = r == 0 and name in _MULTIMASK_GROUPS
            k = slice(1, None) if multi else slice(0, 1)
            low_k, iou_k = low[:, k].float(), iou[:, k].float()
            up = F.interpolate(low_k, (s, s), mode="bilinear", align_corners=False)
            loss, parts = sam_loss(up, iou_k, g["target"].float())
            losses.append(loss)
            for key, v in parts.items():
                logs[f"{name}/r{r}/{key}"] = float(v)
            if r + 1 < settings.rounds:
                rows = torch.arange(len(up), device=dev)
                best = iou_k.argmax(dim=1)
                pred = up[rows, best].detach() > 0
                xy, lab = correction_point(pred, g["target"], gen)
                g["state"].add_point(xy, lab)
                g["state"].masks = low_k[rows, best].detach()[:, None]
    total = torch.stack(losses).mean()
    logs["loss"] = float(total.detach())
    return total, logs


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def train(
    spec: SamSpec | None,
    samples: SampleSettings | Any,
    settings: TrainSettings,
    out_dir: str | os.PathLike,
    device: str = "cpu",
    resume: bool = True,
    progress: Callable[[dict], None] | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
    init: str | os.PathLike | None = None,
    build: Callable[[], Sam] | None = None,
    data: Callable[[int], IterableDataset] | None = None,
    trainable: str = "all",
    validate: Callable[[Sam], dict] | None = None,
    validate_every: int = 0,
) -> Path:
    """Train (or resume training) a SAM, by default of architecture ``spec`` on synthetic scenes.

    Writes ``out_dir/last.pt`` (full state, for resuming) every ``checkpoint_every`` steps and at
    the end, and appends one JSON line per ``log_every`` steps to ``out_dir/log.jsonl``.
    ``progress`` receives each log record; ``on_checkpoint`` the checkpoint path after each save.
    ``init`` starts a new run (not a resumed one) from the weights of a saved model file.

    Arguments beyond the synthetic recipe:
      build: makes the initial model (default: ``build_sam_from_spec(spec)``); for models the
        spec cannot describe, e.g. LiteMedSAM, with ``spec`` None.
      data: ``data(start)`` gives the sample stream resuming after ``start`` samples (default:
        synthetic scenes drawn with ``samples``); its samples may carry cached embeddings.
      trainable: ``"all"``, or ``"heads"`` to freeze the image encoder and train the prompt
        encoder and mask decoder only.
      validate: called with the model (in eval mode, no gradients) every ``validate_every``
        steps and at the end; its dict is logged as a ``{"validation": ...}`` line.

    Returns:
      Path of the final ``last.pt``.
    """
    if trainable not in ("all", "heads"):
        raise ValueError(f"trainable must be 'all' or 'heads', got {trainable!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.pt"
    dev = torch.device(device)
    if build is not None:
        sam = build()
    else:
        sam = build_sam_from_spec(spec, seed=settings.seed)
    if init is not None and not (resume and ckpt_path.exists()):
        init_state = torch.load(init, map_location="cpu", weights_only=False)["state_dict"]
        sam.load_state_dict({k: v.float() for k, v in init_state.items()})
    sam = sam.to(dev).train()
    if trainable == "heads":
        sam.image_encoder.requires_grad_(False)
        sam.image_encoder.eval()
        params = [p for n, p in sam.named_parameters() if not n.startswith("image_encoder.")]
    else:
        params = list(sam.parameters())
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    step, elapsed = 0, 0.0
    gen = torch.Generator(device=dev).manual_seed(settings.seed)
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=dev, weights_only=False)
        sam.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
        gen.set_state(state["generator"].cpu() if dev.type == "cpu" else state["generator"])
    stream = (data(step * settings.batch_images) if data is not None
              else SceneStream(samples, start=step * settings.batch_images))
    loader = DataLoader(
        stream,
        batch_size=settings.batch_images,
        num_workers=settings.workers,
        pin_memory=dev.type == "cuda",
        persistent_workers=settings.workers > 0,
        prefetch_factor=4 if settings.workers > 0 else None,
        worker_init_fn=_worker_init,
    )

    def snapshot() -> None:
        _save(ckpt_path, {
            "spec": spec.to_dict() if spec is not None else None,
            "state_dict": sam.state_dict(), "optimizer": opt.state_dict(),
            "step": step, "elapsed": elapsed, "generator": gen.get_state(),
            "train_settings": asdict(settings),
            "sample_settings": asdict(samples) if samples is not None else None,
            "trainable": trainable,
        })
        if on_checkpoint is not None:
            on_checkpoint(ckpt_path)

    def done() -> bool:
        if settings.minutes is not None:
            return elapsed >= settings.minutes * 60
        return step >= settings.steps

    log = open(out / "log.jsonl", "a")

    def run_validation() -> None:
        nonlocal t_last
        if validate is None:
            return
        t0 = time.perf_counter()
        sam.eval()
        with torch.no_grad():
            record = {"step": step, "elapsed_s": round(elapsed, 1), "validation": validate(sam)}
        record["validation_s"] = round(time.perf_counter() - t0, 1)
        sam.train()
        if trainable == "heads":
            sam.image_encoder.eval()
        log.write(json.dumps(record) + "\n")
        log.flush()
        if progress is not None:
            progress(record)
        t_last = time.perf_counter()  # training time excludes validation

    t_last = time.perf_counter()
    data_wait = 0.0
    for batch in loader:
        data_wait += time.perf_counter() - t_last
        if done():
            break
        prog = elapsed / (settings.minutes * 60) if settings.minutes else step / settings.steps
        for g in opt.param_groups:
            g["lr"] = settings.lr * lr_factor(prog, step, settings)
        loss, logs = training_loss(sam, batch, settings, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
        opt.step()
        step += 1
        now = time.perf_counter()
        elapsed += now - t_last
        t_last = now
        if step % settings.log_every == 0 or done():
            rec = {"step": step, "elapsed_s": round(elapsed, 1), "lr": opt.param_groups[0]["lr"],
                   "grad_norm": float(gnorm), "data_wait_s": round(data_wait, 1), **logs}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if progress is not None:
                progress(rec)
        if step % settings.checkpoint_every == 0:
            snapshot()
        if validate_every and step % validate_every == 0:
            run_validation()
    snapshot()
    if not (validate_every and step % validate_every == 0):
        run_validation()
    log.close()
    return ckpt_path


def export_weights(checkpoint: str | os.PathLike, target: str | os.PathLike,
                   extra: dict | None = None, half: bool = True) -> Path:
    """Write the model part of a training checkpoint as a shippable file (float16 by default).

    The file holds ``{"spec", "state_dict", **extra}`` and loads with ``load_sam``.
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    sd = {k: (v.half() if half and v.is_floating_point() else v)
          for k, v in state["state_dict"].items()}
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _save(target, {"spec": state["spec"], "state_dict": sd,
                   "step": state["step"], **(extra or {})})
    return target


def build_trained(checkpoint: str | os.PathLike, device: str = "cpu") -> Sam:
    """The model of a training checkpoint, in eval mode."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    sam = build_sam_from_spec(SamSpec.from_dict(state["spec"]))
    sam.load_state_dict({k: v.float() for k, v in state["state_dict"].items()})
    return sam.to(device).eval()
