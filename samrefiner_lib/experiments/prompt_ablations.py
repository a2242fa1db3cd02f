"""Prompt ablations: Table 1 (prompt combinations), Table 2a (point choice), Table 2b (CEBox),
Fig. 9a (mask-prompt amplitude and spread) and the iteration / preset comparison.

Every function returns a DataFrame whose ``attrs["label"]`` says which scale, model, data and
base preset produced it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..config import RefinerConfig, get_preset
from ..datasets.sample import Sample
from ..evaluation import evaluate
from ..refiner import SAMRefiner
from ..reporting import RunLabel
from .common import Settings

METRICS = ["IoU", "mIoU", "boundary IoU", "boundary mIoU", "top-1"]


def run_configs(samples: Sequence[Sample], configs: dict[str, RefinerConfig], refiner: SAMRefiner,
                settings: Settings, data: str, progress: bool = False) -> pd.DataFrame:
    """Evaluate named configurations (plus the coarse masks) and label the table."""
    res = evaluate(samples, configs, refiner, progress=progress,
                   info={"scale": settings.scale.name, "model": settings.model_label, "data": data})
    table = res.table()
    base = {c.preset for c in configs.values()}
    table.attrs["label"] = str(RunLabel(settings.scale.name, settings.model_label, data,
                                        "/".join(sorted(base))))
    return table


def prompt_combinations(base: RefinerConfig) -> dict[str, RefinerConfig]:
    """The seven prompt combinations of Table 1 on top of ``base``."""
    combos = {
        "point": (True, False, False),
        "box": (False, True, False),
        "mask": (False, False, True),
        "point + box": (True, True, False),
        "point + mask": (True, False, True),
        "box + mask": (False, True, True),
        "point + box + mask": (True, True, True),
    }
    return {name: base.replace(use_point=p, use_box=b, use_mask=m)
            for name, (p, b, m) in combos.items()}


def table1(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings, data: str,
           preset: str = "paper") -> pd.DataFrame:
    """Table 1: every combination of point, box and mask prompts."""
    return run_configs(samples, prompt_combinations(get_preset(preset)), refiner, settings, data)


def table2a(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings, data: str,
            preset: str = "paper") -> pd.DataFrame:
    """Table 2a: distance-guided point vs box centre vs centroid, alone and with all prompts."""
    base = get_preset(preset)
    configs = {}
    for strategy in ("distance", "box_center", "centroid"):
        configs[f"point only, {strategy}"] = base.replace(
            point_strategy=strategy, use_box=False, use_mask=False, use_negative_point=False)
        configs[f"all prompts, {strategy}"] = base.replace(point_strategy=strategy)
    return run_configs(samples, configs, refiner, settings, data)


def table2b(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings, data: str,
            lambdas: Sequence[float] = (0.05, 0.1, 0.2, 0.4), rounds: Sequence[int] = (1, 3),
            preset: str = "paper") -> pd.DataFrame:
    """Table 2b: tight box vs CEBox, with a lambda sweep and 1 or several rounds.

    Both the box-only setting and all prompts are reported.
    """
    base = get_preset(preset)
    configs = {
        "box only, tight": base.replace(use_point=False, use_mask=False, use_cebox=False),
        "all prompts, tight": base.replace(use_cebox=False),
    }
    for r in rounds:
        for lam in lambdas:
            configs[f"box only, CEBox lambda={lam} rounds={r}"] = base.replace(
                use_point=False, use_mask=False, use_cebox=True, cebox_lambda=lam, cebox_rounds=r)
            configs[f"all prompts, CEBox lambda={lam} rounds={r}"] = base.replace(
                use_cebox=True, cebox_lambda=lam, cebox_rounds=r)
    return run_configs(samples, configs, refiner, settings, data)


def fig9a(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings, data: str,
          amplitudes: Sequence[float] = (1, 5, 15, 30, 60),
          gammas: Sequence[float] = (0.5, 1, 4, 16, 64),
          forms: Sequence[str] = ("paper", "reference"), mask_only: bool = False) -> pd.DataFrame:
    """Fig. 9a: cumulative IoU over amplitude (omega / strength) x gamma for each Gaussian form.

    Arguments:
      mask_only: sweep the mask prompt alone instead of with point and box.

    Returns:
      long DataFrame with columns form, amplitude, gamma and the metrics.
    """
    base = get_preset("paper")
    if mask_only:
        base = base.replace(use_point=False, use_box=False)
    configs = {}
    for form in forms:
        for a in amplitudes:
            for g in gammas:
                configs[f"{form}|{a}|{g}"] = base.replace(mask_form=form, mask_amplitude=float(a),
                                                          mask_gamma=float(g))
    table = run_configs(samples, configs, refiner, settings, data)
    rows = table.drop(index="coarse").reset_index()
    parts = rows["method"].str.split("|", expand=True)
    rows.insert(0, "form", parts[0])
    rows.insert(1, "amplitude", parts[1].astype(float))
    rows.insert(2, "gamma", parts[2].astype(float))
    rows.attrs["label"] = table.attrs["label"]
    rows.attrs["coarse IoU"] = float(table.loc["coarse", "IoU"])
    return rows


def iterations_and_presets(samples: Sequence[Sample], refiner: SAMRefiner, settings: Settings,
                           data: str, iterations: Sequence[int] = (1, 2, 3, 5)) -> pd.DataFrame:
    """Both presets at several iteration counts, plus each paper/reference difference alone.

    Returns:
      DataFrame indexed by method name with the usual metrics.
    """
    paper, ref = get_preset("paper"), get_preset("reference")
    configs: dict[str, RefinerConfig] = {}
    for n in iterations:
        configs[f"paper, {n} iteration(s)"] = paper.replace(iterations=n)
        configs[f"reference, {n} iteration(s)"] = ref.replace(iterations=n)
    configs["paper with the reference Gaussian (form, strength 30)"] = paper.replace(
        mask_form="reference", mask_amplitude=30.0)
    configs["paper with reference grid mapping"] = paper.replace(grid_mapping="reference")
    configs["paper without CEBox"] = paper.replace(use_cebox=False)
    configs["paper with amplitude 1 after expansion"] = paper.replace(expanded_mask_amplitude=1.0)
    configs["reference with CEBox (lambda 0.1)"] = ref.replace(use_cebox=True, cebox_lambda=0.1)
    return run_configs(samples, configs, refiner, settings, data)
