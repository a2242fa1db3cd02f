"""Refine the initial masks of a DAVIS-585 folder.

Items are frames: all objects of one frame are refined together (one image-encoder pass).
Output: ``masks/<sequence>/<object>_<frame>.png`` (0/255 PNG, the ground truth's name) for every
sample, and ``summary.json`` listing each sample's mask file and score in dataset order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Davis585
from ..io import save_mask
from .atomic import write_json_atomic
from .refine_fns import InstanceRefine, score_or_none

SUMMARY_FILE = "summary.json"


class Davis585RefineJob:
    """Dataset job over the frames of DAVIS-585 (one item per frame).

    Arguments:
      dataset: the loader (its ``init`` masks are refined).
      refine: instance refinement function.
      method: description of the method, for the fingerprint.
    """

    name = "davis585"

    def __init__(self, dataset: Davis585, refine: InstanceRefine,
                 method: dict[str, Any] | None = None) -> None:
        if dataset.init is None:
            raise ValueError("DAVIS-585 refinement needs initial masks (init='sp' or 'stm')")
        self.dataset = dataset
        self.refine = refine
        self.method = method or {}
        self.frames: dict[str, list[int]] = {}
        for i, e in enumerate(dataset.entries):
            self.frames.setdefault(f"{e.sequence}/{e.image.stem}", []).append(i)

    def keys(self) -> list[str]:
        return list(self.frames)

    def fingerprint(self) -> dict[str, Any]:
        return {"dataset": "davis585", "init": self.dataset.init,
                "samples": len(self.dataset), "method": self.method}

    def process(self, key: str, out_dir: Path) -> dict[str, Any]:
        samples = [self.dataset[i] for i in self.frames[key]]
        coarse = np.concatenate([s.coarse for s in samples])
        masks, scores = self.refine(samples[0].image, coarse)
        entries = []
        for s, mask, score in zip(samples, masks, scores, strict=True):
            rel = f"masks/{s.name}.png"  # name = <sequence>/<object>_<frame>
            save_mask(mask, out_dir / rel)
            entries.append({"name": s.name, "file": rel, "score": score_or_none(score)})
        return {"frame": key, "masks": entries, "files": [e["file"] for e in entries]}

    def merge(self, out_dir: Path, records: list[dict[str, Any]]) -> list[Path]:
        masks = [m for rec in records for m in rec["masks"]]
        summary = {"dataset": "davis585", "init": self.dataset.init, "masks": masks}
        return [write_json_atomic(out_dir / SUMMARY_FILE, summary, indent=1)]
