"""Evaluation protocols and the runner that produces every results table."""

from .protocols import davis585_masks, synth_davis, with_davis585_coarse
from .runner import Baseline, EvaluationResult, RefinerMethod, evaluate

__all__ = [
    "Baseline",
    "EvaluationResult",
    "RefinerMethod",
    "davis585_masks",
    "evaluate",
    "synth_davis",
    "with_davis585_coarse",
]
