"""Training samples for the embedded model: synthetic scenes with segmentation targets.

Each sample is one scene (longest side = the model's input size, padded to a square) with up to
``targets_per_image`` target masks drawn from its instances and their parts (so that a single
point is ambiguous between part and whole, as in SAM's data), plus a noisy version of every
target made by the coarse-mask simulators, used as a mask prompt like a coarse mask would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..defects import davis585_coarse_mask, lowres_coarse_mask
from ..synthetic import make_scene, split_seeds


@dataclass(frozen=True)
class SampleSettings:
    """How training samples are drawn.

    Attributes:
      img_size: the model's square input size.
      targets_per_image: target masks per scene (M).
      part_probability: chance that a target is a part rather than a whole instance.
      square_probability: chance of a square scene; otherwise the short side is drawn from
        [min_aspect * img_size, img_size] and the scene is padded like any image.
      min_aspect: smallest short/long side ratio of non-square scenes.
      styles: scene styles to draw from.
      lowres_probability: chance that a noisy target comes from the low-resolution simulator
        instead of the DAVIS-585 one.
    """

    img_size: int = 256
    targets_per_image: int = 8
    part_probability: float = 0.35
    square_probability: float = 0.5
    min_aspect: float = 0.55
    styles: tuple[str, ...] = ("default",)
    lowres_probability: float = 0.4


def _target_pool(scene, rng: np.random.Generator, part_probability: float) -> list[np.ndarray]:
    """Candidate targets: every instance, and its parts when it has more than one."""
    wholes = [m for m in scene.instances]
    parts = [p for ps in scene.parts if len(ps) > 1 for p in ps if p.sum() >= 16]
    pool = []
    for _ in range(max(len(wholes), 1) * 2):
        if parts and rng.random() < part_probability:
            pool.append(parts[rng.integers(len(parts))])
        elif wholes:
            pool.append(wholes[rng.integers(len(wholes))])
    return pool


def make_sample(seed: int, settings: SampleSettings) -> dict[str, np.ndarray]:
    """One training sample from one scene seed (deterministic for the seed).

    Returns:
      dict with ``image`` SxSx3 uint8 (zero padded), ``size`` (h, w) of the unpadded scene,
      ``targets`` MxSxS bool, ``noisy`` MxSxS bool, ``valid`` (M,) bool.
    """
    rng = np.random.default_rng([seed, 1])
    s = settings.img_size
    if rng.random() < settings.square_probability:
        h = w = s
    else:
        short = int(rng.integers(int(settings.min_aspect * s), s + 1))
        h, w = (s, short) if rng.random() < 0.5 else (short, s)
    style = settings.styles[int(rng.integers(len(settings.styles)))]
    scene = make_scene(seed, size=(h, w), style=style)
    m = settings.targets_per_image
    image = np.zeros((s, s, 3), np.uint8)
    image[:h, :w] = scene.image
    targets = np.zeros((m, s, s), bool)
    noisy = np.zeros((m, s, s), bool)
    valid = np.zeros(m, bool)
    pool = [t for t in _target_pool(scene, rng, settings.part_probability) if t.any()]
    for i, t in enumerate(pool[:m]):
        targets[i, :h, :w] = t
        if rng.random() < settings.lowres_probability:
            n = lowres_coarse_mask(t, rng)
        else:
            n, _ = davis585_coarse_mask(t, rng)
        noisy[i, :h, :w] = n if n.any() else t
        valid[i] = True
    return {"image": image, "size": np.array([h, w]), "targets": targets, "noisy": noisy,
            "valid": valid}


class SceneStream(IterableDataset):
    """An endless, deterministic stream of training samples from the training seed split.

    Worker ``k`` of ``n`` takes seeds ``start + k, start + k + n, ...`` of the split, so the
    stream depends only on ``start`` and the number of workers.

    Arguments:
      settings: how samples are drawn.
      start: index of the first seed (to resume after ``start`` samples).
    """

    def __init__(self, settings: SampleSettings, start: int = 0) -> None:
        self.settings = settings
        self.start = start

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        k, n = (info.id, info.num_workers) if info is not None else (0, 1)
        i = self.start + k
        while True:
            seed = int(split_seeds("train", 1, start=i)[0])
            yield {key: torch.from_numpy(v) for key, v in make_sample(seed, self.settings).items()}
            i += n
