"""Training samples from real photographs: the shared pairs and BSDS500 regions.

Each sample is one real image of the ``train`` side of the fixed split
(:mod:`samrefiner_lib.datasets.real_split`), resized so that its longest side is the model's
input size and padded to a square, as the refiner feeds images. Its targets are:

* for a pair (GrabCut, COCO-MVal, Weizmann horses): the ground-truth object, and with
  ``component_probability`` one of its connected components when it has several;
* for a BSDS500 image: regions of one annotator drawn by
  :func:`~samrefiner_lib.datasets.bsds500.region_targets` (regions, their components and unions
  of neighbours: objects, parts and stuff).

Every target also gets a noisy copy from the DAVIS-585 or the low-resolution coarse-mask
simulator, used as a mask prompt. With ``embeddings`` set, each sample carries the frozen
encoder's cached output instead of needing the encoder at training time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..config import RefinerConfig, get_preset
from ..datasets.bsds500 import BSDS500, region_targets
from ..datasets.real import load_real_pairs
from ..datasets.real_split import check_split, real_split
from ..decoding import ImageEmbedding
from ..defects import davis585_coarse_mask, lowres_coarse_mask
from ..embedding_cache import image_key
from ..geometry import Frame, ModelGeometry
from ..prompts.excavate import excavate_prompts

#: The prompts the refiner excavates without CEBox: a distance-guided positive and negative
#: point, the tight box and the paper's Gaussian mask prompt.
EXCAVATION = get_preset("paper", use_cebox=False)
#: The ``paper`` preset's prompts exactly, with CEBox (needs the cached image embedding).
EXCAVATION_CEBOX = get_preset("paper")


@dataclass(frozen=True)
class RealSampleSettings:
    """How samples are drawn from the real photographs.

    Attributes:
      img_size: the model's square input size.
      targets_per_image: target masks per image (M).
      bsds_share: probability that a sample is a BSDS500 image rather than a pair.
      component_probability: chance that a pair's target is one connected component of it.
      lowres_probability: chance that a noisy target comes from the low-resolution simulator
        instead of the DAVIS-585 one.
      seed: seed of the image order and of every random draw.
      embedding_size, mask_input_size: the model's grids (for the excavated prompts).
      excavate: also give every target the prompts the refiner would excavate from its noisy
        mask (``exc_*`` keys), for the trainer's ``excavated`` prompt group.
      cebox: excavate the box with CEBox, as the ``paper`` preset does, instead of the tight
        box (needs the embedding cache). Off by default: stage 1 of ``sam_lite_real`` was
        trained with tight boxes.
    """

    img_size: int = 256
    targets_per_image: int = 4
    bsds_share: float = 0.5
    component_probability: float = 0.1
    lowres_probability: float = 0.4
    seed: int = 0
    embedding_size: int = 64
    mask_input_size: int = 256
    excavate: bool = True
    cebox: bool = False

    def geometry(self) -> ModelGeometry:
        e, g = self.embedding_size, self.mask_input_size
        return ModelGeometry(self.img_size, (e, e), (g, g))


def excavated_arrays(noisy: np.ndarray, valid: np.ndarray, size: tuple[int, int],
                     geometry: ModelGeometry, config: RefinerConfig = EXCAVATION,
                     embedding: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The refiner's prompts for M noisy masks already in the input frame.

    Arguments:
      noisy: MxSxS bool masks, zero padded beyond ``size``.
      valid: (M,) which masks to excavate from.
      size: (h, w) of the unpadded input.
      config: which prompts to excavate.
      embedding: CxExE image embedding of the padded input; needed when ``config`` uses CEBox.

    Returns:
      ``exc_coords`` Mx2x2 float32 (positive, negative point), ``exc_labels`` Mx2 int64 (-1
      where a point is missing), ``exc_boxes`` Mx4 float32 and ``exc_masks`` MxGxG float32
      logits, all in the input frame.
    """
    h, w = size
    m = noisy.shape[0]
    g = geometry.mask_input_size
    out = {"exc_coords": np.zeros((m, 2, 2), np.float32),
           "exc_labels": np.full((m, 2), -1, np.int64),
           "exc_boxes": np.zeros((m, 4), np.float32),
           "exc_masks": np.zeros((m, *g), np.float32)}
    idx = np.flatnonzero(valid)
    if idx.size:
        # The input frame is its own original frame: the longest side is already img_size.
        frame = Frame.of(geometry, (h, w))
        features = None
        if config.use_box and config.use_cebox:
            if embedding is None:
                raise ValueError("CEBox prompts need the image embedding (embedding=None)")
            features = ImageEmbedding(torch.from_numpy(embedding)[None], frame).valid_features
        p = excavate_prompts(noisy[idx, :h, :w], config, frame, features)
        out["exc_coords"][idx] = p.points
        out["exc_labels"][idx] = p.point_labels
        out["exc_boxes"][idx] = p.boxes
        out["exc_masks"][idx] = p.mask_logits
    return out


class RealImages:
    """The real training (or validation) images, addressed by name.

    Arguments:
      root: the shared ``real`` folder (holding the pair subsets and ``BSDS500/``).
      split: ``"train"``, ``"val"`` or ``"all"``.
      sources: which of ``"pairs"`` and ``"bsds"`` to include.
      per_subset: keep at most this many images of each pair subset (a seeded choice; the
        327 Weizmann horses are one class and would otherwise dominate the pairs).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 sources: tuple[str, ...] = ("pairs", "bsds"),
                 per_subset: int | None = None) -> None:
        self.root = Path(root)
        check_split(split)
        self.pairs = load_real_pairs(self.root, split=split) if "pairs" in sources else None
        if "pairs" in sources and self.pairs is None:
            raise FileNotFoundError(f"real pairs not found under {self.root}")
        self.pair_names = self.pairs.names() if self.pairs is not None else []
        self._pair_index = {n: i for i, n in enumerate(self.pair_names)}
        if per_subset is not None:
            keep = []
            for subset in dict.fromkeys(n.split("/", 1)[0] for n in self.pair_names):
                names = [n for n in self.pair_names if n.startswith(subset + "/")]
                order = np.random.default_rng([len(names), 3]).permutation(len(names))
                keep += sorted(names[i] for i in order[:per_subset])
            self.pair_names = keep
        self.bsds = BSDS500(self.root / "BSDS500") if "bsds" in sources else None
        ids = self.bsds.ids if self.bsds is not None else []
        self.bsds_ids = [i for i in ids if split == "all" or real_split(f"BSDS500/{i}") == split]

    def names(self) -> list[str]:
        return self.pair_names + [f"BSDS500/{i}" for i in self.bsds_ids]

    def image(self, name: str) -> np.ndarray:
        if name.startswith("BSDS500/"):
            return self.bsds.image(name.split("/", 1)[1])
        return self.pairs[self._pair_index[name]].image

    def load(self, name: str) -> tuple[np.ndarray, list[np.ndarray] | None, np.ndarray | None]:
        """(image, BSDS500 region maps or None, pair ground truth HxW or None)."""
        if name.startswith("BSDS500/"):
            i = name.split("/", 1)[1]
            return self.bsds.image(i), self.bsds.segmentations(i), None
        s = self.pairs[self._pair_index[name]]
        return s.image, None, s.gt[0]


def _to_input(mask: np.ndarray, input_hw: tuple[int, int], size: int) -> np.ndarray:
    """An HxW bool mask resized to the model's input frame and padded to size x size."""
    h, w = input_hw
    small = cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 127
    out = np.zeros((size, size), bool)
    out[:h, :w] = small
    return out


def make_real_sample(images: RealImages, name: str, settings: RealSampleSettings,
                     draw: int, embeddings: Path | None = None) -> dict[str, np.ndarray]:
    """One training sample of the image ``name`` (deterministic for ``draw``).

    Returns:
      dict with ``image`` SxSx3 uint8 (zero padded), ``size`` (h, w) in the input frame,
      ``targets`` and ``noisy`` MxSxS bool, ``valid`` (M,) bool, and ``embedding`` CxExE
      float32 when ``embeddings`` (a cache folder) is given.
    """
    rng = np.random.default_rng([settings.seed, draw])
    image, regions, gt = images.load(name)
    s = settings.img_size
    H, W = image.shape[:2]
    scale = s / max(H, W)
    h, w = int(H * scale + 0.5), int(W * scale + 0.5)
    m = settings.targets_per_image
    if regions is not None:
        labels = regions[int(rng.integers(len(regions)))]
        full = region_targets(labels, rng, m)
    else:
        full = [gt]
        if rng.random() < settings.component_probability:
            n, comp = cv2.connectedComponents(gt.astype(np.uint8), connectivity=8)
            if n > 2:
                full = [comp == rng.integers(1, n)]
    padded = np.zeros((s, s, 3), np.uint8)
    padded[:h, :w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    targets = np.zeros((m, s, s), bool)
    noisy = np.zeros((m, s, s), bool)
    valid = np.zeros(m, bool)
    for i, t in enumerate(full[:m]):
        small = _to_input(t, (h, w), s)
        if small.sum() < 4:
            continue
        crop = small[:h, :w]
        if rng.random() < settings.lowres_probability:
            n_ = lowres_coarse_mask(crop, rng)
        else:
            n_, _ = davis585_coarse_mask(crop, rng)
        targets[i] = small
        noisy[i, :h, :w] = n_ if n_.any() else crop
        valid[i] = True
    out = {"image": padded, "size": np.array([h, w]), "targets": targets, "noisy": noisy,
           "valid": valid}
    if embeddings is not None:
        key = image_key(image)
        path = embeddings / key[:2] / f"{key}.pt"
        if not path.is_file():
            raise FileNotFoundError(
                f"no cached embedding for {name} at {path}: run the encoding step first "
                f"(data_scripts/train_on_real.py --encode-only)")
        out["embedding"] = torch.load(path, map_location="cpu", weights_only=True)[0].numpy()
    if settings.excavate:
        if settings.cebox and embeddings is None:
            raise ValueError("RealSampleSettings.cebox needs the embedding cache (embeddings=None)")
        config = EXCAVATION_CEBOX if settings.cebox else EXCAVATION
        out.update(excavated_arrays(noisy, valid, (h, w), settings.geometry(), config,
                                    out.get("embedding")))
    return out


class RealStream(IterableDataset):
    """An endless, deterministic stream of real training samples.

    Each draw is a BSDS500 image with probability ``bsds_share``, else a pair (the two sources
    are mixed by weight, not by count); within its source, draw ``d`` takes position
    ``d mod n`` of a permutation of the source's ``n`` images drawn from ``(seed, d div n)``.
    Worker ``k`` of ``w`` takes draws ``start + k, start + k + w, ...``, so the
    stream depends only on ``start`` and the number of workers, and resuming after ``start``
    samples continues it exactly.
    """

    def __init__(self, images: RealImages, settings: RealSampleSettings, start: int = 0,
                 embeddings: Path | None = None) -> None:
        self.images = images
        self.settings = settings
        self.start = start
        self.embeddings = embeddings

    def name_of(self, draw: int) -> str:
        """The image of draw number ``draw``."""
        s = self.settings
        rng = np.random.default_rng([s.seed, 7, draw])
        use_bsds = self.images.bsds_ids and (not self.images.pair_names
                                             or rng.random() < s.bsds_share)
        pool = ([f"BSDS500/{i}" for i in self.images.bsds_ids] if use_bsds
                else self.images.pair_names)
        epoch, pos = divmod(draw, len(pool))
        order = np.random.default_rng([s.seed, 11, epoch, int(bool(use_bsds))]).permutation(
            len(pool))
        return pool[order[pos]]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        k, n = (info.id, info.num_workers) if info is not None else (0, 1)
        i = self.start + k
        while True:
            sample = make_real_sample(self.images, self.name_of(i), self.settings, i,
                                      self.embeddings)
            yield {key: torch.from_numpy(np.ascontiguousarray(v)) for key, v in sample.items()}
            i += n
