"""Datasets by name, each with the protocol that gives it coarse masks.

=============  ==========  ====================================================================
name           kind        coarse masks and metrics
=============  ==========  ====================================================================
davis585       instance    the released ``init_sp`` (or ``init_stm``) masks; cumulative and mean
                           IoU, boundary IoU, mBA
grabcut,       instance    DAVIS-585-protocol corruptions of the ground truth (seeded);
berkeley,                  GrabCut/Berkeley's 128 band ignored by every metric
davis345,
coco_mval
real           instance    the real pairs (``shared/data/real``), DAVIS-585 protocol, GrabCut's
                           band ignored
synthdavis     instance    synthetic test scenes, DAVIS-585 protocol
coco           coco        detection results (COCO result JSON with masks) refined, scores kept;
                           mask AP and boundary AP before and after
voc            semantic    coarse label PNGs (``coarse_dir``) refined; mIoU, 255 ignored
=============  ==========  ====================================================================

Samples are produced lazily (one image decoded at a time), and ``limit`` keeps the first N
images in the dataset's own order, so a quick run scores a prefix of the full run: the
DAVIS-585 protocol seeds each coarse mask by (seed, image index, object index).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..datasets import (
    CocoInstances,
    Davis585,
    InteractiveFolder,
    VocSemantic,
    find_dataset_folder,
    find_davis585_root,
    load_real_pairs,
)
from ..datasets.real import DEFAULT_SUBSETS
from ..datasets.sample import DatasetError, Sample
from .protocols import synth_davis, with_davis585_coarse

Kind = Literal["instance", "coco", "semantic"]
INTERACTIVE = ("grabcut", "berkeley", "davis345", "coco_mval")
DATASETS: tuple[str, ...] = ("davis585", *INTERACTIVE, "real", "synthdavis", "coco", "voc")


class SizedSamples:
    """A re-iterable, sized stream of samples made on demand (one image in memory at a time).

    Arguments:
      make: returns a fresh iterator over the samples.
      length: how many samples it yields.
    """

    def __init__(self, make: Callable[[], Iterator[Sample]], length: int) -> None:
        self._make = make
        self._length = int(length)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Sample]:
        return self._make()


@dataclass
class DatasetSource:
    """A dataset opened for evaluation.

    Attributes:
      name: dataset name (see :data:`DATASETS`).
      kind: ``"instance"``, ``"coco"`` or ``"semantic"``: which evaluator applies.
      protocol: one sentence on where the coarse masks come from and what is scored.
      samples: the samples (instance and semantic kinds).
      coco: the COCO loader (coco kind); its ``image_ids`` are already limited.
      details: root, options and counts, recorded with the results.
    """

    name: str
    kind: Kind
    protocol: str
    samples: SizedSamples | None = None
    coco: CocoInstances | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        if self.coco is not None:
            return len(self.coco)
        return 0 if self.samples is None else len(self.samples)


def _prefix(n: int, limit: int | None) -> int:
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    return n if limit is None else min(n, limit)


def _with_protocol(base: Sequence[Sample], n: int, seed: int) -> SizedSamples:
    return SizedSamples(lambda: with_davis585_coarse((base[i] for i in range(n)), seed), n)


def _need_root(name: str, root: str | os.PathLike | None) -> Path:
    if root is None:
        raise ValueError(f"--root is required for --dataset {name}")
    p = Path(root)
    if not p.exists():
        raise DatasetError(f"--root: folder not found: {p}")
    return p


def open_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    limit: int | None = None,
    init: str = "sp",
    subsets: Sequence[str] | None = None,
    objects: int = 300,
    split: str = "test",
    style: str = "default",
    ann_file: str | os.PathLike | None = None,
    image_dir: str | os.PathLike | None = None,
    detections: str | os.PathLike | None = None,
    min_score: float = 0.0,
    coarse_dir: str | os.PathLike | None = None,
    voc_split: str = "val",
    label_dir: str = "SegmentationClass",
    real_split: str = "val",
) -> DatasetSource:
    """Open a dataset by name with its evaluation protocol (see the module docstring).

    Arguments:
      name: one of :data:`DATASETS`.
      root: dataset folder (for ``real``: default ``$SAMREFINER_REAL_DATA`` or
        ``../shared/data/real``; for ``coco``: holds ``annotations/`` and ``val2017/``;
        not used by ``synthdavis``).
      seed: seed of the DAVIS-585 protocol corruption.
      limit: keep the first N images.
      init: DAVIS-585 initial masks, ``"sp"`` (the paper's) or ``"stm"``.
      subsets: real-pair subsets (default all three).
      real_split: real pairs: ``"val"`` (default: the side of the fixed split by image that no
        shipped model was trained on), ``"train"`` or ``"all"``.
      objects: SynthDAVIS object count.
      split, style: SynthDAVIS scene split and style.
      ann_file, image_dir: COCO annotation JSON and image folder (defaults under ``root``).
      detections: COCO detection-result JSON with masks (the coarse masks; required).
      min_score: drop COCO detections scoring below this.
      coarse_dir: VOC coarse label PNGs ``<id>.png`` (required for ``voc``).
      voc_split: VOC image list name (``val``, ``train``, ``trainaug``) or list file.
      label_dir: VOC ground-truth folder under ``root``.

    Returns:
      DatasetSource
    """
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    details: dict[str, Any] = {"root": None if root is None else str(root), "limit": limit}
    if name == "davis585":
        ds = Davis585(find_davis585_root(_need_root(name, root)), init=init)
        n = _prefix(len(ds), limit)
        details.update(init=init, images=n)
        return DatasetSource(name, "instance",
                             f"DAVIS-585 with its released init_{init} coarse masks; cumulative "
                             "IoU (sum I / sum U), mean IoU, boundary IoU, mBA",
                             SizedSamples(lambda: (ds[i] for i in range(n)), n), details=details)
    if name in INTERACTIVE:
        ds = InteractiveFolder(find_dataset_folder(_need_root(name, root), name), name)
        n = _prefix(len(ds), limit)
        details.update(seed=seed, images=n)
        return DatasetSource(name, "instance",
                             f"{name}: DAVIS-585-protocol coarse masks from the ground truth "
                             f"(seed {seed}); 128-valued band pixels ignored",
                             _with_protocol(ds, n, seed), details=details)
    if name == "real":
        chosen = tuple(subsets) if subsets else DEFAULT_SUBSETS
        pairs = load_real_pairs(root, chosen, split=real_split)
        if pairs is None:
            raise DatasetError(
                "real pairs not found (see the warning above); pass --root DIR or set "
                "SAMREFINER_REAL_DATA to the folder holding GrabCut/, COCO_MVal_subset80/ and "
                "WeizmannHorses/")
        n = _prefix(len(pairs), limit)
        details.update(root=str(pairs.root), subsets=list(chosen), seed=seed, images=n,
                       counts=pairs.counts(), split=real_split)
        return DatasetSource(name, "instance",
                             f"real pairs ({', '.join(chosen)}; {real_split} split): "
                             f"DAVIS-585-protocol coarse masks "
                             f"from the ground truth (seed {seed}); GrabCut's 128 band ignored",
                             _with_protocol(pairs, n, seed), details=details)
    if name == "synthdavis":
        scenes = synth_davis(objects, split=split, style=style, seed=seed)
        n = _prefix(len(scenes), limit)
        details.update(objects=objects, split=split, style=style, seed=seed, images=n)
        return DatasetSource(name, "instance",
                             f"SynthDAVIS ({split} split, {style} style): DAVIS-585-protocol "
                             f"coarse masks (seed {seed})",
                             SizedSamples(lambda: iter(scenes[:n]), n), details=details)
    if name == "coco":
        base = Path(root) if root is not None else None
        ann = Path(ann_file) if ann_file else (
            base / "annotations" / "instances_val2017.json" if base else None)
        images = Path(image_dir) if image_dir else (base / "val2017" if base else None)
        if ann is None or images is None:
            raise ValueError("--dataset coco needs --root (holding annotations/ and val2017/) "
                             "or both --ann-file and --image-dir")
        if detections is None:
            raise ValueError("--dataset coco needs --detections FILE: a COCO result JSON with a "
                             "'segmentation' per detection (the coarse masks to refine)")
        coco = CocoInstances(ann, images, detections, min_score=min_score)
        coco.image_ids = coco.image_ids[: _prefix(len(coco.image_ids), limit)]
        details.update(ann_file=str(ann), image_dir=str(images), detections=str(detections),
                       min_score=min_score, images=len(coco.image_ids))
        return DatasetSource(name, "coco",
                             "COCO: detection masks refined, detection scores kept; COCO mask AP "
                             "and boundary AP of the same detections before and after",
                             coco=coco, details=details)
    # voc
    if coarse_dir is None:
        raise ValueError("--dataset voc needs --coarse-dir DIR: coarse label PNGs named "
                         "<image id>.png (0 background, 1-20 classes, 255 ignore)")
    voc = VocSemantic(_need_root(name, root), voc_split, label_dir=label_dir,
                      coarse_dir=coarse_dir)
    n = _prefix(len(voc), limit)
    details.update(coarse_dir=str(coarse_dir), split=voc_split, label_dir=label_dir, images=n)
    return DatasetSource(name, "semantic",
                         f"VOC ({voc_split}): coarse label maps from {coarse_dir} refined; mIoU "
                         "over 21 classes, 255 ignored",
                         SizedSamples(lambda: (voc[i] for i in range(n)), n), details=details)
