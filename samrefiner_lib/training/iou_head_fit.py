"""Re-fit the IoU head of a frozen SAM on the refiner's own candidates.

With the multimask output the refiner keeps the candidate whose predicted IoU is highest, so the
IoU head (a small MLP on the mask decoder's IoU-token output) decides which of the candidates a
user gets. A decoder trained for few steps can produce good candidates and still rank them no
better than chance. Because the IoU head is the last step of the decoder, its input does not
depend on the head itself: the refiner is run once over training images with the prompts it
excavates, the head's input and every candidate's counts against the ground truth are stored
(:func:`collect_iou_examples`), and the head alone is then fitted on them in seconds
(:func:`fit_iou_head`). Choices of a fitted head on stored examples are exactly the choices the
refiner makes with that head, so the examples of held-out images measure it without re-running
the decoder.

The loss is the sum of three terms on the multimask outputs' predicted IoU ``p`` and true IoU
``t`` (BxK): the mean squared error of ``p`` against ``t`` (SAM's own IoU loss), a listwise
ranking term, ``rank_weight`` times the cross-entropy of ``softmax(p / tau)`` against
``softmax(t / tau)``, and the squared error of the single-output prediction against the head it
started from (so the single-output path keeps its scores).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..config import RefinerConfig
from ..datasets.sample import Sample
from ..metrics.boundary import boundary_intersection_union
from ..metrics.iou import intersection_union
from ..refiner import SAMRefiner


@dataclass
class IoUExamples:
    """One row per refined mask: the IoU head's input and what each candidate is worth.

    Attributes:
      tokens: NxC float32, the IoU head's input (the IoU token after the decoder's transformer).
      predicted: NxK float32, the candidates' predicted IoU from the head that was collected.
      inter, union: NxK int64 pixel counts of each candidate against the ground truth.
      b_inter, b_union: NxK int64 boundary-band counts of each candidate.
      coarse: Nx4 int64 (intersection, union, boundary intersection, boundary union) of the
        coarse mask, for the "coarse" row of a report.
      names: (N,) the sample name of each row.
    """

    tokens: np.ndarray
    predicted: np.ndarray
    inter: np.ndarray
    union: np.ndarray
    b_inter: np.ndarray
    b_union: np.ndarray
    coarse: np.ndarray
    names: np.ndarray

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def true_iou(self) -> np.ndarray:
        """NxK float32 IoU of each candidate with its ground truth (1 for an empty union)."""
        return np.where(self.union > 0, self.inter / np.maximum(self.union, 1), 1.0
                        ).astype(np.float32)

    def subset(self, keep: np.ndarray) -> IoUExamples:
        """The rows where the (N,) bool ``keep`` is True."""
        return IoUExamples(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    @staticmethod
    def concat(parts: Iterable[IoUExamples]) -> IoUExamples:
        parts = list(parts)
        if not parts:
            raise ValueError("no example sets to concatenate")
        return IoUExamples(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                              for f in fields(IoUExamples)})

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` file atomically (a killed run leaves no half-written set)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez_compressed(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})
        tmp.replace(path)
        return path

    @staticmethod
    def load(path: str | Path) -> IoUExamples:
        with np.load(path, allow_pickle=False) as z:
            return IoUExamples(**{f.name: z[f.name] for f in fields(IoUExamples)})

    def summary(self, choice: np.ndarray) -> dict[str, float]:
        """Percent cumulative IoU, mean IoU, cumulative boundary IoU and top-1 of a choice.

        Arguments:
          choice: (N,) index of the kept candidate of each row.
        """
        rows = np.arange(len(self))
        i, u = self.inter[rows, choice], self.union[rows, choice]
        bi, bu = self.b_inter[rows, choice], self.b_union[rows, choice]
        ious = self.true_iou
        return {"IoU": 100 * i.sum() / max(u.sum(), 1),
                "mIoU": 100 * float(ious[rows, choice].mean()),
                "boundary IoU": 100 * bi.sum() / max(bu.sum(), 1),
                "top-1": 100 * float((choice == ious.argmax(1)).mean())}

    def head_summary(self, head: nn.Module) -> dict[str, float]:
        """:meth:`summary` of the choice ``head`` makes (its highest multimask score per row)."""
        k = self.inter.shape[1]
        return self.summary(head_scores(head.eval(), self.tokens)[:, -k:].argmax(1))

    def coarse_summary(self) -> dict[str, float]:
        c = self.coarse
        return {"IoU": 100 * c[:, 0].sum() / max(c[:, 1].sum(), 1),
                "mIoU": 100 * float(np.mean(np.where(c[:, 1] > 0, c[:, 0] / np.maximum(
                    c[:, 1], 1), 1.0))),
                "boundary IoU": 100 * c[:, 2].sum() / max(c[:, 3].sum(), 1),
                "top-1": float("nan")}


def collect_iou_examples(refiner: SAMRefiner, samples: Iterable[Sample],
                         config: RefinerConfig | None = None, progress: bool = True,
                         total: int | None = None) -> IoUExamples:
    """Refine every sample once and store each refined mask's IoU-head input and counts.

    Arguments:
      refiner: the refiner (its model's IoU head is the one read; its encoder is not trained).
      samples: samples whose coarse masks pair with their ground truth by index.
      config: the configuration to refine with (default: the refiner's). With several
        iterations the last one's candidates are stored.
      progress: show a progress bar.
      total: the number of samples, for the progress bar.

    Returns:
      IoUExamples with one row per non-empty coarse mask.
    """
    cfg = config if config is not None else refiner.config
    if not cfg.multimask_output:
        raise ValueError("collect_iou_examples needs multimask_output=True: with one candidate "
                         "there is nothing for the IoU head to choose")
    head = refiner.sam.mask_decoder.iou_prediction_head
    captured: list[torch.Tensor] = []
    hook = head.register_forward_hook(
        lambda _m, inp, _out: captured.append(inp[0].detach().float().cpu()))
    rows: dict[str, list] = {f.name: [] for f in fields(IoUExamples)}
    try:
        for s in tqdm(samples, total=total, disable=not progress, desc="collect", unit="img"):
            if s.gt is None or s.coarse is None or len(s.gt) != len(s.coarse):
                raise ValueError(f"sample {s.name!r}: needs as many coarse masks as ground-truth "
                                 "masks, paired by index")
            captured.clear()
            out = refiner.refine_masks(refiner.encode(s.image), s.coarse, cfg)
            valid = np.flatnonzero(out.prompts.valid)
            # The last iteration's decoder calls are the last ones, in the order of ``valid``.
            tokens = torch.cat(captured).numpy()[-valid.size:] if valid.size else None
            for row, i in enumerate(valid):
                cands = out.candidate_masks(int(i))
                counts = [intersection_union(c, s.gt[i], s.ignore) for c in cands]
                bcounts = [boundary_intersection_union(c, s.gt[i], ignore=s.ignore)
                           for c in cands]
                ci, cu = intersection_union(s.coarse[i], s.gt[i], s.ignore)
                cbi, cbu = boundary_intersection_union(s.coarse[i], s.gt[i], ignore=s.ignore)
                rows["tokens"].append(tokens[row])
                rows["predicted"].append(out.iou_predictions[i])
                rows["inter"].append([c[0] for c in counts])
                rows["union"].append([c[1] for c in counts])
                rows["b_inter"].append([c[0] for c in bcounts])
                rows["b_union"].append([c[1] for c in bcounts])
                rows["coarse"].append([ci, cu, cbi, cbu])
                rows["names"].append(s.name)
    finally:
        hook.remove()
    if not rows["tokens"]:
        raise ValueError("no non-empty coarse masks to collect examples from")
    ints = ("inter", "union", "b_inter", "b_union", "coarse")
    return IoUExamples(**{k: np.asarray(v, dtype=np.int64 if k in ints else None)
                          for k, v in rows.items()})


def head_scores(head: nn.Module, tokens: np.ndarray) -> np.ndarray:
    """NxT float32 outputs of an IoU head (T = all mask tokens) for NxC ``tokens``."""
    with torch.no_grad():
        return head(torch.as_tensor(tokens, dtype=torch.float32)).float().numpy()


@dataclass(frozen=True)
class IoUHeadFitSettings:
    """How :func:`fit_iou_head` trains.

    Attributes:
      epochs: passes over the training rows.
      batch: rows per step.
      lr: AdamW learning rate.
      weight_decay: AdamW weight decay.
      rank_weight: weight of the listwise ranking term (0 = SAM's MSE only).
      tau: temperature of the ranking term, in IoU units.
      keep_single_weight: weight of the term that keeps the single-output score.
      select_by: holdout metric that picks the epoch kept (``"IoU"``, ``"mIoU"``,
        ``"boundary IoU"``).
      seed: seed of the row order.
    """

    epochs: int = 60
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    rank_weight: float = 1.0
    tau: float = 0.05
    keep_single_weight: float = 1.0
    select_by: str = "IoU"
    seed: int = 0


def fit_iou_head(head: nn.Module, train: IoUExamples, holdout: IoUExamples,
                 settings: IoUHeadFitSettings = IoUHeadFitSettings(), progress: bool = True
                 ) -> tuple[nn.Module, list[dict[str, float]]]:
    """Fit a copy of ``head`` on ``train``; keep the epoch best on ``holdout``.

    Arguments:
      head: the decoder's IoU head (its output 0 is the single-output score, the rest the
        multimask candidates' scores, as in ``segment_anything``'s ``MaskDecoder``).
      train: examples to fit on.
      holdout: examples of other images, to choose the epoch.
      settings: training settings.
      progress: show a progress bar.

    Returns:
      (fitted copy of the head, one log row per epoch with the holdout summary and the loss).
    """
    s = settings
    if s.select_by not in ("IoU", "mIoU", "boundary IoU"):
        raise ValueError(f"select_by must be 'IoU', 'mIoU' or 'boundary IoU', got {s.select_by!r}")
    torch.manual_seed(s.seed)
    start = copy.deepcopy(head).float().eval()
    fitted = copy.deepcopy(start).train()
    x = torch.as_tensor(train.tokens, dtype=torch.float32)
    t = torch.as_tensor(train.true_iou)
    single = torch.as_tensor(head_scores(start, train.tokens)[:, 0])
    k = t.shape[1]
    opt = torch.optim.AdamW(fitted.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    gen = torch.Generator().manual_seed(s.seed)

    def evaluate(h: nn.Module) -> dict[str, float]:
        return holdout.head_summary(h)

    best = {"epoch": 0, "loss": float("nan"), **evaluate(start)}
    log = [best]
    best_state = copy.deepcopy(start.state_dict())
    for epoch in tqdm(range(1, s.epochs + 1), disable=not progress, desc="fit IoU head"):
        fitted.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(0, len(x), s.batch):
            idx = order[b:b + s.batch]
            out = fitted(x[idx])
            multi, tb = out[:, -k:], t[idx]
            loss = F.mse_loss(multi, tb)
            if s.rank_weight:
                target = F.softmax(tb / s.tau, dim=1)
                loss = loss + s.rank_weight * -(target * F.log_softmax(multi / s.tau, dim=1)
                                                ).sum(1).mean()
            if s.keep_single_weight and out.shape[1] > k:
                loss = loss + s.keep_single_weight * F.mse_loss(out[:, 0], single[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        row = {"epoch": epoch, "loss": total / len(x), **evaluate(fitted)}
        log.append(row)
        if row[s.select_by] > best[s.select_by]:
            best, best_state = row, copy.deepcopy(fitted.state_dict())
    fitted.load_state_dict(best_state)
    return fitted.eval(), log
