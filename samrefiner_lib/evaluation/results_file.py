"""One results table per protocol, written as JSON or CSV with everything that produced it.

Every protocol (instance IoU, COCO AP, VOC mIoU) ends in a :class:`ProtocolResult`: a table with
one row per method, the description and configuration of each method, and ``info`` (dataset,
protocol, seed, model, software versions, notes). :func:`write_results` writes it:

* ``.json``: ``{"info": ..., "methods": {name: {"label", "kind", "config"}}, "table": [rows]}``
  (NaN written as null).
* ``.csv``: the table, one row per method, with the run facts repeated on every row
  (``config`` and ``software`` as JSON strings) so a row read alone still says what produced it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = (".json", ".csv")


@dataclass
class ProtocolResult:
    """The outcome of one evaluation protocol.

    Attributes:
      table: one row per method, indexed by method name (the coarse input is a row too).
      methods: method name -> ``{"label", "kind", "config"}``.
      info: run facts (dataset, protocol, seed, limit, model, software, notes, ...).
      per_object: optional finer-grained records (one per object or image).
    """

    table: pd.DataFrame
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    per_object: pd.DataFrame | None = None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    # pandas writes NaN as null; json.dumps would write the invalid token NaN.
    return json.loads(df.reset_index().to_json(orient="records"))


def _clean(value: Any) -> Any:
    """NaN/inf floats -> None, recursively, so the JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def check_results_path(path: str | os.PathLike, what: str = "--out") -> Path:
    """The results path, or a ValueError naming ``what`` when its suffix is not .json/.csv."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValueError(f"{what}: results file must end in .json or .csv, got {str(p)!r}")
    return p


def write_results(result: ProtocolResult, path: str | os.PathLike,
                  per_object_path: str | os.PathLike | None = None) -> Path:
    """Write a protocol result (format chosen by the suffix), atomically.

    Arguments:
      result: the table, methods and run facts.
      path: ``*.json`` or ``*.csv``.
      per_object_path: also write ``result.per_object`` as CSV here (if it has any).

    Returns:
      Path: ``path``.
    """
    p = check_results_path(path)
    if p.suffix.lower() == ".json":
        payload = _clean({"info": result.info, "methods": result.methods,
                          "table": _records(result.table)})
        _atomic_write(p, json.dumps(payload, indent=2, default=str, allow_nan=False) + "\n")
    else:
        df = result.table.reset_index()
        df["config"] = [json.dumps(result.methods.get(m, {}).get("config"), default=str)
                        for m in df[df.columns[0]]]
        for key, value in result.info.items():
            if key not in df.columns:
                df[key] = (json.dumps(value, default=str) if isinstance(value, (dict, list))
                           else value)
        _atomic_write(p, df.to_csv(index=False))
    if per_object_path is not None and result.per_object is not None:
        _atomic_write(Path(per_object_path), result.per_object.to_csv(index=False))
    return p
