"""Multi-prompt excavation: from N coarse masks to one batch of SAM prompts.

This combines the pieces of section 1 of METHOD.md according to a
:class:`~samrefiner_lib.config.RefinerConfig`. Prompts are kept in original-image pixel
coordinates (for plotting); :mod:`samrefiner_lib.decoding` maps them into the model's frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import RefinerConfig
from ..geometry import Frame
from .boxes import mask_bbox
from .cebox import SimilarityField, context_elastic_box, reference_embedding_size
from .mask_prompt import crop_weights, mask_prompt_logits
from .points import MaskDistances, box_center_point, centroid_point, negative_point, positive_point


@dataclass
class PromptSet:
    """Prompts for N masks of one image, in original-image coordinates.

    Attributes:
      points: NxPx2 float (x, y), or None when points are off. Rows with fewer points are padded
        with label -1, which SAM's prompt encoder treats as "no point".
      point_labels: NxP int (1 positive, 0 negative, -1 padding), or None.
      boxes: Nx4 float XYXY (inclusive pixel indices), or None when boxes are off.
      tight_boxes: Nx4 float, the tight box of every mask (NaN for an empty mask).
      expanded: N bool, whether CEBox grew the box.
      mask_logits: NxGhxGw float32 logits on the model's mask-input grid, or None.
      valid: N bool; False for an empty coarse mask, which gets no prompts and no refinement.
      coord_precision: ``"float64"`` or ``"float32"``, how :func:`~samrefiner_lib.decoding.
        prompt_tensors` scales the coordinates into the model's frame (from the configuration).
    """

    points: np.ndarray | None
    point_labels: np.ndarray | None
    boxes: np.ndarray | None
    tight_boxes: np.ndarray
    expanded: np.ndarray
    mask_logits: np.ndarray | None
    valid: np.ndarray
    coord_precision: str = "float64"

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    def select(self, idx: np.ndarray) -> PromptSet:
        """The prompts of a subset of masks."""

        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return PromptSet(
            take(self.points), take(self.point_labels), take(self.boxes), self.tight_boxes[idx],
            self.expanded[idx], take(self.mask_logits), self.valid[idx], self.coord_precision,
        )


def _point_for(mask: np.ndarray, strategy: str, distances: MaskDistances) -> np.ndarray:
    if strategy == "distance":
        return positive_point(mask, distances)
    if strategy == "box_center":
        return box_center_point(mask)
    if strategy == "centroid":
        return centroid_point(mask)
    raise ValueError(f"unknown point strategy {strategy!r}")


def excavate_prompts(
    masks: np.ndarray,
    config: RefinerConfig,
    frame: Frame,
    features: torch.Tensor | None = None,
) -> PromptSet:
    """Build SAM prompts for N coarse masks.

    Arguments:
      masks: NxHxW bool coarse masks.
      config: which prompts to build and how.
      frame: the image's geometry in the model.
      features: Cxhxw valid (un-padded) part of the image embedding; needed when CEBox is on.

    Returns:
      PromptSet
    """
    n = masks.shape[0]
    use_cebox = config.use_box and config.use_cebox
    if use_cebox and features is None:
        raise ValueError("CEBox needs the image embedding (features)")
    n_points = (1 + int(config.use_negative_point)) if config.use_point else 0
    points = np.zeros((n, max(n_points, 1), 2)) if n_points else None
    labels = np.full((n, max(n_points, 1)), -1, np.int64) if n_points else None
    boxes = np.full((n, 4), np.nan) if config.use_box else None
    tight = np.full((n, 4), np.nan)
    expanded = np.zeros(n, bool)
    grid = frame.model.mask_input_size
    logits = np.zeros((n, *grid), np.float32) if config.use_mask else None
    valid = np.zeros(n, bool)
    field = None
    if use_cebox and n:
        if config.cebox_rules == "reference":
            # The reference code's part of the embedding, from the original size; it is never
            # larger than the valid part the caller passes.
            rh, rw = reference_embedding_size(frame.original_size, frame.model.embedding_size)
            features = features[:, :rh, :rw]
        field = SimilarityField(features)

    dists: list[MaskDistances | None] = [None] * n
    for i in range(n):
        m = masks[i]
        box = mask_bbox(m)
        if box is None:
            continue
        valid[i] = True
        tight[i] = box
        dist = dists[i] = MaskDistances.of(m, config.distance)
        if config.use_point:
            points[i, 0] = _point_for(m, config.point_strategy, dist)
            labels[i, 0] = 1
            if config.use_negative_point:
                neg = negative_point(m, box, config.distance, config.negative_region)
                if neg is not None:
                    points[i, 1] = neg
                    labels[i, 1] = 0
        if config.use_box:
            if use_cebox:
                res = context_elastic_box(
                    m, field, lam=config.cebox_lambda,
                    sim_threshold=config.cebox_sim_threshold,
                    step_fraction=config.cebox_step_fraction,
                    step_cap=config.cebox_step_cap, rounds=config.cebox_rounds,
                    rules=config.cebox_rules,
                )
                boxes[i] = res.box
                expanded[i] = res.expanded
            else:
                boxes[i] = box

    if config.use_mask:
        # The amplitude needs every mask's CEBox outcome when the last mask decides for all
        # (the reference code's behaviour), hence a second loop.
        reduced = expanded if not config.amplitude_from_last_mask else np.full(
            n, bool(n and expanded[-1]))
        for i in np.flatnonzero(valid):
            m, dist = masks[i], dists[i]
            amp = config.mask_amplitude
            if reduced[i] and config.expanded_mask_amplitude is not None:
                amp = config.expanded_mask_amplitude
            # The paper's Gaussian is centred on the distance-guided point whatever point prompt
            # the configuration uses, so the point ablations leave the mask prompt unchanged.
            centre = positive_point(m, dist) if config.mask_form == "paper" else None
            weights, origin = crop_weights(m, config.mask_form, config.mask_gamma, centre, dist,
                                           config.resize_backend)
            logits[i] = mask_prompt_logits(
                m, weights, amp, frame.input_size, frame.model.img_size, grid,
                config.grid_mapping, origin, config.resize_backend,
            )
    return PromptSet(points, labels, boxes, tight, expanded, logits, valid,
                     config.coord_precision)
