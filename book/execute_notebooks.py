"""Execute the book's notebooks into Jupyter Book's execution cache, build the book, report.

``make book`` runs ``python book/execute_notebooks.py build``. Jupyter Book (myst-nb) would run
every notebook itself, with one time limit per cell, silently, and mixed with the kernel's
transport warnings when something goes wrong. This runner executes each notebook of the table
of contents that the execution cache does not hold yet, stores the result in that same cache
(``book/_build/.jupyter_cache``, matched by the same code hash myst-nb uses), and only then
calls ``jupyter-book build``, which finds every notebook cached and renders it. Along the way:

* **no per-cell limit**: a correct but slow cell on a busy machine must not fail the build. A
  hung kernel is caught by a wall-clock limit per notebook (``--limit``, default
  :data:`DEFAULT_LIMIT_S`; none at paper scale). When it is reached the kernel is interrupted
  (so the traceback shows the line it was stuck on), then killed if it does not answer, and the
  error names the notebook, the cell and how long each had run;
* **progress**: the notebook's tqdm bars (text bars on stderr, or the widgets of
  ``tqdm.auto`` under Jupyter) are echoed as one status line per notebook, with the running
  cell and its time; a cell without a bar still shows a heartbeat;
* **a readable log**: the kernel process's own output and the client's transport warnings (ZMQ,
  asyncio) go to ``book/_build/logs/<notebook>.log``; a failure prints the notebook, the cell,
  the traceback and the log's path, and that is the last thing printed;
* **a report**: the wall time of every notebook, from the execution cache, and where the HTML is.

``--chapter NAME`` executes and builds one chapter (plus the first page) into
``book/_build/chapter/``, sharing the execution cache with the full book.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

BOOK = Path(__file__).resolve().parent
BUILD = BOOK / "_build"
DEFAULT_LIMIT_S = 3600
"""Wall-clock limit per notebook at smoke and mini scale: a chapter takes about 5 minutes at
mini scale on an idle 2-core machine, so only a hung kernel gets near an hour."""
INTERRUPT_GRACE_S = 20.0
"""How long a kernel gets to answer an interrupt before it is killed."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# tqdm's meter: "4/10 [00:01<...", "3.2k/?it [00:01", "12 [00:03" (no total).
_METER = re.compile(r"\d[\d.]*[kMGT]?(?:/[\d.?]+[kMGT]?)?(?:it|B|img|file|[a-z]+)?\s*\[\d+:\d+")
_TAG = re.compile(r"<[^>]+>")


class NotebookFailed(RuntimeError):
    """A notebook raised, timed out or lost its kernel; the message names notebook and cell.

    Attributes:
      notebook: the notebook file.
      cell: 1-based number of the code cell that was running, or None before the first cell.
      timed_out: True when the per-notebook limit was reached.
      log_path: the file holding the kernel's output and the transport messages.
      summary: one line: notebook, cell and cause.
    """

    def __init__(
        self,
        message: str,
        notebook: Path,
        cell: int | None,
        timed_out: bool = False,
        log_path: Path | None = None,
        summary: str = "",
    ) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell
        self.timed_out = timed_out
        self.log_path = log_path
        self.summary = summary or message.splitlines()[0]


def _print_failure(exc: NotebookFailed, out: IO[str]) -> None:
    """The failure, with the notebook, cell and cause as the very last line."""
    print(f"\nbook: FAILED: {exc}", file=out)
    print(f"book: kernel output and transport messages: {exc.log_path}", file=out)
    print(f"book: the book was not built. FAILED: {exc.summary}", file=out, flush=True)


# --------------------------------------------------------------------------- the notebooks


def toc_files(toc: dict[str, Any]) -> list[str]:
    """Every ``file:`` of a Jupyter Book table of contents, in reading order, root first.

    Arguments:
      toc: the parsed ``_toc.yml``.

    Returns:
      list[str]: document names without suffix, relative to the book folder.
    """
    files = [str(toc["root"])]

    def walk(entries: list[dict[str, Any]] | None) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(str(entry["file"]))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return files


def _is_notebook(path: Path) -> bool:
    from myst_nb.core.read import is_myst_markdown_notebook

    if path.suffix == ".ipynb":
        return True
    return path.suffix == ".md" and is_myst_markdown_notebook(path.read_text(encoding="utf-8"))


def book_notebooks(book: Path = BOOK) -> list[Path]:
    """The notebooks of the book's table of contents that exist, in reading order.

    Arguments:
      book: the book folder (holding ``_toc.yml``).

    Returns:
      list[Path]: absolute paths below ``book`` (through ``book/notebooks``, the link Sphinx
      reads them through, so that cache records name the same files as myst-nb's).
    """
    import yaml

    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    found = []
    for doc in toc_files(toc):
        for suffix in (".md", ".ipynb"):
            path = book / f"{doc}{suffix}"
            if path.is_file() and _is_notebook(path):
                found.append(path.absolute())
                break
    return found


def read_notebook(path: Path) -> Any:
    """Read a notebook as myst-nb does, so that its code hash matches the book build's.

    Arguments:
      path: a MyST-markdown (``.md``) or ``.ipynb`` notebook.

    Returns:
      nbformat.NotebookNode: the notebook; MyST ones carry ``metadata.source_map``.
    """
    import nbformat

    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(
        path.read_text(encoding="utf-8"), add_source_map=True, path=str(path)
    )


def _cell_line(nb: Any, index: int) -> int | None:
    """1-based line of the file where cell ``index`` starts, when the reader recorded it."""
    source_map = nb.metadata.get("source_map")
    if source_map and index < len(source_map):
        return int(source_map[index]) + 1
    return None


# --------------------------------------------------------------------------- progress


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """One status line per notebook: the running cell, its time and its latest tqdm meter.

    On a terminal the line is redrawn in place (at most every second); in a log (no terminal)
    a line is printed when the meter changes, at most every ``log_interval`` seconds, and a
    heartbeat every ``heartbeat`` seconds while a cell runs without one.

    Arguments:
      name: notebook name for the prefix.
      n_cells: number of code cells.
      out: where to write (default: standard output).
      log_interval: seconds between printed meter lines when ``out`` is not a terminal.
      heartbeat: seconds of silence before a "still running" line when not a terminal.
      enabled: False to only keep track (pytest captures output anyway).
    """

    def __init__(
        self,
        name: str,
        n_cells: int,
        out: IO[str] | None = None,
        log_interval: float = 30.0,
        heartbeat: float = 60.0,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.name = name
        self.n_cells = n_cells
        self.out = out if out is not None else sys.stdout
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.log_interval = log_interval
        self.heartbeat = heartbeat
        self.cell: int | None = None
        self.first_line = ""
        self.cell_start = time.monotonic()
        self.meter = ""
        self._desc = ""
        self._last_print = 0.0
        self._dirty = False

    def cell_started(self, number: int, source: str) -> None:
        """A code cell (1-based ``number``) starts; its first line names it in the status."""
        self.cell = number
        lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
        self.first_line = lines[0][:60] if lines else ""
        self.cell_start = time.monotonic()
        self.meter = ""
        self._desc = ""

    def text(self, text: str) -> None:
        """Stream text from the kernel: keep the last tqdm meter it contains."""
        for segment in re.split(r"[\r\n]", text):
            segment = _ANSI.sub("", segment).strip()
            if segment and _METER.search(segment):
                self._set_meter(segment)

    def widget(self, state: dict[str, Any]) -> None:
        """A widget state update: tqdm.notebook puts "desc: 40%" and "4/10 [00:01<...]" into
        two HTML widgets next to its progress bar."""
        value = state.get("value")
        if not isinstance(value, str):
            return
        value = html.unescape(_TAG.sub("", value)).replace("\u2007", " ").strip()
        if not value:
            return
        if _METER.search(value):
            self._set_meter(f"{self._desc} {value}".strip())
        else:
            self._desc = value

    def _set_meter(self, meter: str) -> None:
        self.meter = meter
        self._dirty = True
        self.tick()

    def status(self) -> str:
        """The status line (without prefix decoration)."""
        where = f"cell {self.cell}/{self.n_cells}" if self.cell else "starting the kernel"
        elapsed = _fmt_time(time.monotonic() - self.cell_start)
        what = self.meter or self.first_line
        return f"[{self.name}] {where} ({elapsed}): {what}" if what else f"[{self.name}] {where}"

    def tick(self) -> None:
        """Redraw (terminal) or print when due (log); called on updates and every second."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            # Redraw each second for the clock, and on a new meter at most five times a second.
            if now - self._last_print >= 1.0 or (self._dirty and now - self._last_print >= 0.2):
                width = shutil.get_terminal_size((100, 20)).columns - 1
                self.out.write("\r" + self.status()[:width] + "\x1b[K")
                self.out.flush()
                self._last_print = now
                self._dirty = False
            return
        due = self._dirty and now - self._last_print >= self.log_interval
        silent = now - self._last_print >= self.heartbeat and self.cell is not None
        if due or silent:
            self.out.write(self.status() + "\n")
            self.out.flush()
            self._last_print = now
            self._dirty = False

    def close(self) -> None:
        """Clear the terminal status line."""
        if self.enabled and self.tty:
            self.out.write("\r\x1b[K")
            self.out.flush()


# --------------------------------------------------------------------------- execution


@contextlib.contextmanager
def _logs_to(path: Path) -> Iterator[IO[str]]:
    """Send this process's logging and warnings to ``path`` (and yield the open file, which the
    kernel process writes its own output to).

    The jupyter client logs transport trouble (ZMQ errors, messages after a kernel died) at
    WARNING level; without a handler, Python prints those on stderr, where they bury the one
    error that matters.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        saved = root.handlers[:], root.level
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                yield fh
        finally:
            logging.captureWarnings(False)
            root.handlers, level = saved
            root.setLevel(level)


def _client_class() -> type:
    from nbclient import NotebookClient

    class EchoingClient(NotebookClient):
        """nbclient's client, also handing stream text and widget updates to a Progress."""

        progress: Progress | None = None

        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
            if self.progress is not None and msg["msg_type"] == "stream":
                self.progress.text(msg["content"].get("text", ""))
            return super().output(outs, msg, display_id, cell_index)

        def handle_comm_msg(self, outs, msg, cell_index):  # type: ignore[no-untyped-def]
            if self.progress is not None:
                state = (msg["content"].get("data") or {}).get("state")
                if isinstance(state, dict):
                    self.progress.widget(state)
            return super().handle_comm_msg(outs, msg, cell_index)

    return EchoingClient


def _where(path: Path, nb: Any, cell_index: int | None, progress: Progress) -> str:
    """Notebook and running cell: number, line in the file and first line of code."""
    where = path.name
    if cell_index is not None and progress.cell is not None:
        line = _cell_line(nb, cell_index)
        at = f", line {line}" if line else ""
        where += f", code cell {progress.cell} of {progress.n_cells}{at}"
        if progress.first_line:
            where += f" ({progress.first_line})"
    return where


def _error_text(exc: BaseException) -> tuple[str, str]:
    """(one-line cause, full text) of an execution error, without terminal colour codes."""
    from nbclient.exceptions import CellExecutionError

    if isinstance(exc, CellExecutionError):
        # str() holds the cell's code, its stream output and IPython's coloured traceback.
        return f"{exc.ename}: {exc.evalue}", _ANSI.sub("", str(exc)).strip()
    cause = f"{type(exc).__name__}: {exc}"
    return cause, cause


async def _run(
    client: Any,
    limit: float | None,
    progress: Progress,
    log: IO[str],
) -> tuple[BaseException | None, bool]:
    """Execute with the wall-clock limit; return (error or None, whether the limit hit)."""

    async def ticker() -> None:
        while True:
            await asyncio.sleep(1.0)
            progress.tick()

    tick = asyncio.ensure_future(ticker())
    task = asyncio.ensure_future(client.async_execute(stdout=log, stderr=log))
    timed_out = False
    try:
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            timed_out = True
            # An interrupt makes a responsive kernel raise KeyboardInterrupt at the line it is
            # on, which the traceback then shows; a wedged one is killed.
            with contextlib.suppress(Exception):
                await client.km.interrupt_kernel()
            done, _ = await asyncio.wait({task}, timeout=INTERRUPT_GRACE_S)
            if not done:
                client.shutdown_kernel = "immediate"
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return None, True
        exc = task.exception()
        # A notebook that ended by itself within the grace period is a success.
        return exc, timed_out and exc is not None
    finally:
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick


def run_notebook(
    path: Path,
    *,
    limit: float | None = DEFAULT_LIMIT_S,
    log_path: Path,
    show_progress: bool = True,
    cell_timeout: int | None = None,
    kernel_name: str | None = None,
    out: IO[str] | None = None,
) -> tuple[Any, float]:
    """Execute one notebook in its own folder, as Jupyter Book does, under a wall-clock limit.

    Arguments:
      path: the notebook.
      limit: seconds for the whole notebook, or None for no limit.
      log_path: file for the kernel's output and the client's warnings.
      show_progress: echo the status line (see :class:`Progress`).
      cell_timeout: seconds per cell (nbclient's ``timeout``); None for no per-cell limit.
      kernel_name: kernel to use instead of the notebook's kernelspec.
      out: where progress goes (default: standard output).

    Returns:
      tuple: (the executed notebook, wall seconds).
    """
    nb = read_notebook(path)
    execution = nb.metadata.get("execution", {})
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    progress = Progress(path.stem, len(code_cells), out=out, enabled=show_progress)
    running: dict[str, int | None] = {"index": None}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        if cell.cell_type == "code":
            running["index"] = cell_index
            progress.cell_started(code_cells.index(cell_index) + 1, cell.source)
            progress.tick()

    client_class = _client_class()
    kwargs: dict[str, Any] = {
        "timeout": cell_timeout,
        "startup_timeout": 300,  # a busy 2-core machine can take a minute to start a kernel
        "allow_errors": bool(execution.get("allow_errors", False)),
        # The cache hashes cell metadata too; timings there would make the stored notebook
        # match no later read of the file (myst-nb does not record them either).
        "record_timing": False,
        "resources": {"metadata": {"path": str(path.parent)}},
        "on_cell_start": on_cell_start,
        "log": logging.getLogger("book.nbclient"),
    }
    if kernel_name:
        kwargs["kernel_name"] = kernel_name
    client = client_class(nb, **kwargs)
    client.progress = progress
    start = time.monotonic()
    with _logs_to(log_path) as log:
        error, timed_out = asyncio.run(_run(client, limit, progress, log))
    seconds = time.monotonic() - start
    progress.close()
    if timed_out or error is not None:
        where = _where(path, nb, running["index"], progress)
        cause, detail = _error_text(
            error or TimeoutError("the kernel did not answer an interrupt and was killed")
        )
        if timed_out:
            cell_time = _fmt_time(time.monotonic() - progress.cell_start)
            summary = f"{where}: still running after the limit of {_fmt_time(limit or 0)}"
            detail = (
                f"{path.name} was still running after the limit of {_fmt_time(limit or 0)} per "
                f"notebook; the running cell had run for {cell_time}. If the machine is just "
                f"slow, raise the limit (make book BOOK_LIMIT=<seconds>, 0 for none).\n{detail}"
            )
        else:
            summary = f"{where}: {cause}"
        raise NotebookFailed(
            f"{where}\n{detail}", path, progress.cell if running["index"] is not None else None,
            timed_out=timed_out, log_path=log_path, summary=summary,
        )
    return nb, seconds


# --------------------------------------------------------------------------- the cache


def _cache(path: Path) -> Any:
    from jupyter_cache import get_cache

    return get_cache(str(path))


def cached_record(cache: Any, nb: Any) -> Any | None:
    """The cache record matching a notebook's code, or None."""
    try:
        return cache.match_cache_notebook(nb)
    except KeyError:
        return None


def store(cache: Any, path: Path, nb: Any, seconds: float) -> None:
    """Store an executed notebook as myst-nb would, so ``jupyter-book build`` reuses it."""
    from jupyter_cache.base import CacheBundleIn

    read_data = None if path.suffix == ".ipynb" else {"type": "plugin", "name": "myst_nb_md"}
    if read_data is None:
        record = cache.add_nb_to_project(str(path))
    else:
        record = cache.add_nb_to_project(str(path), read_data=read_data)
    cache.cache_notebook_bundle(
        CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds}),
        check_validity=False,
        overwrite=True,
    )


def execute_all(
    notebooks: list[Path],
    cache_path: Path,
    *,
    limit: float | None,
    log_dir: Path,
    out: IO[str] | None = None,
) -> None:
    """Execute every notebook the cache does not hold, in order; stop at the first failure.

    Arguments:
      notebooks: the notebooks.
      cache_path: the Jupyter Book execution cache.
      limit: seconds per notebook, or None.
      log_dir: folder of the per-notebook logs.
      out: where progress goes.
    """
    out = out if out is not None else sys.stdout
    cache = _cache(cache_path)
    todo = [p for p in notebooks if cached_record(cache, read_notebook(p)) is None]
    if not todo:
        print(f"book: all {len(notebooks)} notebooks are in the execution cache", file=out)
        return
    cap = f"limit {_fmt_time(limit)} per notebook" if limit else "no time limit"
    print(
        f"book: executing {len(todo)} of {len(notebooks)} notebooks ({cap}; logs in {log_dir})",
        file=out,
        flush=True,
    )
    for i, path in enumerate(todo, 1):
        nb, seconds = run_notebook(path, limit=limit, log_path=log_dir / f"{path.stem}.log",
                                   out=out)  # fmt: skip
        store(cache, path, nb, seconds)
        print(f"book: [{i}/{len(todo)}] {path.stem} done in {_fmt_time(seconds)}", file=out,
              flush=True)  # fmt: skip


def report(notebooks: list[Path], cache_path: Path, html_index: Path) -> str:
    """Wall time of every notebook from the execution cache, and where the HTML is.

    Arguments:
      notebooks: the notebooks of the build.
      cache_path: the execution cache.
      html_index: the built ``index.html`` (or chapter page).

    Returns:
      str: the report, several lines.
    """
    cache = _cache(cache_path)
    width = max([len(p.stem) for p in notebooks] + [10])
    lines = [f"book: notebook wall times (execution cache {cache_path})"]
    total = 0.0
    for path in notebooks:
        record = cached_record(cache, read_notebook(path))
        seconds = record.data.get("execution_seconds") if record is not None else None
        if seconds is None:
            lines.append(f"  {path.stem:<{width}}  not in the cache")
            continue
        total += float(seconds)
        when = record.created.strftime("%Y-%m-%d %H:%M")
        lines.append(f"  {path.stem:<{width}}  {_fmt_time(float(seconds)):>8}  (run {when})")
    lines.append(f"  {'total':<{width}}  {_fmt_time(total):>8}")
    lines.append(f"book: the book is at {html_index}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- build


def _chapter_files(book: Path, chapter: str) -> tuple[Path, Path, Path, list[Path]]:
    """Write the table of contents and configuration of a one-chapter build.

    Returns:
      tuple: (toc file, config file, output folder, the chapter's notebook in a list).
    """
    import yaml

    notebooks = book_notebooks(book)
    wanted = Path(chapter).stem
    match = [p for p in notebooks if p.stem == wanted or p.stem.startswith(wanted + "_")]
    if len(match) != 1:
        names = ", ".join(p.stem for p in notebooks)
        raise SystemExit(f"book: --chapter {chapter!r} matches {len(match)} notebooks; one of "
                         f"{names}")  # fmt: skip
    nb_path = match[0]
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    doc = nb_path.relative_to(book).with_suffix("").as_posix()
    out_dir = book / "_build" / "chapter"
    out_dir.mkdir(parents=True, exist_ok=True)
    # The other pages that are not notebooks come along (cheap, and the references page holds
    # the bibliography that every chapter cites); links to other chapters stay unresolved.
    pages = [f for f in toc_files(toc)[1:] if not any(
        (book / f"{f}{suffix}").is_file() and _is_notebook(book / f"{f}{suffix}")
        for suffix in (".md", ".ipynb")
    )]  # fmt: skip
    chapter_toc = {"format": toc.get("format", "jb-book"), "root": toc["root"],
                   "chapters": [{"file": f} for f in [doc, *pages]]}  # fmt: skip
    toc_path = out_dir / "_toc.yml"
    toc_path.write_text(yaml.safe_dump(chapter_toc, sort_keys=False), encoding="utf-8")
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    # Share the full book's execution cache: what this build executes, the full one reuses.
    config.setdefault("execute", {})["cache"] = str(book / "_build" / ".jupyter_cache")
    config_path = out_dir / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return toc_path, config_path, out_dir, [nb_path]


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def _default_limit() -> float | None:
    scale = os.environ.get("SAMREFINER_SCALE", "mini")
    return None if scale == "paper" else float(DEFAULT_LIMIT_S)


def build(
    book: Path = BOOK,
    *,
    chapter: str | None = None,
    limit: float | None = None,
    strict: bool = False,
    out: IO[str] | None = None,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
) -> int:
    """Execute what the cache lacks, run ``jupyter-book build``, print the report.

    Arguments:
      book: the book folder.
      chapter: build only this notebook (name, e.g. ``02`` or ``02_table1_prompt_ablation``).
      limit: seconds per notebook (None: no limit).
      strict: warnings are errors (``-W -n --keep-going``).
      out: where messages go.
      run: how to run the ``jupyter-book`` command.

    Returns:
      int: exit status (0 built; 1 a notebook failed or Sphinx did).
    """
    out = out if out is not None else sys.stdout
    cache_path = book / "_build" / ".jupyter_cache"
    # -q: Sphinx's warnings and errors only, not its page-by-page status lines.
    cmd = [_jupyter_book(), "build", str(book), "-q"]
    if chapter:
        toc_path, config_path, out_dir, notebooks = _chapter_files(book, chapter)
        cmd += ["--toc", str(toc_path), "--config", str(config_path),
                "--path-output", str(out_dir)]  # fmt: skip
        doc = notebooks[0].relative_to(book).with_suffix(".html")
        html_index = out_dir / "_build" / "html" / doc
    else:
        notebooks = book_notebooks(book)
        html_index = book / "_build" / "html" / "index.html"
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    try:
        execute_all(notebooks, cache_path, limit=limit, log_dir=book / "_build" / "logs",
                    out=out)  # fmt: skip
    except NotebookFailed as exc:
        _print_failure(exc, out)
        return 1
    print("book: " + " ".join(cmd[1:]), file=out, flush=True)
    proc = run(cmd, check=False)
    if proc.returncode != 0:
        print(f"book: jupyter-book build failed (exit status {proc.returncode}); see above",
              file=out, flush=True)  # fmt: skip
        return 1
    print(report(notebooks, cache_path, html_index.resolve()), file=out, flush=True)
    return 0


def _limit_arg(value: str) -> float:
    seconds = float(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError("the limit must be >= 0 (0 = no limit)")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build`` (the default), ``execute`` or ``report``.

    Arguments:
      argv: arguments (default: ``sys.argv[1:]``).

    Returns:
      int: exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python book/execute_notebooks.py",
        description="Execute the book's notebooks into the execution cache (no per-cell time "
                    "limit, one per notebook), build the book and report each notebook's time.",
        epilog="example: SAMREFINER_SCALE=smoke python book/execute_notebooks.py build "
               "--chapter 00_quickstart",
    )  # fmt: skip
    parser.add_argument("command", nargs="?", default="build",
                        choices=("build", "execute", "report"))  # fmt: skip
    parser.add_argument("--chapter", default=None,
                        help="only this notebook, e.g. 02 or 02_table1_prompt_ablation")
    parser.add_argument("--limit", type=_limit_arg, default=None, metavar="SECONDS",
                        help=f"wall-clock limit per notebook; 0 for none (default: "
                             f"{DEFAULT_LIMIT_S}, none at SAMREFINER_SCALE=paper)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="Sphinx warnings are errors")
    args = parser.parse_args(argv)
    limit = _default_limit() if args.limit is None else (args.limit or None)
    if args.command == "build":
        return build(BOOK, chapter=args.chapter, limit=limit, strict=args.strict)
    notebooks = _chapter_files(BOOK, args.chapter)[3] if args.chapter else book_notebooks(BOOK)
    cache_path = BUILD / ".jupyter_cache"
    if args.command == "execute":
        try:
            execute_all(notebooks, cache_path, limit=limit, log_dir=BUILD / "logs")
        except NotebookFailed as exc:
            _print_failure(exc, sys.stdout)
            return 1
        return 0
    print(report(notebooks, cache_path, (BUILD / "html" / "index.html").resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
