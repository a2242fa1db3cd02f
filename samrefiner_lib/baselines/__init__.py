"""Refinement baselines with the evaluation runner's interface.

Every baseline has a ``name`` and ``refine(image HxWx3, coarse NxHxW bool) -> NxHxW bool``
(and ``to_dict()`` for results files), so :func:`samrefiner_lib.evaluation.evaluate` and
``samrefiner refine-dataset`` treat it like a SAMRefiner configuration.

* :class:`DenseCRFBaseline` (optional ``pydensecrf2``) and :class:`MorphologyBaseline`:
  training-free refiners that do not use SAM.
* :func:`plain_sam_configs`: SAM driven by one naive prompt (tight box, raw binary mask, box
  centre point), as :class:`~samrefiner_lib.config.RefinerConfig` presets with overrides.
* :class:`CascadePSPBaseline`, :class:`HQSAMBaseline`: adapters that work when the user supplies
  the package and weights; otherwise they raise :class:`BaselineUnavailableError`.
* :func:`refine_label_map`: apply any of the binary-mask baselines to a semantic label map.
"""

from .densecrf import DenseCRFBaseline, densecrf_available
from .errors import BaselineUnavailableError
from .external import CascadePSPBaseline, HQSAMBaseline
from .label_maps import refine_label_map
from .morphology import OPERATIONS, MorphologyBaseline, smooth_mask
from .sam_prompts import PROMPT_BASELINES, plain_sam_configs

__all__ = [
    "OPERATIONS",
    "PROMPT_BASELINES",
    "BaselineUnavailableError",
    "CascadePSPBaseline",
    "DenseCRFBaseline",
    "HQSAMBaseline",
    "MorphologyBaseline",
    "densecrf_available",
    "plain_sam_configs",
    "refine_label_map",
    "smooth_mask",
]
