"""Book tables: captions, the paper column, no cut cells."""

from __future__ import annotations

import pandas as pd
import pytest

from samrefiner_lib.reporting import captioned, with_paper


def test_with_paper_adds_one_column_and_rejects_unknown_rows():
    ours = pd.DataFrame({"IoU": [81.5, 82.7]}, index=["coarse", "all prompts"])
    out = with_paper(ours, {"all prompts": 86.9}, "paper (ViT-H)")
    assert list(out.columns) == ["IoU", "paper (ViT-H)"]
    assert out.loc["all prompts", "paper (ViT-H)"] == 86.9
    assert out.loc["coarse", "paper (ViT-H)"] == ""
    assert "paper (ViT-H)" not in ours.columns  # a copy, the input is left alone
    with pytest.raises(KeyError, match="missing row"):
        with_paper(ours, {"missing row": 1.0})


def test_captioned_keeps_long_text_whole_and_pads_cells():
    long = "paper (use_box=False, use_mask=False, use_point=True, a label longer than fifty chars)"
    html = captioned(pd.DataFrame({"setting": [long], "IoU": [81.456]}), "model x, scale mini"
                     ).to_html()
    assert long in html and "..." not in html
    assert "<caption>model x, scale mini</caption>" in html
    assert "81.46" in html and "81.456" not in html
    assert "padding" in html
