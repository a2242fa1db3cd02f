"""book/execute_notebooks.py: the runner behind `make book`, on tiny notebooks in tmp_path.

The tests that start a kernel are marked slow (each takes a few seconds); the others check the
table of contents, the progress parsing and the command line without one.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_runner():
    spec = importlib.util.spec_from_file_location(
        "book_execute_notebooks", REPO / "book" / "execute_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


runner = _load_runner()

FRONT = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}
"""


def _notebook(path: Path, *cells: str, title: str = "T") -> Path:
    body = FRONT.format(title=title)
    for code in cells:
        body += f"\nSome text.\n\n```{{code-cell}} ipython3\n{textwrap.dedent(code).strip()}\n```\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _book(tmp_path: Path, *chapters: tuple[str, tuple[str, ...]]) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    (book / "intro.md").write_text("# Intro\n", encoding="utf-8")
    files = []
    for name, cells in chapters:
        _notebook(book / "notebooks" / f"{name}.md", *cells, title=name)
        files.append(f"      - file: notebooks/{name}")
    toc = "format: jb-book\nroot: intro\nparts:\n  - caption: C\n    chapters:\n"
    (book / "_toc.yml").write_text(toc + "\n".join(files) + "\n", encoding="utf-8")
    (book / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: cache\n",
                                      encoding="utf-8")  # fmt: skip
    return book


class _FakeJupyterBook:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, cmd, check=False):
        self.calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)


# --------------------------------------------------------------------------- no kernel


def test_book_notebooks_follow_the_table_of_contents():
    notebooks = runner.book_notebooks()
    names = [p.stem for p in notebooks]
    assert names[0] == "00_quickstart" and "02_table1_prompt_ablation" in names
    assert names == sorted(names)  # the toc lists chapters in the order of their numbers
    assert all(p.parent == REPO / "book" / "notebooks" for p in notebooks)  # as Sphinx sees them
    assert "intro" not in names and "references" not in names  # pages, not notebooks


def test_config_has_no_per_cell_limit():
    import yaml

    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["timeout"] == -1
    assert "timeout:" not in (REPO / "Makefile").read_text(encoding="utf-8")


def test_progress_reads_text_bars_and_tqdm_widgets():
    out = io.StringIO()
    p = runner.Progress("nb", 3, out=out, log_interval=0.0)
    p.cell_started(2, "\n  results = evaluate(samples)\n")
    assert "cell 2/3" in p.status() and "results = evaluate(samples)" in p.status()
    p.text("evaluate:  10%|#         | 1/10 [00:01<00:09,  1.00it/s]\r"
           "evaluate:  20%|##        | 2/10 [00:02<00:08,  1.00it/s]")  # fmt: skip
    assert "2/10 [00:02" in p.status()
    p.text("a plain print\n")  # not a meter: the status keeps the bar
    assert "2/10" in p.status()
    # tqdm.notebook: description and meter in two HTML widgets, spaces as U+2007.
    p.widget({"value": "adapt\u2007IoU\u2007head:\u2007\u200740%"})
    p.widget({"value": "\u20074/10\u2007[00:01&lt;00:02,\u2007\u20073.9it/s]"})
    assert "adapt IoU head:  40% 4/10 [00:01<00:02,  3.9it/s]" in p.status()
    p.widget({"value": 4})  # the progress bar's number: ignored
    printed = out.getvalue()
    assert printed.count("\n") >= 2 and "[nb] cell 2/3" in printed  # a log, not a terminal


def test_chapter_build_shares_the_cache_and_lists_one_chapter(tmp_path):
    import yaml

    book = _book(tmp_path, ("01_a", ("x = 1",)), ("02_b", ("y = 2",)))
    (book / "references.md").write_text("# References\n", encoding="utf-8")
    with open(book / "_toc.yml", "a", encoding="utf-8") as fh:
        fh.write("  - caption: R\n    chapters:\n      - file: references\n")
    toc_path, config_path, out_dir, notebooks = runner._chapter_files(book, "02")
    assert [p.stem for p in notebooks] == ["02_b"]
    toc = yaml.safe_load(toc_path.read_text())
    assert toc["root"] == "intro"
    assert toc["chapters"] == [{"file": "notebooks/02_b"}, {"file": "references"}]
    config = yaml.safe_load(config_path.read_text())
    assert config["execute"]["cache"] == str(book / "_build" / ".jupyter_cache")
    with pytest.raises(SystemExit, match="matches 0 notebooks"):
        runner._chapter_files(book, "99")


def test_command_line_help_leads_with_an_example():
    out = subprocess.run([sys.executable, str(REPO / "book" / "execute_notebooks.py"), "--help"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0 and "example:" in out.stdout and "--limit" in out.stdout


# --------------------------------------------------------------------------- with a kernel


@pytest.mark.slow
def test_build_executes_into_the_cache_then_reports(tmp_path):
    book = _book(tmp_path, ("01_bars", (
        """
        import os, sys
        from tqdm import tqdm
        for _ in tqdm(range(3), desc="work", file=sys.stderr, mininterval=0):
            pass
        """,
        "os.write(2, b'noise from the kernel process\\n'); print('visible output')",
    )))  # fmt: skip
    fake = _FakeJupyterBook()
    out = io.StringIO()
    assert runner.build(book, limit=120, out=out, run=fake) == 0
    text = out.getvalue()
    assert "executing 1 of 1 notebooks" in text and "01_bars done in" in text
    assert "noise from the kernel process" not in text  # went to the log file instead
    log = (book / "_build" / "logs" / "01_bars.log").read_text()
    assert "noise from the kernel process" in log
    assert fake.calls and fake.calls[0][1:4] == ["build", str(book), "-q"]
    # The report comes last: the notebook's wall time from the cache, then where the HTML is.
    tail = text.strip().splitlines()
    assert tail[-1] == f"book: the book is at {(book / '_build/html/index.html').resolve()}"
    assert any(line.split()[0] == "01_bars" and "(run " in line for line in tail[-4:])
    # The cache holds the outputs, matched by the same reader myst-nb uses.
    cache = runner._cache(book / "_build" / ".jupyter_cache")
    nb_path = book / "notebooks" / "01_bars.md"
    record = runner.cached_record(cache, runner.read_notebook(nb_path))
    assert record is not None and record.data["execution_seconds"] > 0
    _, executed = cache.merge_match_into_notebook(runner.read_notebook(nb_path))
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert any("visible output" in o.get("text", "") for o in outputs)
    # Second build: nothing to execute.
    out2 = io.StringIO()
    assert runner.build(book, limit=120, out=out2, run=fake) == 0
    assert "all 1 notebooks are in the execution cache" in out2.getvalue()


@pytest.mark.slow
def test_failing_cell_is_named_last_and_the_book_is_not_built(tmp_path):
    book = _book(tmp_path, ("01_fails", ("x = 1", "raise ValueError('boom in cell two')", "z = 3")))
    fake = _FakeJupyterBook()
    out = io.StringIO()
    assert runner.build(book, limit=120, out=out, run=fake) == 1
    assert fake.calls == []
    tail = out.getvalue().strip().splitlines()
    failure = "\n".join(tail[tail.index(next(t for t in tail if "FAILED" in t)):])
    assert "01_fails.md, code cell 2 of 3, line 23 (raise ValueError" in failure
    assert "ValueError: boom in cell two" in failure and "\x1b[" not in failure
    assert tail[-2].startswith("book: kernel output and transport messages: ")
    assert tail[-1] == ("book: the book was not built. FAILED: 01_fails.md, code cell 2 of 3, "
                        "line 23 (raise ValueError('boom in cell two')): ValueError: boom in "
                        "cell two")  # fmt: skip


@pytest.mark.slow
def test_notebook_limit_interrupts_and_names_the_running_cell(tmp_path):
    nb = _notebook(tmp_path / "nbs" / "slow.md", "x = 1", "import time\ntime.sleep(120)")
    with pytest.raises(runner.NotebookFailed) as err:
        runner.run_notebook(nb, limit=4, log_path=tmp_path / "slow.log", show_progress=False)
    msg = str(err.value)
    assert err.value.timed_out and err.value.cell == 2
    assert "still running after the limit of 4 s" in msg and "BOOK_LIMIT" in msg
    assert "slow.md, code cell 2 of 2" in msg and "KeyboardInterrupt" in msg
    assert "time.sleep(120)" in msg  # the traceback shows the line it was stuck on
    assert err.value.summary == "slow.md, code cell 2 of 2, line 23 (import time): still running "\
        "after the limit of 4 s"


@pytest.mark.slow
def test_tqdm_widget_bars_reach_the_status_line(tmp_path, monkeypatch):
    seen: list[str] = []
    real = runner.Progress._set_meter
    monkeypatch.setattr(runner.Progress, "_set_meter",
                        lambda self, meter: (seen.append(meter), real(self, meter)))  # fmt: skip
    nb = _notebook(tmp_path / "nbs" / "w.md", """
        from tqdm.auto import tqdm  # a widget under Jupyter (ipywidgets is in the book extra)
        for _ in tqdm(range(4), desc="widget work"):
            pass
        """)  # fmt: skip
    runner.run_notebook(nb, limit=120, log_path=tmp_path / "w.log", out=io.StringIO())
    assert seen and seen[-1].startswith("widget work: 100% 4/4 [")
