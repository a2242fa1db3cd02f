"""Prompt ablations: Table 1 (prompt combinations), Table 2a (point choice), Table 2b (CEBox),
Fig. 9a (mask-prompt amplitude and spread) and the iteration / preset comparison.

Every function returns a DataFrame whose ``attrs["label"]`` says which scale, model, data and
base preset produced it. The helpers at the end reshape those tables for the book: short row
labels, one caption for what every row shares, and the paper's number beside ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..config import RefinerConfig, get_preset
from ..datasets.sample import Sample
from ..evaluation import evaluate
from ..refiner import SAMRefiner
from ..reporting import RunLabel, paper_numbers
from .common import Settings

METRICS = ["IoU", "mIoU", "boundary IoU", "boundary mIoU", "top-1"]
#: The metrics the book shows (boundary mIoU adds little beside boundary IoU).
SHOWN = ["IoU", "mIoU", "boundary IoU", "top-1"]

#: Rows of :func:`table1` -> id of the paper's number for that row (paper_numbers.csv).
TABLE1_PAPER_IOU = {"coarse": "t1_coarse", "point": "t1_point", "box": "t1_box",
                    "mask": "t1_mask", "point + box + mask": "t1_all"}
TABLE1_PAPER_TOP1 = {"point + box + mask": "t1_top1_before"}
#: The paper's qualitative findings of Tables 2a and 2b, on the rows of :func:`by_group` and
#: :func:`cebox_grid` they are about (the distance-guided point; CEBox at the paper's lambda).
TABLE2A_PAPER = {"distance": "t2a"}
TABLE2B_PAPER = {f"CEBox, λ={get_preset('paper').cebox_lambda:g}": "t2b"}


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


def single_differences(table: pd.DataFrame, metrics: Sequence[str] = SHOWN,
                       bases: Sequence[str] = ("paper, 1 iteration(s)",
                                               "reference, 5 iteration(s)")) -> pd.DataFrame:
    """The rows of :func:`iterations_and_presets` that change one setting of a preset, each
    group below its preset's row, with an "IoU change" column: IoU minus that preset row's."""
    parts = [table.loc[["coarse"], list(metrics)].assign(**{"IoU change": float("nan")})]
    for base in bases:
        preset = base.split(",")[0]
        rows = [base] + [i for i in table.index if i.startswith(f"{preset} ")]
        part = table.loc[rows, list(metrics)]
        parts.append(part.assign(**{"IoU change": part["IoU"] - table.loc[base, "IoU"]}))
    return pd.concat(parts).rename_axis(None)


# --------------------------------------------------------------------------------------------
# Shaping the tables for the book


def caption(table: pd.DataFrame, extra: str = "") -> str:
    """What every row of ``table`` shares, for a caption: its run label and object count."""
    counts = sorted({int(n) for n in table["objects"]})
    objects = f"{counts[0]} objects" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} objects"
    return "; ".join(part for part in (table.attrs["label"], objects, "metrics in %", extra)
                     if part)


def paper_by_row(ids: dict[str, str]) -> dict[str, float | str]:
    """Row label -> the paper's number for it, or for a qualitative finding its first clause
    (kept short so that it fits a table cell; the whole text is in paper_numbers.csv)."""
    df = paper_numbers().set_index("id")
    out: dict[str, float | str] = {}
    for row, number_id in ids.items():
        value = df.loc[number_id, "value"]
        out[row] = (float(value) if pd.notna(value)
                    else str(df.loc[number_id, "value_text"]).split(";")[0])
    return out


def single_source(ids: dict[str, str]) -> list[str]:
    """The rows of ``ids`` whose paper number only one source gives (less sure than the rest)."""
    df = paper_numbers().set_index("id")
    return [row for row, number_id in ids.items()
            if df.loc[number_id, "confidence"] == "single source"]


def by_group(table: pd.DataFrame, metrics: Sequence[str] = ("IoU", "mIoU")) -> pd.DataFrame:
    """Rows named ``"<group>, <item>"`` (e.g. ``"point only, distance"``) as a table of items x
    (group, metric), so that the groups sit side by side instead of one below the other.
    Rows without ``", "`` (the coarse masks) are left out."""
    rows = table[table.index.str.contains(", ")]
    parts = rows.index.str.split(", ", n=1)
    long = rows[list(metrics)].assign(group=[p[0] for p in parts], item=[p[1] for p in parts])
    wide = long.pivot(index="item", columns="group", values=list(metrics))
    wide = wide.swaplevel(axis=1)
    groups = list(dict.fromkeys(p[0] for p in parts))
    items = list(dict.fromkeys(p[1] for p in parts))
    wide = wide.reindex(index=items, columns=pd.MultiIndex.from_product([groups, list(metrics)]))
    wide.index.name = None
    return wide


def cebox_long(table: pd.DataFrame) -> pd.DataFrame:
    """The CEBox rows of :func:`table2b` with their setting, lambda and rounds as columns."""
    rows = table[table.index.str.contains("CEBox")].reset_index()
    rows.insert(0, "setting", rows["method"].str.split(",").str[0])
    rows.insert(1, "lambda", rows["method"].str.extract(r"lambda=([0-9.]+)")[0].astype(float))
    rows.insert(2, "rounds", rows["method"].str.extract(r"rounds=(\d+)")[0].astype(int))
    return rows


def cebox_grid(table: pd.DataFrame, metric: str = "IoU") -> pd.DataFrame:
    """:func:`table2b` as lambda rows x (setting, rounds) columns, the tight box as the first row.

    The tight box has no lambda and no rounds: its value stands under every rounds column of
    its setting, so each column compares with it directly.
    """
    long = cebox_long(table)
    rounds = [f"{r} round" if r == 1 else f"{r} rounds" for r in sorted(set(long["rounds"]))]
    long["rounds"] = [f"{r} round" if r == 1 else f"{r} rounds" for r in long["rounds"]]
    settings = list(dict.fromkeys(long["setting"]))
    grid = long.pivot(index="lambda", columns=["setting", "rounds"], values=metric)
    grid = grid.reindex(columns=pd.MultiIndex.from_product([settings, rounds]))
    grid.index = [f"CEBox, λ={lam:g}" for lam in grid.index]
    tight = pd.DataFrame([[float(table.loc[f"{s}, tight", metric]) for s, _ in grid.columns]],
                         index=["tight box"], columns=grid.columns)
    return pd.concat([tight, grid])


#: The paper's Fig. 9a finding, row by row of :func:`fig9a_findings` (paper_numbers.csv, f9a).
FIG9A_PAPER = ("clearly helps", "insensitive", "insensitive")


def fig9a_findings(sweep: pd.DataFrame, metric: str = "IoU") -> pd.DataFrame:
    """The three findings of the paper's Fig. 9a, measured on a :func:`fig9a` sweep.

    Rows: the gain from the lowest amplitude to the preset's (omega 15 in the paper), the range
    of the mean over gamma across the higher amplitudes, and the largest range over gamma at
    one of those amplitudes; one column per Gaussian form ("paper form", "reference form"), in
    points of ``metric``. Needs at least two amplitudes.
    """
    default = get_preset("paper").mask_amplitude
    amps = sorted(sweep["amplitude"].unique())
    low, higher = amps[0], amps[1:]
    out = {}
    for form, part in sweep.groupby("form", sort=False):
        mean = part.groupby("amplitude")[metric].mean()
        span = part.groupby("amplitude")[metric].agg(lambda v: v.max() - v.min())
        out[f"{form} form"] = [mean.get(default, float("nan")) - mean[low],
                     mean[higher].max() - mean[higher].min(),
                     span[higher].max()]
    above = (f"amplitude {higher[0]:g}" if len(higher) == 1
             else f"amplitudes {higher[0]:g}-{higher[-1]:g}")
    index = [f"gain from amplitude {low:g} to {default:g}",
             f"range over {above}",
             f"largest range over gamma ({above})"]
    return pd.DataFrame(out, index=index)
