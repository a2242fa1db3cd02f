"""Run refinement methods over samples and collect the paper's metrics.

A method is either a :class:`~samrefiner_lib.config.RefinerConfig` (run through one shared
:class:`~samrefiner_lib.refiner.SAMRefiner`, reusing one image embedding for all configurations
of an image) or a baseline object with ``name`` and ``refine(image, coarse) -> NxHxW bool``.
The coarse masks themselves are always evaluated as the ``"coarse"`` row.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import RefinerConfig
from ..datasets.sample import Sample
from ..metrics import BoundaryIoUAccumulator, IoUAccumulator, mask_iou
from ..metrics.ranking import top1_correct
from ..refiner import SAMRefiner
from ..selectors import Selector
from .boundary_accuracy import mba_with_ignore


class Baseline(Protocol):
    """A refiner that does not use SAM's prompts (DenseCRF, morphology, ...)."""

    name: str

    def refine(self, image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """NxHxW bool coarse masks -> NxHxW bool refined masks."""
        ...


@dataclass
class RefinerMethod:
    """A SAMRefiner configuration, optionally with its own candidate selector."""

    config: RefinerConfig
    selector: Selector | None = None


Method = RefinerConfig | RefinerMethod | Baseline


@dataclass
class EvaluationResult:
    """Per-object records and their aggregation.

    Attributes:
      records: one dict per (method, sample, object) with iou, boundary_iou, and for SAM
        methods the predicted/true IoUs of the candidates.
      methods: description of each method (preset label or baseline name).
      info: free-form facts (model, data, protocol, timing) recorded with the results.
      seconds: wall-clock seconds spent per method (excluding the shared image encoding).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    _acc: dict[str, tuple[IoUAccumulator, BoundaryIoUAccumulator]] = field(default_factory=dict)

    def per_object(self) -> pd.DataFrame:
        return pd.DataFrame(self.records)

    def table(self) -> pd.DataFrame:
        """One row per method: cumulative and mean IoU / boundary IoU, mBA, top-1 (all in %)."""
        rows = []
        df = self.per_object()
        for name, (iou, biou) in self._acc.items():
            sub = df[df["method"] == name] if len(df) else df
            top1 = sub["top1"].dropna() if "top1" in sub else pd.Series(dtype=float)
            mba = sub["mba"].dropna() if "mba" in sub else pd.Series(dtype=float)
            rows.append({
                "method": name,
                "configuration": self.methods.get(name, name),
                "objects": iou.count,
                "IoU": 100 * iou.cumulative,
                "mIoU": 100 * iou.mean,
                "boundary IoU": 100 * biou.cumulative,
                "boundary mIoU": 100 * biou.mean,
                "mBA": 100 * float(mba.mean()) if len(mba) else float("nan"),
                "top-1": 100 * float(top1.mean()) if len(top1) else float("nan"),
                "seconds": self.seconds.get(name, float("nan")),
            })
        return pd.DataFrame(rows).set_index("method")

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the table, the method descriptions and the recorded facts (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"info": self.info, "methods": self.methods,
                   "table": json.loads(self.table().reset_index().to_json(orient="records"))}
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(payload, indent=2, default=str))
        os.replace(tmp, path)


def _describe(method: Method) -> str:
    if isinstance(method, RefinerMethod):
        sel = f", selector={method.selector.name}" if method.selector is not None else ""
        return method.config.describe() + sel
    if isinstance(method, RefinerConfig):
        return method.describe()
    return getattr(method, "name", type(method).__name__)


def evaluate(
    samples: Iterable[Sample],
    methods: Mapping[str, Method],
    refiner: SAMRefiner | None = None,
    dilation_ratio: float = 0.02,
    top1: bool = True,
    progress: bool = True,
    info: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Evaluate the coarse masks and every method on samples with aligned ``gt``/``coarse``.

    Arguments:
      samples: samples whose ``coarse[i]`` is a coarse version of ``gt[i]``.
      methods: name -> configuration or baseline.
      refiner: the SAMRefiner that runs configurations (needed if any method is one).
      dilation_ratio: boundary band width for boundary IoU.
      top1: also record whether SAM's predicted-IoU choice is the best of its candidates.
      progress: show a progress bar.
      info: facts to record with the results (model, dataset, protocol).

    Returns:
      EvaluationResult
    """
    res = EvaluationResult(info=dict(info or {}))
    names = ["coarse", *methods]
    res.methods = {"coarse": "coarse masks (input)"}
    res.methods.update({k: _describe(m) for k, m in methods.items()})
    for n in names:
        res._acc[n] = (IoUAccumulator(), BoundaryIoUAccumulator(dilation_ratio))
        res.seconds[n] = 0.0
    sam_methods = {k: m for k, m in methods.items()
                   if isinstance(m, (RefinerConfig, RefinerMethod))}
    if sam_methods and refiner is None:
        raise ValueError("methods include SAMRefiner configurations but no refiner was given")
    enc_seconds = 0.0
    # A sized source (a lazy dataset) gives the bar its total without loading every image first.
    total = len(samples) if isinstance(samples, Sized) else None
    for sample in tqdm(samples, total=total, disable=not progress, desc="evaluate", unit="img"):
        if sample.gt is None or sample.coarse is None or len(sample.gt) != len(sample.coarse):
            raise ValueError(f"sample {sample.name!r} needs aligned gt and coarse masks")
        outputs: dict[str, np.ndarray] = {"coarse": sample.coarse}
        extra: dict[str, dict[str, list]] = {}
        if sam_methods:
            t = time.perf_counter()
            emb = refiner.encode(sample.image)
            enc_seconds += time.perf_counter() - t
        for name, m in methods.items():
            t = time.perf_counter()
            if name in sam_methods:
                cfg = m.config if isinstance(m, RefinerMethod) else m
                sel = m.selector if isinstance(m, RefinerMethod) else None
                out = refiner.refine_masks(emb, sample.coarse, cfg, sel)
                outputs[name] = out.masks
                if top1 and cfg.multimask_output:
                    ex = {"pred_iou": [], "true_iou": []}
                    for i in range(len(out)):
                        cands = out.candidate_masks(i)
                        ex["true_iou"].append([mask_iou(c, sample.gt[i], sample.ignore)
                                               for c in cands])
                        ex["pred_iou"].append(out.iou_predictions[i].tolist())
                    extra[name] = ex
            else:
                outputs[name] = np.asarray(m.refine(sample.image, sample.coarse), dtype=bool)
            res.seconds[name] += time.perf_counter() - t
        for name, masks in outputs.items():
            iou_acc, biou_acc = res._acc[name]
            for i, (pred, gt) in enumerate(zip(masks, sample.gt, strict=True)):
                rec = {"method": name, "sample": sample.name, "object": i,
                       "iou": iou_acc.add(pred, gt, sample.ignore),
                       "boundary_iou": biou_acc.add(pred, gt, sample.ignore),
                       "mba": mba_with_ignore(pred, gt, sample.ignore)}
                if name in extra:
                    p, q = extra[name]["pred_iou"][i], extra[name]["true_iou"][i]
                    rec.update(pred_iou=p, true_iou=q,
                               top1=bool(top1_correct(np.array([p]), np.array([q]))[0]))
                res.records.append(rec)
    res.info["encoder_seconds"] = enc_seconds
    return res

