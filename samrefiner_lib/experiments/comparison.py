"""Table 5 analogue: SAMRefiner against other refiners and plain SAM prompts, with time.

Time is wall-clock seconds per object spent in each method on the same machine in the same run;
the image encoder, shared by all SAM-based methods, is reported separately (``encoder``), so the
per-object figure of a SAM method excludes it and the totals say what an image costs.

The paper's numbers go beside ours in the same table (:func:`with_paper_numbers`) and on the
same figure (:func:`plot_comparison`), never in place of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ..baselines import DenseCRFBaseline, MorphologyBaseline, densecrf_available, plain_sam_configs
from ..config import get_preset
from ..datasets.sample import Sample
from ..evaluation import evaluate
from ..refiner import SAMRefiner
from ..reporting import PAPER_LINE, PAPER_MARKER, RunLabel, paper_numbers, with_paper
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
    run = RunLabel(settings.scale.name, settings.model_label, data, "paper/reference")
    table.attrs["label"] = str(run)
    table.attrs["run"] = run.to_dict()
    table.attrs["densecrf"] = densecrf_available()
    return table


#: Refiners of the paper's Table 5 that need weights this project cannot obtain: rows of the
#: paper's numbers only.
NOT_RUN = ("CascadePSP", "CRM", "SegRefiner")

#: Ids in ``paper_numbers.csv`` of the paper's number for each row, by paper column. DAVIS-585
#: rows of Table 1 stand for our rows with the same prompts (SAM ViT-H in the paper).
PAPER_IDS = {
    "paper, DAVIS-585 IoU": {"coarse": "t1_coarse", "SAMRefiner (paper)": "t1_all",
                             "sam-box": "t1_box", "sam-mask": "t1_mask",
                             "sam-point": "t1_point", "SegRefiner": "t5_segrefiner_davis"},
    "paper, VOC mIoU": {"coarse": "t5_voc_coarse", "SAMRefiner (paper)": "t5_voc_samrefiner",
                        "CascadePSP": "t5_voc_cascadepsp", "CRM": "t5_voc_crm",
                        "SegRefiner": "t5_voc_segrefiner"},
}

#: The columns of ours a reader compares; the rest (configuration, objects, seconds) go to the
#: caption or stay in the full table.
SHOWN = ["IoU", "boundary IoU", "mBA", "ms per object"]


def _paper_cell(row: pd.Series) -> float | str:
    """A number, or the first clause of a qualitative finding (short enough for a cell)."""
    return float(row["value"]) if pd.notna(row["value"]) else row["value_text"].split(";")[0]


def with_paper_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The shown columns of ``table`` with the paper's numbers as more columns, and a row of the
    paper's numbers only for each refiner of :data:`NOT_RUN` (blank in our columns)."""
    reported = paper_numbers().set_index("id")
    out = table[SHOWN].reindex([*table.index, *[r for r in NOT_RUN if r not in table.index]])
    for column, ids in PAPER_IDS.items():
        out = with_paper(out, {row: _paper_cell(reported.loc[i]) for row, i in ids.items()},
                         column)
    return out.rename_axis(None)


def paper_time_note() -> str:
    """The paper's timing claim as a sentence (it gives a ratio, not a time per object)."""
    r = paper_numbers("Table 5").set_index("id").loc["t5_time"]
    return f"the paper finds SAMRefiner {r['value_text']} than CascadePSP on {r['dataset']}"


def comparison_caption(table: pd.DataFrame, machine: str, paper: bool = True) -> str:
    """What every row of ``table`` shares: the run, the machine, the objects, the shared
    encoder time and, with ``paper``, where the paper's columns come from."""
    parts = [table.attrs["label"], machine,
             f"{int(table['objects'].max())} objects",
             f"image encoder {table['encoder ms per image'].iloc[0]:.0f} ms per image, shared "
             "by the SAM rows and not in their ms per object"]
    if paper:
        parts.append("paper columns: SAM ViT-H, DAVIS-585 cumulative IoU (Tables 1 and 5) and "
                     f"VOC mIoU of DeepLabV2 masks (Table 5); {paper_time_note()}")
    return "; ".join(parts)


def plot_comparison(table: pd.DataFrame, machine: str) -> plt.Figure:
    """Two panels of the rows of ``table``: cumulative IoU of each row with the paper's DAVIS-585
    number beside it (a row of the paper's only for SegRefiner), and cumulative IoU against
    ms per object (the paper gives a ratio of times, not a time per object)."""
    fig, (bars, scatter) = plt.subplots(2, 1, figsize=(7.5, 9.5), height_ratios=[1, 1.05])
    reported = paper_numbers().set_index("id")["value"]
    paper = {row: float(reported[i]) for row, i in PAPER_IDS["paper, DAVIS-585 IoU"].items()
             if pd.notna(reported[i])}
    rows = [*table.index, *[r for r in NOT_RUN if r in paper]]
    pos = {r: k for k, r in enumerate(rows)}
    ours = table["IoU"]
    bars.barh([pos[r] for r in ours.index], ours, color="C0", label="this project")
    bars.scatter(list(paper.values()), [pos[r] for r in paper], **PAPER_MARKER,
                 label="paper (SAM ViT-H, DAVIS-585)")
    bars.axvline(float(ours["coarse"]), color="grey", ls="--", lw=1,
                 label="coarse masks (this project)")
    bars.axvline(paper["coarse"], **PAPER_LINE, label="coarse masks (paper)")
    bars.set_yticks(range(len(rows)), rows, fontsize=9)
    bars.invert_yaxis()
    bars.set_xlabel("cumulative IoU (%)")
    bars.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.4, -0.13), ncol=2)

    ran = table.drop(index="coarse")
    scatter.scatter(ran["ms per object"], ran["IoU"], zorder=4)
    scatter.axhline(float(ours["coarse"]), color="grey", ls="--", lw=1,
                    label="coarse masks (this project)")
    scatter.set_xscale("log")
    x = ran["ms per object"]
    lo, hi = np.log10(x[x > 0].min()), np.log10(x.max())
    scatter.set_xlim(10 ** (lo - 0.3), 10 ** (hi + 0.3))
    scatter.margins(y=0.12)
    scatter.set_xlabel(f"ms per object ({machine}; SAM rows exclude the shared encoder)")
    scatter.set_ylabel("cumulative IoU (%)")
    scatter.legend(fontsize=8, loc="best")
    run = table.attrs["run"]
    fig.suptitle(f"{run['model']}, presets {run['preset']}, scale={run['scale']}\n{run['data']}",
                 fontsize=10)
    fig.tight_layout()
    _label_points(scatter, ran)
    return fig


#: A light backing for point names, so that a line behind one does not strike it through.
LABEL_BOX = {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}


def _label_points(ax: plt.Axes, ran: pd.DataFrame) -> None:
    """Name each point beside it, on the side away from the nearer edge, moving a name up or
    down (with a thin leader) until it covers no other name or point and stays inside the axes."""
    renderer = ax.figure.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    xy = list(zip(ran["ms per object"], ran["IoU"], strict=True))
    placed = [Bbox.from_bounds(px - 4, py - 4, 8, 8) for px, py in ax.transData.transform(xy)]

    def name_at(name, point, dx, dy):
        leader = {"arrowstyle": "-", "color": "0.5", "lw": 0.6} if abs(dy) > 3 else None
        ann = ax.annotate(name, point, xytext=(dx, dy), textcoords="offset points", fontsize=8,
                          ha="right" if dx < 0 else "left", va="center", bbox=LABEL_BOX,
                          arrowprops=leader)
        # The text alone: an annotation's own extent includes its leader, which ends at the point.
        ann.update_positions(renderer)
        return ann, Text.get_window_extent(ann, renderer)

    order = np.argsort(-ran["IoU"].to_numpy())
    for k in order:
        name, point = ran.index[k], xy[k]
        right = ax.transData.transform(point)[0] > box.x0 + 0.6 * box.width
        first = None
        for dx in ((-6, 6) if right else (6, -6)):
            for dy in (0, 12, -12, 22, -22, 32, -32):
                ann, bb = name_at(name, point, dx, dy)
                inside = (box.x0 <= bb.x0 and bb.x1 <= box.x1 and box.y0 <= bb.y0
                          and bb.y1 <= box.y1)
                if inside and not any(bb.overlaps(p) for p in placed):
                    break
                first = first or (dx, dy)
                ann.remove()
            else:
                continue
            break
        else:  # nowhere free: the first place tried
            ann, bb = name_at(name, point, *first)
        placed.append(bb)
