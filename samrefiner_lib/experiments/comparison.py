"""Table 5 analogue: SAMRefiner against other refiners and plain SAM prompts, with time.

Time is wall-clock seconds per object spent in each method on the same machine in the same run;
the image encoder, shared by all SAM-based methods, is reported separately (``encoder``), so the
per-object figure of a SAM method excludes it and the totals say what an image costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..baselines import DenseCRFBaseline, MorphologyBaseline, densecrf_available, plain_sam_configs
from ..config import get_preset
from ..datasets.sample import Sample
from ..evaluation import evaluate
from ..refiner import SAMRefiner
from ..reporting import RunLabel
from .common import Settings


def comparison_methods() -> dict:
    """SAMRefiner presets, plain-SAM prompts and the training-free baselines."""
    methods: dict = {"SAMRefiner (paper)": get_preset("paper"),
                     "SAMRefiner (reference)": get_preset("reference")}
    methods.update(plain_sam_configs("paper"))
    methods["morphology open+close"] = MorphologyBaseline("open_close", 3)
    if densecrf_available():
        methods["DenseCRF"] = DenseCRFBaseline()
    return methods


def comparison_table(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings,
                     data: str) -> pd.DataFrame:
    """Quality (IoU, boundary IoU, mBA) and time per object of every method."""
    res = evaluate(samples, comparison_methods(), refiner, top1=False, progress=False,
                   info={"scale": settings.scale.name, "model": settings.model_label})
    table = res.table()
    n = table["objects"].replace(0, 1)
    table["ms per object"] = 1000 * table["seconds"] / n
    table["encoder ms per image"] = 1000 * res.info["encoder_seconds"] / max(len(samples), 1)
    table.attrs["label"] = str(RunLabel(settings.scale.name, settings.model_label, data,
                                        "paper/reference"))
    table.attrs["densecrf"] = densecrf_available()
    return table
