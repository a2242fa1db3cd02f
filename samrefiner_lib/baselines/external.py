"""Adapters for refiners that need a package and weights the user supplies.

Neither package nor weights ship with this project (and neither can be fetched on machines
without internet access), so both adapters import lazily and, when something is missing, raise
:class:`~samrefiner_lib.baselines.errors.BaselineUnavailableError` naming what to install or
download. Both refine each coarse mask on its own and return NxHxW bool masks, like every other
baseline.

* :class:`CascadePSPBaseline`: CascadePSP (Cheng et al., CVPR 2020) through its pip package
  ``segmentation-refinement``. Its ``Refiner`` downloads weights by itself when they are absent;
  this adapter refuses to let it: the weights file must already exist as
  ``<model_folder>/model``.
* :class:`HQSAMBaseline`: HQ-SAM (Ke et al., NeurIPS 2023) through ``segment-anything-hq``,
  prompted with the tight box of each coarse mask (and, optionally, the distance-guided positive
  point), single-mask output as HQ-SAM recommends.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..prompts.boxes import tight_box
from ..prompts.points import positive_point
from ._inputs import check_inputs
from .errors import BaselineUnavailableError

CASCADEPSP_PACKAGE = "segmentation-refinement"
CASCADEPSP_WEIGHTS_HINT = (
    "download the CascadePSP weights file linked from github.com/hkchengrex/CascadePSP "
    "(segmentation-refinement README) and save it as <folder>/model"
)
HQSAM_PACKAGE = "segment-anything-hq"
HQSAM_WEIGHTS_HINT = (
    "download an HQ-SAM checkpoint (e.g. sam_hq_vit_h.pth) from github.com/SysCV/sam-hq "
    "(README, 'Model Checkpoints')"
)


def _import(module: str, package: str, baseline: str) -> ModuleType:
    """Import ``module`` or raise an error that names the pip package providing it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BaselineUnavailableError(
            f"the {baseline} baseline needs the optional package {package!r}: "
            f"pip install {package} (import of {module!r} failed: {exc})"
        ) from exc


@dataclass
class CascadePSPBaseline:
    """CascadePSP refinement of each coarse mask (needs user-supplied package and weights).

    Arguments:
      model_folder: folder holding CascadePSP's weights file named ``model``.
      device: torch device string (``"cpu"``, ``"cuda:0"``).
      fast: global step only (faster, coarser), as CascadePSP's ``fast`` flag.
      L: CascadePSP's processing size hyper-parameter (900 by default, as in its README).
    """

    model_folder: str | os.PathLike
    device: str = "cpu"
    fast: bool = False
    L: int = 900
    _refiner: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        module = _import("segmentation_refinement", CASCADEPSP_PACKAGE, "CascadePSP")
        folder = Path(self.model_folder)
        weights = folder / "model"
        if not weights.is_file():
            raise BaselineUnavailableError(
                f"CascadePSP weights not found: {weights} does not exist; {CASCADEPSP_WEIGHTS_HINT}"
            )
        kwargs: dict[str, Any] = {"device": self.device, "model_folder": str(folder)}
        # Newer releases can be told not to download or re-check the file; older ones never do
        # once it exists.
        if "download_and_check_model" in inspect.signature(module.Refiner).parameters:
            kwargs["download_and_check_model"] = False
        self._refiner = module.Refiner(**kwargs)

    @property
    def name(self) -> str:
        """Label used in result tables."""
        return "cascadepsp"

    def to_dict(self) -> dict[str, Any]:
        """Parameters for results files."""
        return {"baseline": "cascadepsp", "model_folder": str(self.model_folder),
                "fast": self.fast, "L": self.L}

    def refine(self, image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """Refine every coarse mask.

        Arguments:
          image: HxWx3 RGB image (CascadePSP normalises with ImageNet RGB statistics).
          coarse: NxHxW bool coarse masks.

        Returns:
          np.ndarray: NxHxW bool (CascadePSP's 0-255 output thresholded at 128).
        """
        img, masks = check_inputs(image, coarse)
        out = np.zeros_like(masks)
        for i, m in enumerate(masks):
            if m.any():
                soft = self._refiner.refine(img, m.astype(np.uint8) * 255, fast=self.fast, L=self.L)
                out[i] = np.asarray(soft) >= 128
        return out


@dataclass
class HQSAMBaseline:
    """HQ-SAM prompted with each coarse mask's tight box (needs package and checkpoint).

    Arguments:
      checkpoint: HQ-SAM checkpoint file.
      model_type: ``"vit_h"``, ``"vit_l"``, ``"vit_b"`` (or ``"vit_tiny"`` where supported).
      device: torch device string.
      use_point: add the distance-guided positive point to the box.
      hq_token_only: HQ-SAM's flag: use only the HQ output token's mask.
    """

    checkpoint: str | os.PathLike
    model_type: str = "vit_h"
    device: str = "cpu"
    use_point: bool = False
    hq_token_only: bool = False
    _predictor: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        module = _import("segment_anything_hq", HQSAM_PACKAGE, "HQ-SAM")
        path = Path(self.checkpoint)
        if not path.is_file():
            raise BaselineUnavailableError(
                f"HQ-SAM checkpoint not found: {path}; {HQSAM_WEIGHTS_HINT}"
            )
        registry = module.sam_model_registry
        if self.model_type not in registry:
            raise ValueError(
                f"HQ-SAM model_type {self.model_type!r} is unknown; available: {sorted(registry)}"
            )
        sam = registry[self.model_type](checkpoint=str(path))
        sam.to(device=self.device).eval()
        self._predictor = module.SamPredictor(sam)

    @property
    def name(self) -> str:
        """Label used in result tables."""
        return "hqsam"

    def to_dict(self) -> dict[str, Any]:
        """Parameters for results files."""
        return {"baseline": "hqsam", "checkpoint": str(self.checkpoint),
                "model_type": self.model_type, "use_point": self.use_point,
                "hq_token_only": self.hq_token_only}

    def refine(self, image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """Segment each coarse mask's object with HQ-SAM.

        Arguments:
          image: HxWx3 RGB image.
          coarse: NxHxW bool coarse masks.

        Returns:
          np.ndarray: NxHxW bool (empty masks stay empty).
        """
        img, masks = check_inputs(image, coarse)
        out = np.zeros_like(masks)
        if not masks.any():
            return out
        self._predictor.set_image(img)
        for i, m in enumerate(masks):
            if not m.any():
                continue
            kwargs: dict[str, Any] = {"box": tight_box(m)}
            if self.use_point:
                kwargs["point_coords"] = positive_point(m)[None]
                kwargs["point_labels"] = np.ones(1, dtype=np.int64)
            pred, _, _ = self._predictor.predict(multimask_output=False,
                                                 hq_token_only=self.hq_token_only, **kwargs)
            out[i] = np.asarray(pred[0], dtype=bool)
        return out
