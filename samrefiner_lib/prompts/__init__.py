"""Noise-tolerant prompt excavation: points, boxes, CEBox and Gaussian mask prompts."""

from .boxes import box_center, mask_bbox, tight_box
from .cebox import (
    CEBoxResult,
    SimilarityField,
    context_elastic_box,
    query_embedding,
    similarity_map,
)
from .excavate import PromptSet, excavate_prompts
from .mask_prompt import crop_weights, gaussian_weights, mask_prompt_logits, to_mask_grid
from .points import (
    MaskDistances,
    box_center_point,
    centroid_point,
    negative_point,
    positive_point,
)

__all__ = [
    "CEBoxResult",
    "MaskDistances",
    "PromptSet",
    "SimilarityField",
    "box_center",
    "box_center_point",
    "centroid_point",
    "context_elastic_box",
    "crop_weights",
    "excavate_prompts",
    "gaussian_weights",
    "mask_bbox",
    "mask_prompt_logits",
    "negative_point",
    "positive_point",
    "query_embedding",
    "similarity_map",
    "tight_box",
    "to_mask_grid",
]
