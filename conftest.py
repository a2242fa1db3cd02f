"""Notebook tests: ``pytest --nbmake notebooks/`` executes the MyST-markdown notebooks.

nbmake collects only ``.ipynb`` files, and this project keeps its notebooks as MyST markdown
(jupytext). With ``--nbmake``, every ``notebooks/*.md`` file that carries a kernelspec in its
front matter becomes one test that converts it in memory with jupytext and runs it with nbclient
(the engine nbmake uses) in ``notebooks/``, as Jupyter Book does. nbmake's options
``--nbmake-timeout`` (seconds per cell) and ``--nbmake-kernel`` apply.

Unless ``SAMREFINER_SCALE`` is set, the notebooks run at ``smoke`` scale (seconds each).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_SCALE = "smoke"


def _is_myst_notebook(path: Path) -> bool:
    """A markdown file in a ``notebooks`` folder whose front matter names a kernel."""
    if path.suffix != ".md" or path.parent.name != "notebooks" or "_build" in path.parts:
        return False
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    front, sep, _ = text[3:].partition("\n---")
    return bool(sep) and "kernelspec:" in front


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if getattr(parent.config.option, "nbmake", False) and _is_myst_notebook(file_path):
        return MystNotebookFile.from_parent(parent, path=file_path)
    return None


class MystNotebookFile(pytest.File):
    def collect(self):
        yield MystNotebookItem.from_parent(self, name="execute")


class NotebookCellError(Exception):
    """A cell raised or timed out; the message holds the cell and its traceback."""


class MystNotebookItem(pytest.Item):
    def runtest(self) -> None:
        import jupytext
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError

        option = self.config.option
        nb = jupytext.read(self.path)
        kernel = option.nbmake_kernel or nb.metadata.get("kernelspec", {}).get("name", "python3")
        client = NotebookClient(
            nb,
            timeout=option.nbmake_timeout,
            kernel_name=kernel,
            resources={"metadata": {"path": str(self.path.parent)}},
        )
        saved = os.environ.get("SAMREFINER_SCALE")
        if saved is None:
            os.environ["SAMREFINER_SCALE"] = DEFAULT_SCALE
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError) as exc:
            raise NotebookCellError(str(exc)) from None
        finally:
            if saved is None:
                os.environ.pop("SAMREFINER_SCALE", None)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookCellError):
            return f"{self.path.name} failed:\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        scale = os.environ.get("SAMREFINER_SCALE", DEFAULT_SCALE)
        return self.path, None, f"{self.path.name} (SAMREFINER_SCALE={scale})"
