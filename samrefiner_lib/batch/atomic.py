"""Atomic file writes: a reader (or a rerun after a crash) sees the old file or the new one,
never half of one.

Each write goes to a temporary file in the same folder and is renamed over the target
(``os.replace`` is atomic on POSIX and Windows within one file system). A process killed with
SIGKILL can leave a stray temporary file behind, which the next write of that target
overwrites; it never leaves a truncated target. (Power loss would additionally need fsync; a
killed process does not.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders are created).

    Arguments:
      path: target file.
      data: the bytes to write.

    Returns:
      Path: ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pid keeps two processes that happen to write the same target from sharing a temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def dumps_canonical(obj: Any, indent: int | None = None) -> str:
    """JSON text that depends only on ``obj``: fixed separators, ASCII only, NaN refused."""
    if indent is None:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return json.dumps(obj, ensure_ascii=True, indent=indent, allow_nan=False)


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = None) -> Path:
    """Write ``obj`` as canonical JSON (see :func:`dumps_canonical`) atomically, newline-ended.

    Arguments:
      path: target file.
      obj: JSON-serialisable value (no NaN: use None).
      indent: pretty-print indent, or None for compact output.

    Returns:
      Path: ``path``.
    """
    return write_bytes_atomic(path, (dumps_canonical(obj, indent) + "\n").encode("ascii"))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (UTF-8)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
