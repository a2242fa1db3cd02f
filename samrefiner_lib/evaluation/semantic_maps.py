"""VOC protocol: refine coarse semantic label maps and score mIoU before and after.

SAMRefiner methods refine a label map with split-then-merge (:mod:`samrefiner_lib.stm`, mode
``"stm"`` by default; ``"whole_class"`` and ``"no_merge"`` are its ablations); baselines refine
each class mask on its own (:func:`samrefiner_lib.baselines.refine_label_map`). If this
installation has no :mod:`samrefiner_lib.stm`, SAMRefiner methods are left out with a note saying
so, and the coarse maps and baselines are still scored.

mIoU: one confusion matrix over the dataset (21 VOC classes, background included), ground-truth
255 skipped, a predicted 255 counted as a miss of the true class.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..baselines import refine_label_map
from ..datasets.sample import Sample
from ..datasets.voc import VOC_CLASSES
from ..decoding import ImageEmbedding
from ..metrics import ConfusionMatrix
from ..refiner import SAMRefiner
from .methods import is_sam_method, method_config, method_record
from .results_file import ProtocolResult
from .runner import Method

STM_MISSING = ("SAMRefiner on label maps needs split-then-merge (samrefiner_lib.stm), which this "
               "installation does not have; SAMRefiner methods were skipped and only the coarse "
               "label maps and the baselines were scored")


def load_refine_semantic() -> Callable[..., Any] | None:
    """``samrefiner_lib.stm.refine_semantic`` if this installation has it, else None."""
    try:
        from ..stm import refine_semantic
    except ImportError:
        return None
    return refine_semantic


def refine_label_map_with(method: Method, image: np.ndarray, labels: np.ndarray,
                          refiner: SAMRefiner | None = None, mode: str = "stm",
                          embedding: ImageEmbedding | None = None) -> np.ndarray:
    """Refine one coarse label map with any method.

    Arguments:
      method: a SAMRefiner configuration (through STM) or a baseline (class by class).
      image: HxWx3 uint8 image.
      labels: HxW uint8 coarse label map (255 = no label).
      refiner: runs SAMRefiner configurations.
      mode: STM mode for SAMRefiner methods (``"stm"``, ``"no_merge"``, ``"whole_class"``).
      embedding: the image's precomputed embedding (SAMRefiner methods only).

    Returns:
      np.ndarray: HxW uint8 refined label map.

    Raises:
      RuntimeError: a SAMRefiner method but no STM in this installation.
    """
    if not is_sam_method(method):
        return refine_label_map(method, image, labels)
    refine_semantic = load_refine_semantic()
    if refine_semantic is None:
        raise RuntimeError(STM_MISSING)
    if refiner is None:
        raise ValueError("a SAMRefiner configuration needs a refiner (a SAM model)")
    cfg, sel = method_config(method)
    out = refine_semantic(image, labels, refiner, mode=mode, config=cfg, selector=sel,
                          embedding=embedding)
    return np.asarray(getattr(out, "labels", out), dtype=np.uint8)


def _update(matrix: ConfusionMatrix, pred: np.ndarray, gt: np.ndarray, sample: Sample,
            what: str) -> None:
    """Add one pair to ``matrix``; out-of-range labels name the image, the input and the values.

    Arguments:
      matrix: the confusion matrix of one method (or of the coarse maps).
      pred: HxW predicted (coarse or refined) labels.
      gt: HxW ground-truth labels.
      sample: the sample, for messages.
      what: which prediction this is, e.g. ``"the coarse label map"``.
    """
    k, ignore = matrix.num_classes, matrix.ignore_index
    for labels, which in ((gt, "the ground-truth label map"), (pred, what)):
        values = np.unique(np.asarray(labels))
        outside = (values < 0) | (values >= k)
        if ignore is not None:
            outside &= values != ignore
        bad = values[outside]
        if bad.size:
            shown = ", ".join(str(int(v)) for v in bad[:8]) + (", ..." if bad.size > 8 else "")
            void = "" if ignore is None else f"; {ignore} = void is allowed"
            raise ValueError(
                f"image {sample.name!r}: {which} holds class indices {shown}, outside "
                f"0..{k - 1} ({k} classes{void})"
            )
    matrix.update(pred, gt)


def evaluate_semantic(
    samples: Iterable[Sample],
    methods: Mapping[str, Method],
    refiner: SAMRefiner | None = None,
    *,
    num_classes: int = len(VOC_CLASSES),
    class_names: Sequence[str] | None = VOC_CLASSES,
    mode: str = "stm",
    progress: bool = True,
    info: dict[str, Any] | None = None,
) -> ProtocolResult:
    """mIoU of the coarse label maps and of each method's refined maps.

    Arguments:
      samples: samples with ``meta["label_map"]`` (ground truth) and
        ``meta["coarse_label_map"]`` (see :class:`~samrefiner_lib.datasets.VocSemantic`).
      methods: name -> SAMRefiner configuration or baseline.
      refiner: runs the SAMRefiner configurations.
      num_classes: K classes including background.
      class_names: K names for the per-class table in ``per_object`` (or None).
      mode: STM mode for SAMRefiner methods.
      progress: show a progress bar.
      info: run facts to record.

    Returns:
      ProtocolResult: rows ``coarse`` and each method run; columns ``images``, ``mIoU``,
      ``pixel accuracy`` (in %) and ``seconds``; ``per_object`` holds per-class IoUs.
    """
    notes: list[str] = []
    active = dict(methods)
    if any(is_sam_method(m) for m in active.values()):
        if load_refine_semantic() is None:
            notes.append(STM_MISSING)
            active = {k: m for k, m in active.items() if not is_sam_method(m)}
        elif refiner is None:
            raise ValueError("methods include SAMRefiner configurations but no refiner was given")
    names = ["coarse", *active]
    matrices = {n: ConfusionMatrix(num_classes) for n in names}
    seconds = dict.fromkeys(names, 0.0)
    images = 0
    total = len(samples) if hasattr(samples, "__len__") else None
    for sample in tqdm(samples, total=total, disable=not progress, desc="evaluate", unit="img"):
        gt = sample.meta.get("label_map")
        coarse = sample.meta.get("coarse_label_map")
        if gt is None or coarse is None:
            raise ValueError(f"sample {sample.name!r} needs meta['label_map'] and "
                             "meta['coarse_label_map']")
        images += 1
        _update(matrices["coarse"], coarse, gt, sample, "the coarse label map")
        embedding = None
        if refiner is not None and any(is_sam_method(m) for m in active.values()):
            embedding = refiner.encode(sample.image)
        for name, method in active.items():
            t = time.perf_counter()
            refined = refine_label_map_with(method, sample.image, coarse, refiner, mode,
                                            embedding if is_sam_method(method) else None)
            seconds[name] += time.perf_counter() - t
            _update(matrices[name], refined, gt, sample, f"the label map refined by {name!r}")
    records = {"coarse": {"label": "coarse label maps (input)", "kind": "input", "config": None}}
    for k, m in active.items():
        rec = method_record(m)
        if is_sam_method(m):
            rec["config"] = {**rec["config"], "semantic_mode": mode}
        records[k] = rec
    table = pd.DataFrame([{
        "method": n, "configuration": records[n]["label"], "images": images,
        "mIoU": 100 * matrices[n].miou(), "pixel accuracy": 100 * matrices[n].pixel_accuracy(),
        "seconds": seconds[n]} for n in names]).set_index("method")
    per_class = pd.concat(
        [matrices[n].table(class_names).reset_index().assign(method=n) for n in names],
        ignore_index=True)
    run_info = {**(info or {}), "notes": [*(info or {}).get("notes", []), *notes]}
    if any(is_sam_method(m) for m in active.values()):
        run_info["semantic_mode"] = mode
    return ProtocolResult(table=table, methods=records, info=run_info, per_object=per_class)
