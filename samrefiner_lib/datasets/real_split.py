"""The one train / validation split of the shared real photographs, by image.

Every real image (the 457 pairs of GrabCut, COCO-MVal and Weizmann horses, and the 404 BSDS500
images) belongs to exactly one side, decided from its name alone: the image is in validation when
the first 8 hex digits of ``sha256("samrefiner-real-split-v1:<name>")``, read as a fraction of
2^32, fall below the source's validation fraction (0.25 for the pairs, 0.2 for BSDS500). Names
are ``<subset>/<file stem>`` for the pairs (as :class:`~samrefiner_lib.datasets.real.RealPairs`
names its samples) and ``BSDS500/<id>``. The rule needs no file, never changes when images are
added, and gives the same split on every machine. The resulting train / val counts are
348 / 109 pairs (GrabCut 32 / 18, COCO-MVal 55 / 25, Weizmann 261 / 66) and 311 / 93 BSDS500
images. Models are trained on the ``train`` side only and every reported number on real
photographs is measured on the ``val`` side.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "val"]

SPLIT_SALT = "samrefiner-real-split-v1"
VAL_FRACTION = {"pairs": 0.25, "BSDS500": 0.2}


def real_split(name: str) -> Split:
    """``"train"`` or ``"val"`` for a real image name (``<subset>/<stem>``)."""
    if "/" not in name:
        raise ValueError(f"real image name {name!r}: expected '<subset>/<file stem>'")
    source = "BSDS500" if name.startswith("BSDS500/") else "pairs"
    digest = hashlib.sha256(f"{SPLIT_SALT}:{name}".encode()).hexdigest()
    return "val" if int(digest[:8], 16) / 2**32 < VAL_FRACTION[source] else "train"


def check_split(value: str) -> str:
    """Validate a split argument: ``"train"``, ``"val"`` or ``"all"``."""
    if value not in ("train", "val", "all"):
        raise ValueError(f"real split must be 'train', 'val' or 'all', got {value!r}")
    return value
