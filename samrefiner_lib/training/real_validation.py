"""The validation check run during training on real photographs.

A fixed set of validation pairs (evenly spaced over the ``val`` side of the split, so every
subset is represented) with DAVIS-585-protocol coarse masks (seeded per pair). Each check
refines them with the ``paper`` preset and also asks for the ground truth's tight box alone
(single output), and reports, in percent: the coarse and refined cumulative IoU and cumulative
boundary IoU, and the mean IoU of the box prompt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from segment_anything.modeling import Sam

from ..config import get_preset
from ..datasets.sample import Sample
from ..embedding_cache import EmbeddingCache
from ..evaluation.protocols import davis585_masks
from ..metrics.boundary import boundary_intersection_union
from ..metrics.iou import intersection_union
from ..refiner import SAMRefiner


class RealValidation:
    """Callable ``validate(sam) -> dict`` for :func:`~samrefiner_lib.training.trainer.train`.

    Arguments:
      pairs: the validation pairs (a sequence of samples with one ground-truth mask each).
      limit: number of pairs used (evenly spaced).
      seed: seed of the coarse masks.
      cache: read image embeddings through the persistent cache (frozen encoders only).
      cache_root: the cache folder (default: the user cache).
    """

    def __init__(self, pairs: Sequence[Sample], limit: int = 60, seed: int = 0,
                 cache: bool = False, cache_root: str | os.PathLike | None = None) -> None:
        idx = np.unique(np.linspace(0, len(pairs) - 1, min(limit, len(pairs))).astype(int))
        self.samples = [pairs[int(i)] for i in idx]
        # The benchmark's protocol: pair k of the split gets the masks of image index k.
        self.coarse = [davis585_masks(s.gt, seed, int(i), s.ignore)
                       for s, i in zip(self.samples, idx, strict=True)]
        self.cache = cache
        self.cache_root = cache_root

    def __call__(self, sam: Sam) -> dict[str, float]:
        cache = EmbeddingCache(sam, self.cache_root) if self.cache else None
        refiner = SAMRefiner(sam, "paper", cache=cache)
        box = get_preset("paper", use_point=False, use_mask=False, use_cebox=False,
                         multimask_output=False)
        sums = np.zeros((2, 2))  # (coarse, refined) x (intersection, union)
        bsums = np.zeros((2, 2))  # the same on the boundary bands
        box_ious = []
        for s, coarse in zip(self.samples, self.coarse, strict=True):
            emb = refiner.encode(s.image)
            gt = s.gt[0]
            refined = refiner.refine_masks(emb, coarse).masks[0]
            for row, m in enumerate((coarse[0], refined)):
                sums[row] += intersection_union(m, gt, s.ignore)
                bsums[row] += boundary_intersection_union(m, gt, ignore=s.ignore)
            b = refiner.refine_masks(emb, s.gt[:1], box).masks[0]
            inter, union = intersection_union(b, gt, s.ignore)
            box_ious.append(inter / max(union, 1))
        return {"coarse_cIoU": float(100 * sums[0, 0] / sums[0, 1]),
                "paper_cIoU": float(100 * sums[1, 0] / sums[1, 1]),
                "coarse_bIoU": float(100 * bsums[0, 0] / bsums[0, 1]),
                "paper_bIoU": float(100 * bsums[1, 0] / bsums[1, 1]),
                "box_mIoU": float(100 * np.mean(box_ious)),
                "pairs": float(len(self.samples))}
