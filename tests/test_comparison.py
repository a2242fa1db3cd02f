"""Table 5 analogue: the paper's numbers beside ours, in the table and on the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from samrefiner_lib import SAMRefiner  # noqa: E402
from samrefiner_lib.datasets import Sample  # noqa: E402
from samrefiner_lib.experiments.common import settings_from_env  # noqa: E402
from samrefiner_lib.experiments.comparison import (  # noqa: E402
    NOT_RUN,
    PAPER_IDS,
    SHOWN,
    comparison_caption,
    comparison_table,
    plot_comparison,
    with_paper_numbers,
)
from samrefiner_lib.reporting import paper_numbers, paper_value  # noqa: E402


@pytest.fixture(scope="module")
def table(tiny_sam):
    rng = np.random.default_rng(0)
    img = (rng.random((90, 120, 3)) * 60).astype(np.uint8)
    yy, xx = np.mgrid[:90, :120]
    masks = np.stack([(yy - 40) ** 2 + (xx - 40) ** 2 < 18**2,
                      (yy - 50) ** 2 + (xx - 90) ** 2 < 12**2])
    img[masks[0]] += np.uint8(150)
    sample = Sample(img, masks, masks, None, "scene", {"pairing": "index"})
    settings = settings_from_env("smoke", "tiny-test")
    return comparison_table([sample], SAMRefiner(tiny_sam), settings, "two disks")


def test_paper_ids_exist_and_rows_are_ours_or_not_run(table):
    ids = set(paper_numbers()["id"])
    for rows in PAPER_IDS.values():
        assert set(rows.values()) <= ids
        assert set(rows) <= set(table.index) | set(NOT_RUN)


def test_with_paper_numbers_puts_the_paper_beside_ours(table):
    out = with_paper_numbers(table)
    assert list(out.columns) == [*SHOWN, *PAPER_IDS]
    assert list(out.index) == [*table.index, *NOT_RUN]
    assert out.loc["coarse", "paper, DAVIS-585 IoU"] == paper_value("t1_coarse")
    assert out.loc["CRM", "paper, VOC mIoU"] == paper_value("t5_voc_crm")
    assert out.loc["CRM", SHOWN].isna().all()  # never run here: no number of ours
    assert out.loc["sam-mask", "paper, DAVIS-585 IoU"] == "nearly useless"  # qualitative, short


def test_caption_names_the_run_once(table):
    caption = comparison_caption(table, "test CPU")
    assert table.attrs["label"] in caption and "test CPU" in caption
    assert "ViT-H" in caption and "ViT-H" not in comparison_caption(table, "x", paper=False)


def test_plot_names_the_model_and_keeps_every_name_inside(table):
    fig = plot_comparison(table, "test CPU")
    try:
        assert "tiny-test" in fig._suptitle.get_text()
        scatter = fig.axes[1]
        renderer = fig.canvas.get_renderer()
        box = scatter.get_window_extent(renderer)
        names = [t for t in scatter.texts if t.get_text() in table.index]
        assert len(names) == len(table) - 1  # every row that ran but the coarse masks
        for t in names:
            bb = t.get_window_extent(renderer)
            assert box.x0 <= bb.x0 and bb.x1 <= box.x1, t.get_text()
    finally:
        plt.close(fig)
