"""Run the evaluation protocol that fits a dataset and return one :class:`ProtocolResult`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..refiner import SAMRefiner
from .coco_ap import evaluate_coco
from .methods import method_record
from .results_file import ProtocolResult
from .runner import Method, evaluate
from .semantic_maps import evaluate_semantic
from .sources import DatasetSource


def evaluate_instances(source: DatasetSource, methods: Mapping[str, Method],
                       refiner: SAMRefiner | None = None, *, top1: bool = True,
                       progress: bool = True, info: dict[str, Any] | None = None
                       ) -> ProtocolResult:
    """Instance protocol through :func:`~samrefiner_lib.evaluation.evaluate`.

    Returns:
      ProtocolResult: columns ``configuration``, ``objects``, ``IoU`` (cumulative), ``mIoU``
      (mean), ``boundary IoU``, ``boundary mIoU``, ``mBA``, ``top-1``, ``seconds`` (in %
      except counts and seconds); ``per_object`` has one row per (method, sample, object).
    """
    res = evaluate(source.samples, methods, refiner, top1=top1, progress=progress,
                   info=dict(info or {}))
    records = {"coarse": {"label": "coarse masks (input)", "kind": "input", "config": None}}
    records.update({k: method_record(m) for k, m in methods.items()})
    return ProtocolResult(table=res.table(), methods=records, info=res.info,
                          per_object=res.per_object())


def run_protocol(source: DatasetSource, methods: Mapping[str, Method],
                 refiner: SAMRefiner | None = None, *, top1: bool = True,
                 semantic_mode: str = "stm", progress: bool = True,
                 info: dict[str, Any] | None = None) -> ProtocolResult:
    """Evaluate the coarse masks and every method on a dataset with its protocol.

    Arguments:
      source: an opened dataset (:func:`~samrefiner_lib.evaluation.sources.open_dataset`).
      methods: name -> SAMRefiner configuration or baseline (``coarse`` is always added).
      refiner: runs the SAMRefiner configurations.
      top1: instance protocol: also score the IoU head's top-1 accuracy.
      semantic_mode: VOC protocol: STM mode for SAMRefiner methods.
      progress: show a progress bar.
      info: run facts to record (dataset, model, seed, software...).

    Returns:
      ProtocolResult
    """
    facts = {"dataset": source.name, "protocol": source.protocol, **source.details,
             **(info or {})}
    if source.kind == "instance":
        return evaluate_instances(source, methods, refiner, top1=top1, progress=progress,
                                  info=facts)
    if source.kind == "coco":
        return evaluate_coco(source.coco, methods, refiner, progress=progress, info=facts)
    return evaluate_semantic(source.samples, methods, refiner, mode=semantic_mode,
                             progress=progress, info=facts)
