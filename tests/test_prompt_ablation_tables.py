"""The helpers that shape the prompt-ablation tables for the book (no model needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from samrefiner_lib.experiments.prompt_ablations import (
    FIG9A_PAPER,
    TABLE1_PAPER_IOU,
    by_group,
    caption,
    cebox_grid,
    fig9a_findings,
    paper_by_row,
    single_differences,
    single_source,
)
from samrefiner_lib.reporting import paper_value


def _table(rows: dict[str, float]) -> pd.DataFrame:
    df = pd.DataFrame({"objects": 3, "IoU": list(rows.values()),
                       "mIoU": [v - 1 for v in rows.values()]}, index=list(rows))
    df.index.name = "method"
    df.attrs["label"] = "this project, scale=smoke, model=m, data=d, preset=paper"
    return df


def test_caption_names_the_run_and_the_objects_once():
    text = caption(_table({"coarse": 80.0, "point": 40.0}), "extra words")
    assert text.startswith("this project, scale=smoke")
    assert "3 objects" in text and text.endswith("extra words")


def test_paper_by_row_gives_numbers_and_short_findings():
    reported = paper_by_row(TABLE1_PAPER_IOU)
    assert reported["point + box + mask"] == paper_value("t1_all")
    assert reported["mask"] == "nearly useless"
    assert set(single_source(TABLE1_PAPER_IOU)) == {"point", "box"}


def test_by_group_puts_groups_side_by_side():
    t = _table({"coarse": 80, "point only, distance": 22, "point only, centroid": 21,
                "all prompts, distance": 82, "all prompts, centroid": 81})
    wide = by_group(t, ["IoU"])
    assert list(wide.index) == ["distance", "centroid"]
    assert list(wide.columns) == [("point only", "IoU"), ("all prompts", "IoU")]
    assert wide.loc["centroid", ("all prompts", "IoU")] == 81


def test_cebox_grid_is_lambda_by_rounds_with_the_tight_box_first():
    rows = {"coarse": 70, "box only, tight": 55, "all prompts, tight": 71}
    for r in (1, 3):
        for lam in (0.1, 0.2):
            rows[f"box only, CEBox lambda={lam} rounds={r}"] = 10 * r + lam
            rows[f"all prompts, CEBox lambda={lam} rounds={r}"] = 100 + r + lam
    grid = cebox_grid(_table(rows))
    assert list(grid.index) == ["tight box", "CEBox, λ=0.1", "CEBox, λ=0.2"]
    assert list(grid.columns) == [("box only", "1 round"), ("box only", "3 rounds"),
                                  ("all prompts", "1 round"), ("all prompts", "3 rounds")]
    assert grid.loc["tight box", ("all prompts", "3 rounds")] == 71
    assert grid.loc["CEBox, λ=0.2", ("box only", "3 rounds")] == pytest.approx(30.2)


def test_fig9a_findings_measure_each_finding_per_form():
    sweep = pd.DataFrame([{"form": f, "amplitude": a, "gamma": g,
                           "IoU": (50 if a == 1 else 80) + g + (5 if f == "reference" else 0)}
                          for f in ("paper", "reference") for a in (1, 15, 60) for g in (1, 4)])
    found = fig9a_findings(sweep)
    assert len(found) == len(FIG9A_PAPER)
    assert list(found.columns) == ["paper form", "reference form"]
    assert found["paper form"].tolist() == pytest.approx([30, 0, 3])


def test_single_differences_measure_each_row_from_its_preset():
    t = _table({"coarse": 80, "paper, 1 iteration(s)": 82, "reference, 5 iteration(s)": 78,
                "paper without CEBox": 83, "reference with CEBox (lambda 0.1)": 70})
    d = single_differences(t, ["IoU"])
    assert list(d.index) == ["coarse", "paper, 1 iteration(s)", "paper without CEBox",
                             "reference, 5 iteration(s)", "reference with CEBox (lambda 0.1)"]
    assert d["IoU change"].tolist()[1:] == [0, 1, 0, -8]
