"""What every experiment needs: the scale, the model and the evaluation samples.

Three scales:

* ``smoke`` - a handful of images with the fast synthetic-scene model ``sam_tiny_synth``,
  seconds per notebook; what CI runs.
* ``mini`` - the book: the default model (``sam_lite_real``, LiteMedSAM's encoder with heads
  re-trained on real photographs) on the real validation pairs, with SynthDAVIS as a second
  set; minutes on a CPU.
* ``paper`` - the official ViT-H checkpoint on the paper's data (set ``SAMREFINER_CHECKPOINT``
  and ``SAMREFINER_DATA``); needs a GPU in practice.

The real pairs used are always the ``val`` side of the fixed split by image
(:mod:`samrefiner_lib.datasets.real_split`): no model of this project was trained on them.

Environment variables (read by :func:`settings_from_env`): ``SAMREFINER_SCALE``,
``SAMREFINER_MODEL``, ``SAMREFINER_CHECKPOINT``, ``SAMREFINER_DATA`` (root of DAVIS-585 at paper
scale), ``SAMREFINER_REAL_DATA`` (the real pairs; defaults to ``../shared/data/real``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.modeling import Sam

from ..datasets import Davis585, load_real_pairs
from ..datasets.sample import Sample
from ..evaluation import synth_davis, with_davis585_coarse
from ..models import DEFAULT_MODEL, FAST_MODEL, load_sam
from ..synthetic import make_scene, split_seeds


@dataclass(frozen=True)
class Scale:
    """Sizes of one scale.

    Attributes:
      name: ``smoke``, ``mini`` or ``paper``.
      objects: objects of the main synthetic evaluation set.
      sweep_objects: objects for parameter sweeps (many configurations).
      real_images: real images to use (-1 for all, 0 for none).
    """

    name: str
    objects: int
    sweep_objects: int
    real_images: int


SCALES = {
    "smoke": Scale("smoke", objects=12, sweep_objects=8, real_images=3),
    "mini": Scale("mini", objects=300, sweep_objects=120, real_images=-1),
    "paper": Scale("paper", objects=300, sweep_objects=300, real_images=-1),
}


@dataclass(frozen=True)
class Settings:
    """The run settings a notebook reads from its parameters cell or the environment."""

    scale: Scale
    model: str
    checkpoint: str | None
    data_root: str | None

    @property
    def model_label(self) -> str:
        return self.model if self.checkpoint is None else f"{self.model} ({self.checkpoint})"


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; expected one of {sorted(SCALES)}")
    return SCALES[name]


def settings_from_env(scale: str | None = None, model: str | None = None,
                      checkpoint: str | None = None, data_root: str | None = None) -> Settings:
    """Settings from arguments, falling back to ``SAMREFINER_*`` environment variables."""
    s = get_scale(scale or os.environ.get("SAMREFINER_SCALE", "mini"))
    default_model = {"paper": "vit_h", "smoke": FAST_MODEL}.get(s.name, DEFAULT_MODEL)
    return Settings(
        scale=s,
        model=model or os.environ.get("SAMREFINER_MODEL") or default_model,
        checkpoint=checkpoint or os.environ.get("SAMREFINER_CHECKPOINT") or None,
        data_root=data_root or os.environ.get("SAMREFINER_DATA") or None,
    )


def load_model(settings: Settings) -> Sam:
    """The settings' model on the GPU if there is one, else the CPU."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return load_sam(settings.model, settings.checkpoint, device=device)


def main_samples(settings: Settings, style: str = "default") -> tuple[list[Sample], str]:
    """The main evaluation set of a scale and its description.

    The real validation pairs at smoke/mini scale (SynthDAVIS when the real data is absent);
    DAVIS-585 (``init_sp`` coarse masks) at paper scale.
    """
    if settings.scale.name == "paper":
        if settings.data_root is None:
            raise ValueError("paper scale needs SAMREFINER_DATA pointing at the DAVIS-585 root "
                             "(python data_scripts/get_davis585.py --root DIR)")
        return list(Davis585(settings.data_root, init="sp")), "DAVIS-585 (init_sp)"
    real, data = real_samples(settings)
    if real:
        return real, data
    return synthetic_samples(settings, style)


def synthetic_samples(settings: Settings, style: str = "default") -> tuple[list[Sample], str]:
    """SynthDAVIS test scenes of the scale's size, and their description."""
    n = settings.scale.objects
    return synth_davis(n, split="test", style=style), f"SynthDAVIS test ({style}, {n} objects)"


def real_samples(settings: Settings) -> tuple[list[Sample], str]:
    """The real validation pairs with DAVIS-585-protocol coarse masks ([] when absent)."""
    n = settings.scale.real_images
    if n == 0:
        return [], "real val pairs (skipped)"
    pairs = load_real_pairs(split="val")
    if pairs is None:
        return [], "real val pairs (not found)"
    if 0 < n < len(pairs):
        # Evenly spaced, so that a small scale still sees every subset.
        items = [pairs[int(i)] for i in np.linspace(0, len(pairs) - 1, n).astype(int)]
    else:
        items = list(pairs)
    data = f"real val pairs ({len(items)} images, DAVIS-585 protocol)"
    return list(with_davis585_coarse(items)), data


def missing_parts(n_objects: int, split: str = "test", style: str = "default",
                  seed: int = 0) -> tuple[list[Sample], str]:
    """Synthetic objects whose coarse mask lacks some of their parts (under-segmentation).

    This is the failure CEBox is designed for (a tight box around the visible parts is too
    small). Only objects with at least two parts are used; each coarse mask keeps a random
    non-empty proper subset of the parts, always keeping the largest one.
    """
    out: list[Sample] = []
    count, start = 0, 0
    while count < n_objects:
        for scene_seed in split_seeds(split, 32, start=start):
            scene = make_scene(int(scene_seed), style=style)
            rng = np.random.default_rng([seed, int(scene_seed)])
            gts, coarse = [], []
            for inst, parts in zip(scene.instances, scene.parts, strict=True):
                if len(parts) < 2 or inst.sum() < 64:
                    continue
                areas = parts.reshape(len(parts), -1).sum(1)
                keep = rng.random(len(parts)) < 0.5
                keep[int(np.argmax(areas))] = True
                if keep.all():
                    keep[int(rng.choice(np.flatnonzero(areas < areas.max())))] = False
                gts.append(inst)
                coarse.append(parts[keep].any(0))
            if gts:
                out.append(Sample(scene.image, np.stack(gts), np.stack(coarse), None,
                                  f"{split}-{scene_seed}",
                                  {"pairing": "index", "coarse_protocol": "missing parts"}))
                count += len(gts)
            if count >= n_objects:
                break
        start += 32
    return out, f"synthetic objects with missing parts ({count} objects)"
