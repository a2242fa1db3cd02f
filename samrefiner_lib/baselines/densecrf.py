"""DenseCRF refinement of coarse masks (Krähenbühl & Koltun 2011), via ``pydensecrf2``.

Each coarse mask becomes a two-label (background / object) fully connected CRF over the image:

* Unary: the coarse label is trusted with probability ``confidence`` (0.8), the other label gets
  ``1 - confidence``; the energy is the negative log of these probabilities.
* Smoothness kernel (``addPairwiseGaussian``): position only, ``gaussian_sxy`` = 3 px,
  weight ``gaussian_compat`` = 3. Removes isolated pixels.
* Appearance kernel (``addPairwiseBilateral``): position ``bilateral_sxy`` = 50 px and colour
  ``bilateral_srgb`` = 13 (RGB units), weight ``bilateral_compat`` = 10. Pulls the boundary onto
  colour edges.
* ``iterations`` = 5 mean-field steps; the label with the higher marginal wins.

These are the values most mask-refinement papers inherit from DeepLab's CRF post-processing
(sxy 3 / compat 3; sxy 50-80 / srgb 13 / compat 10), with the bilateral range at the low end
because the inputs here are whole objects of 300-800 px images rather than semantic maps.
They are not tuned on any evaluation set. Inference is deterministic.

``pydensecrf2`` is an optional dependency (``pip install pydensecrf2``; it builds from source
with a C++ compiler and imports as ``pydensecrf``); without it :class:`DenseCRFBaseline` raises
:class:`~samrefiner_lib.baselines.errors.BaselineUnavailableError` when constructed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ._inputs import check_inputs
from .errors import BaselineUnavailableError

INSTALL_HINT = "pip install pydensecrf2  (builds from source; needs gcc/g++; imports as pydensecrf)"


def import_densecrf() -> ModuleType:
    """The ``pydensecrf.densecrf`` module, or a :class:`BaselineUnavailableError` saying how to
    install it."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as exc:
        raise BaselineUnavailableError(
            f"the DenseCRF baseline needs the optional package pydensecrf2: {INSTALL_HINT} "
            f"(import failed: {exc})"
        ) from exc
    return dcrf


def densecrf_available() -> bool:
    """Whether ``pydensecrf`` can be imported here."""
    try:
        import_densecrf()
    except BaselineUnavailableError:
        return False
    return True


@dataclass(frozen=True)
class DenseCRFBaseline:
    """Two-label DenseCRF on each coarse mask (parameters: see the module docstring).

    Arguments:
      confidence: probability given to the coarse label at every pixel, in (0.5, 1).
      iterations: mean-field iterations.
      gaussian_sxy, gaussian_compat: smoothness kernel width (px) and weight.
      bilateral_sxy, bilateral_srgb, bilateral_compat: appearance kernel position width (px),
        colour width (0-255 units) and weight.
    """

    confidence: float = 0.8
    iterations: int = 5
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 50.0
    bilateral_srgb: float = 13.0
    bilateral_compat: float = 10.0

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie in (0.5, 1), got {self.confidence}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        for key in ("gaussian_sxy", "bilateral_sxy", "bilateral_srgb"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)}")
        import_densecrf()  # fail at construction, not on the first image

    @property
    def name(self) -> str:
        """Label used in result tables."""
        return "densecrf"

    def to_dict(self) -> dict[str, Any]:
        """Parameters for results files."""
        return {"baseline": "densecrf", **asdict(self)}

    def refine_one(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Refine one mask.

        Arguments:
          image: HxWx3 uint8 RGB, C-contiguous.
          mask: HxW bool.

        Returns:
          np.ndarray: HxW bool.
        """
        dcrf = import_densecrf()
        h, w = mask.shape
        c = self.confidence
        fg = np.where(mask, c, 1.0 - c).astype(np.float32)
        probs = np.stack([1.0 - fg, fg]).reshape(2, h * w)
        crf = dcrf.DenseCRF2D(w, h, 2)
        crf.setUnaryEnergy(np.ascontiguousarray(-np.log(probs)))
        crf.addPairwiseGaussian(sxy=self.gaussian_sxy, compat=self.gaussian_compat)
        # pydensecrf takes a writable buffer even though it only reads the image.
        rgb = np.array(image, dtype=np.uint8, order="C", copy=True)
        crf.addPairwiseBilateral(sxy=self.bilateral_sxy, srgb=self.bilateral_srgb, rgbim=rgb,
                                 compat=self.bilateral_compat)
        q = np.asarray(crf.inference(int(self.iterations)), dtype=np.float32).reshape(2, h, w)
        return q[1] > q[0]

    def refine(self, image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """Refine every coarse mask of one image.

        Arguments:
          image: HxWx3 image (RGB).
          coarse: NxHxW bool coarse masks.

        Returns:
          np.ndarray: NxHxW bool (empty masks stay empty).
        """
        img, masks = check_inputs(image, coarse)
        out = np.zeros_like(masks)
        for i, m in enumerate(masks):
            if m.any():
                out[i] = self.refine_one(img, m)
        return out
