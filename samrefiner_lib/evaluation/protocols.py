"""Evaluation protocols: coarse masks made from ground truth, on synthetic or real images.

* :func:`synth_davis` - "SynthDAVIS": synthetic test scenes whose every instance gets a coarse
  mask from the DAVIS-585 protocol (IoU with the ground truth in [0.75, 0.85]).
* :func:`with_davis585_coarse` - the same protocol applied to any samples with ground truth,
  e.g. the real pairs of :func:`samrefiner_lib.datasets.load_real_pairs`.

Coarse masks are seeded by (seed, sample index, object index), so a protocol run is the same
whatever subset or order is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..datasets.sample import Sample
from ..defects import davis585_coarse_mask
from ..synthetic import make_scene, split_seeds


def davis585_masks(gt: np.ndarray, seed: int, sample_index: int,
                   ignore: np.ndarray | None = None) -> np.ndarray:
    """DAVIS-585-protocol coarse masks for NxHxW ground truth (ignored pixels left unchanged)."""
    out = np.zeros_like(gt)
    for i, g in enumerate(gt):
        target = g & ~ignore if ignore is not None else g
        if not target.any():
            continue
        out[i], _ = davis585_coarse_mask(target, np.random.default_rng([seed, sample_index, i]))
    return out


def with_davis585_coarse(samples: Iterable[Sample], seed: int = 0) -> Iterator[Sample]:
    """Replace each sample's coarse masks by DAVIS-585-protocol corruptions of its ground truth."""
    for k, s in enumerate(samples):
        if s.gt is None:
            raise ValueError(f"sample {s.name!r} has no ground truth to corrupt")
        meta = {**s.meta, "pairing": "index", "coarse_protocol": f"davis585(seed={seed})"}
        yield Sample(s.image, s.gt, davis585_masks(s.gt, seed, k, s.ignore), s.ignore, s.name, meta)


def synth_davis(n_objects: int = 300, split: str = "test", style: str = "default",
                size: int = 256, seed: int = 0, min_area: int = 64) -> list[Sample]:
    """SynthDAVIS: synthetic scenes with a DAVIS-585-protocol coarse mask for every instance.

    Arguments:
      n_objects: stop once this many objects are collected (whole scenes are kept).
      split: seed split of the scenes (``"test"`` for reported numbers).
      style: scene style (``"shifted"`` for the domain-shift experiments).
      size: scene size in pixels.
      seed: seed of the coarse-mask corruption.
      min_area: instances smaller than this many pixels are left out.

    Returns:
      list of Sample with ``gt`` and ``coarse`` aligned by index.
    """
    out: list[Sample] = []
    count = 0
    start = 0
    while count < n_objects:
        for scene_seed in split_seeds(split, 32, start=start):
            scene = make_scene(int(scene_seed), size=size, style=style)
            keep = scene.instances.reshape(len(scene.instances), -1).sum(1) >= min_area
            if not keep.any():
                continue
            gt = scene.instances[keep]
            k = len(out)
            meta = {"pairing": "index", "labels": scene.labels[keep].tolist(),
                    "scene_seed": int(scene_seed), "style": style, "split": split,
                    "coarse_protocol": f"davis585(seed={seed})"}
            out.append(Sample(scene.image, gt, davis585_masks(gt, seed, k), None,
                              f"{split}-{scene_seed}", meta))
            count += len(gt)
            if count >= n_objects:
                break
        start += 32
    return out
