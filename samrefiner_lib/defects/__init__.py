"""Coarse-mask defect simulators: realistic coarse masks made from ground truth.

- :func:`davis585_coarse_mask`: DAVIS-585 protocol (FocalClick): boundary errors, external false
  positives and internal false negatives until the IoU with the ground truth is in [0.75, 0.85].
- :func:`lowres_coarse_mask`: a Mask R-CNN head's 28x28 mask pasted back into a jittered box.
- :func:`cam_coarse_semantic` / :func:`cam_scores`: class-activation-map pseudo-labels of a
  semantic label map, as scores (``CxHxW``) or decoded labels.

Every function is seeded only through its ``rng`` argument (an int seed or a
``numpy.random.Generator``) and never modifies its inputs.
"""

from .cam import cam_coarse_semantic, cam_scores
from .cam_format import (
    decode_cam_dict,
    decode_cam_scores,
    to_cam_dict,
)
from .davis585 import (
    BOUNDARY,
    DEFECT_TYPES,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    DefectInfo,
    davis585_coarse_mask,
)
from .lowres import lowres_coarse_mask

__all__ = [
    "BOUNDARY",
    "DEFECT_TYPES",
    "FALSE_NEGATIVE",
    "FALSE_POSITIVE",
    "DefectInfo",
    "cam_coarse_semantic",
    "cam_scores",
    "davis585_coarse_mask",
    "decode_cam_dict",
    "decode_cam_scores",
    "lowres_coarse_mask",
    "to_cam_dict",
]
