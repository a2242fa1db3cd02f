"""Notebook tests: ``pytest --nbmake notebooks/`` executes the MyST-markdown notebooks.

nbmake collects only ``.ipynb`` files, and this project keeps its notebooks as MyST markdown
(jupytext). With ``--nbmake``, every ``notebooks/*.md`` file that carries a kernelspec in its
front matter becomes one test that runs it with nbclient (the engine nbmake uses) in
``notebooks/``, through the runner of ``make book`` (``book/execute_notebooks.py``), so it is
read and executed as in the book.

Time limits: none per cell (a correct but slow cell on a busy machine must not fail), unless
``--nbmake-timeout`` is given on the command line; a hung kernel is caught by a wall-clock limit
per notebook, ``SAMREFINER_NOTEBOOK_LIMIT`` seconds (default 1800; 0 for none), and the failure
names the cell that was running. ``--nbmake-kernel`` applies.

Unless ``SAMREFINER_SCALE`` is set, the notebooks run at ``smoke`` scale (seconds each).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

DEFAULT_SCALE = "smoke"
DEFAULT_NOTEBOOK_LIMIT_S = 1800
RUNNER = Path(__file__).resolve().parent / "book" / "execute_notebooks.py"


def _runner() -> ModuleType:
    """book/execute_notebooks.py, imported once (it is a script, not part of the package)."""
    name = "samrefiner_book_runner"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RUNNER)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


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
        runner = _runner()
        option = self.config.option
        # nbmake's --nbmake-timeout has a default (300 s per cell); only an explicit one counts.
        given = any(a.startswith("--nbmake-timeout") for a in self.config.invocation_params.args)
        limit = float(os.environ.get("SAMREFINER_NOTEBOOK_LIMIT", DEFAULT_NOTEBOOK_LIMIT_S))
        log_dir = Path(tempfile.gettempdir()) / "samrefiner-notebook-logs"
        log_path = log_dir / f"{self.path.stem}.log"
        saved = os.environ.get("SAMREFINER_SCALE")
        if saved is None:
            os.environ["SAMREFINER_SCALE"] = DEFAULT_SCALE
        try:
            runner.run_notebook(
                self.path,
                limit=limit or None,
                log_path=log_path,
                show_progress=False,
                cell_timeout=option.nbmake_timeout if given else None,
                kernel_name=option.nbmake_kernel or None,
            )
        except runner.NotebookFailed as exc:
            raise NotebookCellError(f"{exc}\n(kernel output: {exc.log_path})") from None
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
