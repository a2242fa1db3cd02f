"""Reported numbers of the paper and labels for this project's own numbers.

``samrefiner_lib/data/paper_numbers.csv`` records every number the paper reports that this
project compares against, with how sure we are of it (several independent reviews agree, or a
single source). Tables in the book put them beside our numbers, never in place of them, and
every number of ours carries the scale, model, data and preset that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources

import pandas as pd

#: Scales a notebook can run at.
SCALES = ("smoke", "mini", "paper")


def paper_numbers(table: str | None = None) -> pd.DataFrame:
    """The paper's reported numbers (optionally of one table, e.g. ``"Table 1"``).

    Columns: id, table, dataset, setting, metric, value (float or NaN for qualitative
    findings), value_text (as reported), confidence.
    """
    with (resources.files("samrefiner_lib") / "data" / "paper_numbers.csv").open() as f:
        df = pd.read_csv(f)
    if table is not None:
        df = df[df["table"] == table]
        if df.empty:
            raise KeyError(f"no reported numbers for {table!r}")
    return df.reset_index(drop=True)


def paper_value(number_id: str) -> float:
    """One reported number by its id (see the CSV)."""
    df = paper_numbers()
    row = df[df["id"] == number_id]
    if row.empty:
        raise KeyError(f"unknown reported number {number_id!r}")
    return float(row["value"].iloc[0])


@dataclass(frozen=True)
class RunLabel:
    """What produced a number of ours.

    Attributes:
      scale: ``smoke``, ``mini`` or ``paper``.
      model: model name (and checkpoint when not the shipped one).
      data: dataset and protocol.
      preset: the refiner configuration label (``RefinerConfig.describe()``).
    """

    scale: str
    model: str
    data: str
    preset: str

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")

    def __str__(self) -> str:
        return (f"this project, scale={self.scale}, model={self.model}, data={self.data}, "
                f"preset={self.preset}")

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def side_by_side(ours: pd.DataFrame, reported: pd.DataFrame, label: RunLabel,
                 on: str = "setting") -> pd.DataFrame:
    """Our numbers and the reported ones in one table, each row saying where it comes from.

    Arguments:
      ours: rows with a column ``on`` and metric columns.
      reported: rows of :func:`paper_numbers` (columns ``on``, value_text, confidence).
      label: what produced ``ours``.

    Returns:
      DataFrame with a ``source`` column: "reported by the paper (<confidence>)" or the label.
    """
    a = ours.copy()
    a.insert(0, "source", str(label))
    b = reported[[on, "metric", "value_text", "confidence"]].copy()
    b.insert(0, "source", "reported by the paper (" + b.pop("confidence") + ")")
    return pd.concat([b, a], ignore_index=True)


#: How a reported number is drawn on a figure: one look across the book.
PAPER_MARKER = {"marker": "X", "s": 90, "color": "black", "zorder": 5}
PAPER_LINE = {"color": "black", "ls": ":", "lw": 1.5}


def with_paper(ours: pd.DataFrame, reported: dict[str, str | float],
               column: str = "paper") -> pd.DataFrame:
    """Our table with the paper's number for each row in one more column (blank where the
    paper gives none).

    Arguments:
      ours: a table indexed by row label.
      reported: row label -> the paper's number (a float, or its text for a qualitative finding).
      column: the new column's name (say which metric and model when it is not obvious).

    Returns:
      a copy of ``ours`` with ``column`` added last.
    """
    unknown = sorted(set(reported) - set(ours.index))
    if unknown:
        raise KeyError(f"reported numbers for rows the table lacks: {unknown}")
    out = ours.copy()
    out[column] = [reported.get(k, "") for k in out.index]
    return out


def captioned(table: pd.DataFrame, caption: str, precision: int = 2, index: bool = True):
    """A table for the book: its shared label as a caption above it, numbers rounded, no cell
    ever cut short (pandas' plain display cuts long text with "...").

    Arguments:
      table: the table.
      caption: what every row shares (scale, model, data, preset), shown once above it.
      precision: decimals of floats.
      index: show the row labels.

    Returns:
      pandas Styler (rendered as HTML by Jupyter and the book).
    """
    style = (table.style.format(precision=precision, na_rep="")
             .set_caption(caption)
             .set_table_styles([{"selector": "caption",
                                 "props": "caption-side: top; text-align: left; "
                                          "font-size: 0.9em; color: #444;"},
                                # The book's theme sets no cell padding: adjacent numbers
                                # would run together ("81.558.7").
                                {"selector": "td, th", "props": "padding: 0.2em 0.7em;"},
                                {"selector": "td", "props": "text-align: right;"}]))
    return style if index else style.hide(axis="index")
