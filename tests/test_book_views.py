"""The book's table views of the IoU-adaption and COCO AP experiments: the paper's numbers land
on the rows they belong to, ours are unchanged, the run label becomes the caption."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from samrefiner_lib.experiments.coco_ap import book_table
from samrefiner_lib.experiments.iou_adaption import (
    plot_selection,
    selection_view,
    summary_views,
)

matplotlib.use("Agg")

LABEL = "this project, scale=smoke, model=m, data=d, preset=paper"


def _selection() -> pd.DataFrame:
    rows = []
    for k, prompts in enumerate(("point", "box", "mask", "all")):
        for j, sel in enumerate(("predicted IoU (SAM)", "IoU with coarse mask",
                                 "oracle (ground truth)", "predicted IoU (adapted)")):
            rows.append({"model": "m", "data": "d", "preset": "paper", "prompts": prompts,
                         "selector": sel, "objects": 10, "top-1": 10.0 * (k + j),
                         "IoU": 50.0 + k + j, "mIoU": 50.0, "score gap": 0.1})
    out = pd.DataFrame(rows)
    out.attrs["label"] = LABEL
    return out


def test_selection_view_puts_paper_numbers_on_their_cells():
    top1 = selection_view(_selection(), "top-1")
    assert list(top1.index) == ["point", "box", "mask", "all"]
    assert top1.loc["box", "coarse mask"] == 20.0 and top1.loc["all", "SAM head"] == 30.0
    assert top1.loc["all", "paper: SAM head"] == "44.1"
    assert top1.loc["all", "paper: adapted head"] == "63.8"
    assert top1.loc["point", "paper: SAM head"] == ""
    assert top1.loc["point", "paper: better judge"] == "coarse mask"
    assert top1.loc["all", "paper: better judge"] == "SAM head"
    iou = selection_view(_selection(), "IoU")
    assert iou.loc["point", "paper: SAM head"] == "53.7"
    fig = plot_selection(_selection(), LABEL)
    assert len(fig.axes) == 2 and "scale=smoke" in fig._suptitle.get_text()


def test_summary_views_split_and_mark_the_paper_rows():
    rows = []
    for set_name in ("held-out images", "adaption images"):
        for prompts in ("all prompts", "box only"):
            preset = "paper" if prompts == "all prompts" else "paper (use_point=False)"
            rows.append({"model": "m", "data": "d", "eval set": set_name, "preset": preset,
                         "prompts": prompts, **{f"{m} {p}": 1.0 for m in
                                                ("top-1", "IoU", "boundary IoU")
                                                for p in ("before", "after", "change")}})
    top1, iou = summary_views(pd.DataFrame(rows))
    assert list(top1.columns) == ["before", "after", "Δ", "paper (ViT-H)"]
    assert top1.loc[("adaption images", "paper", "all"), "paper (ViT-H)"] == (
        "44.1\u00a0→\u00a063.8")
    assert top1.loc[("held-out images", "paper", "all"), "paper (ViT-H)"] == ""
    assert iou.loc[("adaption images", "paper", "all"), "paper IoU (ViT-H)"] == (
        "86.9\u00a0→\u00a087.1")
    assert ("held-out images", "paper", "box") in iou.index


def test_book_table_adds_gains_and_caption():
    t = pd.DataFrame({"configuration": ["input", "paper"], "AP": [40.0, 45.5], "AP50": [1, 2],
                      "AP75": [1, 2], "boundary AP": [1, 2], "boundary AP50": [1, 2]},
                     index=pd.Index(["coarse", "SAMRefiner (paper)"], name="method"))
    t.attrs["label"] = LABEL
    style = book_table(t, "davis585")
    shown = style.data
    assert "configuration" not in shown.columns
    assert shown.loc["SAMRefiner (paper)", "AP gain"] == pytest.approx(5.5)
    assert shown.loc["SAMRefiner (paper)", "paper AP gain"] == "+10.3"
    assert shown.loc["coarse", "paper AP gain"] == ""
    html = style.to_html()
    assert "DAVIS-585-protocol" in html and "scale=smoke" in html and "Table 3" in html
    with pytest.raises(KeyError):
        book_table(t, "unknown")
