"""DAVIS-585 (FocalClick / ClickSEG): images, ground truth and simulated initial masks.

Layout of the ClickSEG release (one folder per DAVIS sequence)::

    <root>/<sequence>/<frame>.jpg                    image
    <root>/<sequence>/<object>_<frame>.png           ground truth of one object
    <root>/<sequence>/init_sp_<object>_<frame>.png   initial mask, superpixel-style defects
    <root>/<sequence>/init_stm_<object>_<frame>.png  initial mask, from an STM propagation

Every PNG is read on its first channel and thresholded at > 128, as the ClickSEG and SAMRefiner
evaluation scripts do. The image of ``object1_00009.png`` is ``00009.jpg`` (the part after the
last underscore). SAMRefiner's Table 1 uses the ``init_sp`` masks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .readers import read_gray, read_rgb
from .sample import DatasetError, Sample

INIT_MODES = ("sp", "stm")
MASK_THRESHOLD = 128


@dataclass(frozen=True)
class Davis585Entry:
    """File paths of one DAVIS-585 sample."""

    sequence: str
    gt: Path
    image: Path
    init_sp: Path
    init_stm: Path

    @property
    def name(self) -> str:
        """``<sequence>/<gt stem>``, e.g. ``bear/object1_00009``."""
        return f"{self.sequence}/{self.gt.stem}"


def scan_davis585(root: str | os.PathLike) -> list[Davis585Entry]:
    """List the samples of a DAVIS-585 folder, sorted by sequence and file name.

    Arguments:
      root: folder holding one subfolder per sequence.

    Returns:
      list[Davis585Entry]: one entry per ground-truth PNG.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"DAVIS-585 folder not found: {root}")
    entries = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for gt in sorted(seq_dir.glob("*.png")):
            if gt.name.startswith("init"):
                continue
            frame = gt.stem.rsplit("_", 1)[-1]
            entries.append(
                Davis585Entry(
                    sequence=seq_dir.name,
                    gt=gt,
                    image=seq_dir / f"{frame}.jpg",
                    init_sp=seq_dir / f"init_sp_{gt.name}",
                    init_stm=seq_dir / f"init_stm_{gt.name}",
                )
            )
    if not entries:
        raise DatasetError(
            f"no DAVIS-585 samples under {root}: expected <sequence>/<object>_<frame>.png with "
            "<frame>.jpg and init_sp_/init_stm_ masks beside them"
        )
    return entries


def find_davis585_root(folder: str | os.PathLike) -> Path:
    """Find the DAVIS-585 data root inside an extracted archive of unknown nesting.

    The root is the shallowest folder whose subfolders hold ``init_sp_*.png`` files.

    Arguments:
      folder: where the archive was extracted.

    Returns:
      Path: the folder to pass to :class:`Davis585`.
    """
    folder = Path(folder)
    hits = sorted(
        {p.parent.parent for p in folder.rglob("init_sp_*.png")}, key=lambda p: len(p.parts)
    )
    if not hits:
        raise DatasetError(
            f"no DAVIS-585 data found under {folder}: no init_sp_*.png files. Is this the "
            "ClickSEG DAVIS-585 archive?"
        )
    return hits[0]


class Davis585:
    """Lazy DAVIS-585 loader: one :class:`Sample` per (object, frame), decoded on access.

    Each sample has ``gt`` 1xHxW, ``coarse`` 1xHxW (the chosen initial mask, or None), no
    ignore region, ``meta["pairing"] == "index"`` and the file paths in ``meta``.

    Arguments:
      root: DAVIS-585 folder (see the module docstring).
      init: which initial masks to load as ``coarse``: ``"sp"`` (the paper's), ``"stm"``, or
        None for none.
    """

    def __init__(self, root: str | os.PathLike, init: str | None = "sp") -> None:
        if init is not None and init not in INIT_MODES:
            raise ValueError(f"init must be one of {INIT_MODES} or None, got {init!r}")
        self.root = Path(root)
        self.init = init
        self.entries = scan_davis585(self.root)
        missing = [e.image for e in self.entries if not e.image.is_file()]
        if init is not None:
            missing += [
                getattr(e, f"init_{init}")
                for e in self.entries
                if not getattr(e, f"init_{init}").is_file()
            ]
        if missing:
            shown = ", ".join(str(p) for p in missing[:3])
            raise DatasetError(
                f"DAVIS-585 at {self.root}: {len(missing)} expected file(s) missing, e.g. {shown}"
            )

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Sample:
        e = self.entries[index]
        image = read_rgb(e.image)
        gt = read_gray(e.gt) > MASK_THRESHOLD
        coarse = None
        if self.init is not None:
            path = getattr(e, f"init_{self.init}")
            coarse = read_gray(path) > MASK_THRESHOLD
            if coarse.shape != gt.shape:
                raise DatasetError(f"{path}: size {coarse.shape} differs from {e.gt} {gt.shape}")
        if gt.shape != image.shape[:2]:
            raise DatasetError(
                f"{e.gt}: mask size {gt.shape} differs from image {e.image} {image.shape[:2]}"
            )
        return Sample(
            image=image,
            gt=gt[None],
            coarse=None if coarse is None else np.ascontiguousarray(coarse[None]),
            ignore=None,
            name=e.name,
            meta={
                "dataset": "davis585",
                "sequence": e.sequence,
                "init": self.init,
                "pairing": "index",
                "image_path": str(e.image),
                "gt_path": str(e.gt),
                "init_sp_path": str(e.init_sp),
                "init_stm_path": str(e.init_stm),
            },
        )
