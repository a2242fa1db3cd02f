"""Method names the command line understands, and one way to run any method on one image.

A method is a SAMRefiner configuration (:class:`~samrefiner_lib.config.RefinerConfig` or
:class:`~samrefiner_lib.evaluation.runner.RefinerMethod`) or a baseline object with
``refine(image, coarse) -> masks``. Names:

==================  ==========================================================================
``samrefiner``      SAMRefiner with the ``--preset`` configuration (and ``--iterations``)
``paper``           SAMRefiner, the stock ``paper`` preset
``reference``       SAMRefiner, the stock ``reference`` preset
``sam-box``         plain SAM, tight box only (derived from ``--preset``)
``sam-mask``        plain SAM, raw binary mask only
``sam-center-point``  plain SAM, one box-centre point only
``sam-point``       plain SAM, one distance-guided point only
``densecrf``        DenseCRF (needs ``pydensecrf2``)
``morph-open``, ``morph-close``, ``morph-open-close``, ``morph-median``
                    morphological smoothing with ``morph_radius``
``cascadepsp``      CascadePSP (needs ``segmentation-refinement`` and ``cascadepsp_weights``)
``hqsam``           HQ-SAM, tight box (needs ``segment-anything-hq`` and ``hqsam_checkpoint``)
==================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..baselines import (
    PROMPT_BASELINES,
    CascadePSPBaseline,
    DenseCRFBaseline,
    HQSAMBaseline,
    MorphologyBaseline,
    plain_sam_configs,
)
from ..baselines.morphology import DEFAULT_RADIUS
from ..config import RefinerConfig, get_preset
from ..decoding import ImageEmbedding
from ..refiner import SAMRefiner
from .runner import Method, RefinerMethod

_MORPHOLOGY = {"morph-open": "open", "morph-close": "close", "morph-open-close": "open_close",
               "morph-median": "median"}

METHOD_NAMES: dict[str, str] = {
    "samrefiner": "SAMRefiner with the --preset configuration",
    "paper": "SAMRefiner, stock 'paper' preset",
    "reference": "SAMRefiner, stock 'reference' preset",
    **PROMPT_BASELINES,
    "densecrf": "DenseCRF (optional package pydensecrf2)",
    **{k: f"morphological {v.replace('_', '+')} of each mask" for k, v in _MORPHOLOGY.items()},
    "cascadepsp": "CascadePSP (needs segmentation-refinement and its weights)",
    "hqsam": "HQ-SAM with the tight box (needs segment-anything-hq and a checkpoint)",
}
"""Every accepted method name -> one-line description."""


@dataclass(frozen=True)
class MethodOptions:
    """Settings that method names depend on.

    Attributes:
      preset: preset of ``samrefiner`` and base of the plain-SAM prompt baselines.
      iterations: overrides the iterations of ``samrefiner`` (None: the preset's).
      morph_radius: element radius of the morphology baselines (pixels).
      cascadepsp_weights: folder holding CascadePSP's ``model`` file.
      hqsam_checkpoint: HQ-SAM checkpoint file.
      hqsam_model_type: HQ-SAM architecture (``vit_h``, ``vit_l``, ``vit_b``).
      device: torch device for the external models.
    """

    preset: str = "paper"
    iterations: int | None = None
    morph_radius: int = DEFAULT_RADIUS
    cascadepsp_weights: str | None = None
    hqsam_checkpoint: str | None = None
    hqsam_model_type: str = "vit_h"
    device: str = "cpu"


def build_method(name: str, options: MethodOptions | None = None) -> Method:
    """The method behind a name of :data:`METHOD_NAMES`.

    Arguments:
      name: method name.
      options: settings the name depends on (defaults: ``paper`` preset, radius 3).

    Returns:
      RefinerConfig or a baseline object.

    Raises:
      KeyError: unknown name (the message lists the known ones).
      BaselineUnavailableError: the baseline's package or weights are missing.
    """
    opts = options or MethodOptions()
    if name == "samrefiner":
        extra = {} if opts.iterations is None else {"iterations": opts.iterations}
        return get_preset(opts.preset, **extra)
    if name in ("paper", "reference"):
        return get_preset(name)
    if name in PROMPT_BASELINES:
        return plain_sam_configs(opts.preset)[name]
    if name == "densecrf":
        return DenseCRFBaseline()
    if name in _MORPHOLOGY:
        return MorphologyBaseline(_MORPHOLOGY[name], opts.morph_radius)
    if name == "cascadepsp":
        if not opts.cascadepsp_weights:
            raise ValueError("method cascadepsp needs --cascadepsp-weights FOLDER (the folder "
                             "holding CascadePSP's 'model' weights file)")
        return CascadePSPBaseline(opts.cascadepsp_weights, device=opts.device)
    if name == "hqsam":
        if not opts.hqsam_checkpoint:
            raise ValueError("method hqsam needs --hqsam-checkpoint FILE (an HQ-SAM checkpoint)")
        return HQSAMBaseline(opts.hqsam_checkpoint, opts.hqsam_model_type, device=opts.device)
    raise KeyError(f"unknown method {name!r}; known: {', '.join(METHOD_NAMES)}")


def build_methods(names: Sequence[str], options: MethodOptions | None = None) -> dict[str, Method]:
    """Methods by name, in the given order (duplicates dropped); ``"coarse"`` is implicit.

    Arguments:
      names: method names (see :data:`METHOD_NAMES`).
      options: settings the names depend on.

    Returns:
      dict[str, Method]
    """
    out: dict[str, Method] = {}
    for name in names:
        if name == "coarse":
            continue  # always evaluated
        if name not in out:
            out[name] = build_method(name, options)
    return out


def is_sam_method(method: Method) -> bool:
    """Whether the method runs through SAMRefiner (and so needs a SAM model)."""
    return isinstance(method, (RefinerConfig, RefinerMethod))


def method_config(method: Method) -> tuple[RefinerConfig, Any]:
    """(configuration, selector or None) of a SAMRefiner method."""
    if isinstance(method, RefinerMethod):
        return method.config, method.selector
    if isinstance(method, RefinerConfig):
        return method, None
    raise TypeError(f"{type(method).__name__} is not a SAMRefiner method")


def method_record(method: Method) -> dict[str, Any]:
    """``{"label", "kind", "config"}`` of a method, for results files.

    ``label`` is the preset description (e.g. ``paper (use_mask=False)``) or the baseline name;
    ``config`` is the full :meth:`RefinerConfig.to_dict` or the baseline's parameters.
    """
    if is_sam_method(method):
        cfg, sel = method_config(method)
        selector = getattr(sel, "name", None) or "predicted_iou"
        return {"label": cfg.describe(), "kind": "samrefiner",
                "config": {**cfg.to_dict(), "selector": selector}}
    to_dict = getattr(method, "to_dict", None)
    return {"label": getattr(method, "name", type(method).__name__), "kind": "baseline",
            "config": to_dict() if callable(to_dict) else {"class": type(method).__name__}}


def refine_instances(method: Method, image: np.ndarray, coarse: np.ndarray,
                     refiner: SAMRefiner | None = None,
                     embedding: ImageEmbedding | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run any method on the coarse masks of one image.

    Arguments:
      method: a SAMRefiner configuration or a baseline.
      image: HxWx3 uint8 image.
      coarse: NxHxW bool coarse masks.
      refiner: the SAMRefiner that runs configurations (needed for those).
      embedding: the image's precomputed embedding (SAMRefiner methods only).

    Returns:
      tuple: (NxHxW bool refined masks, (N,) float32 scores: SAM's predicted IoU of the chosen
      candidate, NaN for baselines and for empty masks).
    """
    if is_sam_method(method):
        if refiner is None:
            raise ValueError("a SAMRefiner configuration needs a refiner (a SAM model)")
        cfg, sel = method_config(method)
        if len(coarse) == 0:
            return coarse.astype(bool), np.zeros(0, np.float32)
        res = refiner.refine(image, coarse, embedding=embedding, config=cfg, selector=sel)
        return res.masks, res.scores.astype(np.float32)
    masks = np.asarray(method.refine(image, coarse), dtype=bool)
    if masks.shape != np.shape(coarse):
        raise ValueError(f"{getattr(method, 'name', method)!r} returned masks of shape "
                         f"{masks.shape} for coarse masks of shape {np.shape(coarse)}")
    return masks, np.full(len(masks), np.nan, np.float32)
