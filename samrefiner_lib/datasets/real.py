"""The real image / ground-truth pairs shipped beside the project in ``shared/data/real``.

Three subsets, each decoded exactly as its ``SOURCE.md`` prescribes:

* ``GrabCut`` (50): ``data_GT/`` images, ``boundary_GT/`` BMP masks; 255 = object,
  128 = unlabelled band (ignored), 0 = background. (Decoded with the shared RITM rule
  "128 ignore, > 128 object", identical here since the masks hold only 0, 128 and 255.)
* ``COCO_MVal_subset80`` (80): ``img/`` JPEGs, ``gt/`` PNGs; object = value > 128. Some file
  names contain spaces ("baseball bat00_000000057232.jpg").
* ``WeizmannHorses`` (327): ``figure_ground/`` JPEG masks, object = value > 127; the ``rgb/``
  images are stored at another resolution and are resized (bilinear) to the mask size.

The folder is found through the ``SAMREFINER_REAL_DATA`` environment variable, else
``<repository>/../shared/data/real``. When it is absent, :func:`load_real_pairs` returns None
with a warning saying where it looked, so tests and notebooks can skip.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .interactive import FolderLayout, InteractiveFolder, decode_band_mask, decode_threshold_128
from .readers import read_gray
from .real_split import check_split, real_split
from .sample import Sample

ENV_VAR = "SAMREFINER_REAL_DATA"
DEFAULT_SUBSETS = ("GrabCut", "COCO_MVal_subset80", "WeizmannHorses")
EXPECTED_COUNTS = {"GrabCut": 50, "COCO_MVal_subset80": 80, "WeizmannHorses": 327}


class RealDataMissingWarning(UserWarning):
    """The shared real-data folder could not be found."""


def _decode_jpeg_mask_127(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    # JPEG ringing puts ~0.3 % of pixels between 20 and 235; 127 splits them as SOURCE.md says.
    return read_gray(path) > 127, None


REAL_LAYOUTS: dict[str, tuple[FolderLayout, bool]] = {
    "GrabCut": (FolderLayout("GrabCut", "data_GT", "boundary_GT", decode_band_mask), False),
    "COCO_MVal_subset80": (
        FolderLayout("COCO_MVal_subset80", "img", "gt", decode_threshold_128),
        False,
    ),
    "WeizmannHorses": (
        FolderLayout("WeizmannHorses", "rgb", "figure_ground", _decode_jpeg_mask_127),
        True,
    ),
}
"""Subset name -> (layout, resize the image to the mask size)."""


def default_real_root() -> Path | None:
    """Where the shared real data is, or None.

    Returns:
      Path | None: ``$SAMREFINER_REAL_DATA`` if set (even if missing, so a wrong setting is
      reported), else ``<repository>/../shared/data/real`` if it exists.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
    return candidate if candidate.is_dir() else None


class RealPairs(Sequence):
    """The selected real subsets as one lazy sequence of :class:`Sample` (decoded on access).

    Sample names are ``<subset>/<file stem>``; ``meta["subset"]`` names the subset.

    Arguments:
      root: the ``real`` folder.
      subsets: subset folder names (see :data:`REAL_LAYOUTS`).
      split: ``"all"``, or only the ``"train"`` or ``"val"`` side of the fixed split by image
        (:mod:`samrefiner_lib.datasets.real_split`).
    """

    def __init__(self, root: str | os.PathLike, subsets: Sequence[str] = DEFAULT_SUBSETS,
                 split: str = "all") -> None:
        self.root = Path(root)
        self.subsets: dict[str, InteractiveFolder] = {}
        for name in subsets:
            if name not in REAL_LAYOUTS:
                raise KeyError(f"unknown real subset {name!r}; known: {sorted(REAL_LAYOUTS)}")
            layout, resize = REAL_LAYOUTS[name]
            self.subsets[name] = InteractiveFolder(self.root / name, layout, resize)
        self.split = check_split(split)
        self._index = [
            (name, i) for name, ds in self.subsets.items() for i in range(len(ds))
            if split == "all" or real_split(f"{name}/{ds.pairs[i][0]}") == split
        ]

    def counts(self) -> dict[str, int]:
        """Number of pairs per subset (in the selected split)."""
        return {name: sum(1 for s, _ in self._index if s == name) for name in self.subsets}

    def names(self) -> list[str]:
        """Sample names ``<subset>/<file stem>``, in order, without decoding any file."""
        return [f"{s}/{self.subsets[s].pairs[i][0]}" for s, i in self._index]

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        subset, i = self._index[index]
        s = self.subsets[subset][i]
        s.meta.update({"subset": subset, "dataset": f"real/{subset}"})
        s.name = f"{subset}/{s.name}"
        return s


def load_real_pairs(
    root: str | os.PathLike | None = None,
    subsets: Sequence[str] = DEFAULT_SUBSETS,
    split: str = "all",
) -> RealPairs | None:
    """Open the shared real image / ground-truth pairs.

    Arguments:
      root: the ``real`` folder; default from :func:`default_real_root`.
      subsets: which subsets to include, in order.
      split: ``"all"``, ``"train"`` or ``"val"`` (see :class:`RealPairs`).

    Returns:
      RealPairs | None: a lazy sequence of samples, or None (with a
      :class:`RealDataMissingWarning` naming where it looked) when the folder is absent.
    """
    path = Path(root) if root is not None else default_real_root()
    if path is None or not path.is_dir():
        looked = (
            path
            if path is not None
            else (
                f"${ENV_VAR} (unset) and "
                f"{Path(__file__).resolve().parents[2].parent / 'shared' / 'data' / 'real'}"
            )
        )
        warnings.warn(
            f"real data folder not found (looked at {looked}); set {ENV_VAR} to the folder "
            "holding GrabCut/, COCO_MVal_subset80/ and WeizmannHorses/",
            RealDataMissingWarning,
            stacklevel=2,
        )
        return None
    missing = [s for s in subsets if not (path / s).is_dir()]
    if missing:
        warnings.warn(
            f"real data folder {path} lacks subset folder(s) {missing}",
            RealDataMissingWarning,
            stacklevel=2,
        )
        return None
    return RealPairs(path, subsets, split)
