"""Refine VOC-style coarse label maps (palette or grayscale PNGs of class indices).

Items are images. Output: ``labels/<id>.png`` (VOC palette PNG, readable as class indices, 255 =
no label) and ``summary.json`` with the classes before and after and the number of changed
pixels per image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import VocSemantic, write_label_png
from ..datasets.voc import IGNORE_INDEX
from .atomic import write_json_atomic
from .refine_fns import LabelMapRefine

SUMMARY_FILE = "summary.json"


def _classes(labels: np.ndarray) -> list[int]:
    return [int(c) for c in np.unique(labels) if c not in (0, IGNORE_INDEX)]


class VocRefineJob:
    """Dataset job over VOC images with coarse label maps (one item per image id).

    Arguments:
      dataset: loader with ``coarse_dir`` set (ground truth is not needed).
      refine: label-map refinement function.
      method: description of the method (and STM mode), for the fingerprint.
    """

    name = "voc"

    def __init__(self, dataset: VocSemantic, refine: LabelMapRefine,
                 method: dict[str, Any] | None = None) -> None:
        if dataset.coarse_dir is None:
            raise ValueError("VOC refinement needs coarse label maps (--coarse-dir)")
        self.dataset = dataset
        self.refine = refine
        self.method = method or {}
        self.index = {name: i for i, name in enumerate(dataset.ids)}

    def keys(self) -> list[str]:
        return list(self.dataset.ids)

    def fingerprint(self) -> dict[str, Any]:
        return {"dataset": "voc", "images": len(self.dataset.ids), "method": self.method}

    def process(self, key: str, out_dir: Path) -> dict[str, Any]:
        sample = self.dataset[self.index[key]]
        coarse = sample.meta["coarse_label_map"]
        refined = np.asarray(self.refine(sample.image, coarse), dtype=np.uint8)
        rel = f"labels/{key}.png"
        write_label_png(refined, out_dir / rel)
        return {"id": key, "file": rel, "classes_coarse": _classes(coarse),
                "classes_refined": _classes(refined),
                "changed_pixels": int(np.count_nonzero(refined != coarse)), "files": [rel]}

    def merge(self, out_dir: Path, records: list[dict[str, Any]]) -> list[Path]:
        summary = {"dataset": "voc", "images": [{k: v for k, v in r.items() if k != "files"}
                                                for r in records]}
        return [write_json_atomic(out_dir / SUMMARY_FILE, summary, indent=1)]
