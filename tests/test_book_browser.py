"""The book: its table of contents, its commands, and its pages in a real browser.

The browser tests build a small book (the intro, the quickstart chapter, the paper-scale page and
the references) at smoke scale into a temporary folder, with the book's own configuration, and
open every page in headless Chromium (the Debian package, driven by the ``playwright`` Python
package; its own browser download is never used). Each page must load with all its files, show
its figures, render its math with the MathJax copy served by the book, show no notebook error,
make no request outside the book, cut no table cell short with "..." and hold no table wider
than its column of text at 1400 px. Screenshots go to ``book/_build/screenshots/``.

Set ``SAMREFINER_BOOK_HTML=book/_build/html`` to check a book built by ``make book`` instead:
then every chapter listed in the table of contents that exists is opened.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = BOOK / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("SAMREFINER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MATHJAX_DIR = BOOK / "_vendor" / "_static" / "mathjax"
SMALL_BOOK = ["intro", "notebooks/00_quickstart", "reproduce_paper_scale", "references"]
BUILD_TIMEOUT_S = 900
#: The page width a reader of the book is assumed to have.
VIEWPORT_WIDTH = 1400
# Jupyter Book 1 with Sphinx 7.4 writes the inline configuration script of sphinx-thebe twice;
# the second copy redeclares a constant and fails, with no effect on the page (the first copy
# ran, and the live-code feature is switched off in book/_config.yml).
KNOWN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


# --------------------------------------------------------------------------------------------
# Table of contents and commands (no browser needed)


def _toc_files(toc: dict) -> list[str]:
    """Every ``file`` entry of a jb-book table of contents, in order (root first)."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _notebooks_present() -> list[str]:
    """Docnames (``notebooks/<stem>``) of the MyST notebooks in notebooks/."""
    found = []
    for path in sorted(NOTEBOOKS.glob("*.md")):
        head = path.read_text(encoding="utf-8")[:2000]
        if head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]:
            found.append(f"notebooks/{path.stem}")
    return found


def _doc_exists(docname: str) -> bool:
    return any((BOOK / f"{docname}{suffix}").exists() for suffix in (".md", ".ipynb", ".rst"))


TOC = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
TOC_FILES = _toc_files(TOC)


def test_notebooks_reach_the_book_through_the_link():
    link = BOOK / "notebooks"
    assert link.is_symlink(), "book/notebooks must be a symbolic link to ../notebooks"
    assert os.readlink(link) == "../notebooks"
    assert link.resolve() == NOTEBOOKS.resolve()


def test_toc_lists_every_notebook_once_in_order():
    listed = [f for f in TOC_FILES if f.startswith("notebooks/")]
    assert len(listed) == len(set(listed)), "a chapter is listed twice in book/_toc.yml"
    unlisted = sorted(set(_notebooks_present()) - set(listed))
    assert not unlisted, f"add these notebooks to book/_toc.yml: {unlisted}"
    numbers = [int(re.match(r"notebooks/(\d+)_", f).group(1)) for f in listed]
    assert numbers == sorted(numbers), "chapters must be listed in the order of their numbers"


def test_toc_pages_outside_notebooks_exist():
    missing = [f for f in TOC_FILES if not f.startswith("notebooks/") and not _doc_exists(f)]
    assert not missing, f"pages listed in book/_toc.yml but absent: {missing}"


def _page_commands(page: Path, program: str) -> list[str]:
    """Command lines of ``bash`` blocks of a page that start with ``program``."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)  # leading VAR=value assignments
            if words and words[0] == program:
                commands.append(shlex.join(words))
    return commands


REPRODUCE = BOOK / "reproduce_paper_scale.md"


@pytest.mark.parametrize("command", _page_commands(REPRODUCE, "samrefiner"))
def test_reproduce_page_cli_commands_parse(command):
    from samrefiner_lib.cli import build_parser

    parser = build_parser()
    words = shlex.split(command)[1:]
    choices = parser._subparsers._group_actions[0].choices
    if words[0] not in choices:
        pytest.skip(f"`samrefiner {words[0]}` is not part of this checkout yet")
    if "--help" in words:
        return
    try:
        parser.parse_args(words)
    except SystemExit as exc:
        pytest.fail(f"book/reproduce_paper_scale.md: `{command}` does not parse ({exc})")


@pytest.mark.parametrize("command", _page_commands(REPRODUCE, "python"))
def test_reproduce_page_data_scripts_exist(command):
    script = shlex.split(command)[1]
    assert (REPO / script).is_file(), f"{script} (named in book/reproduce_paper_scale.md)"


# --------------------------------------------------------------------------------------------
# The book in headless Chromium


def _pages_to_check() -> list[str]:
    if os.environ.get("SAMREFINER_BOOK_HTML"):
        return [f for f in TOC_FILES if _doc_exists(f)]
    return SMALL_BOOK


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def _mathjax_vendored() -> bool:
    return any(MATHJAX_DIR.glob(".vendored-*"))


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make browser-deps installs it)")
    return CHROMIUM


@pytest.fixture(scope="module")
def book_html(chromium, tmp_path_factory) -> Path:
    """The HTML folder to check: a small book built now at smoke scale, or SAMREFINER_BOOK_HTML."""
    given = os.environ.get("SAMREFINER_BOOK_HTML")
    if given:
        html = Path(given)
        if not html.is_absolute():
            html = REPO / html
        assert (html / "index.html").exists(), f"SAMREFINER_BOOK_HTML={given}: no index.html"
        return html
    if not _mathjax_vendored() and shutil.which("make"):
        subprocess.run(["make", "-s", "mathjax"], cwd=REPO, check=False)
    out = tmp_path_factory.mktemp("book")
    toc = dict(TOC)
    toc.pop("parts", None)
    toc["chapters"] = [{"file": f} for f in SMALL_BOOK[1:]]
    toc_path = out / "_toc.yml"
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "SAMREFINER_SCALE": "smoke"}
    cmd = [_jupyter_book(), "build", str(BOOK), "--toc", str(toc_path), "--path-output", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log, encoding="utf-8")
    if proc.returncode != 0:
        pytest.fail(f"the smoke-scale book did not build (exit {proc.returncode}):\n{log[-6000:]}")
    return out / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def server(book_html):
    """The built book served over HTTP on 127.0.0.1, as a web server would."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs the Python package `playwright` (pip install "
                    "playwright; it drives the system Chromium, so never run `playwright "
                    "install`)")
    with sync_playwright() as p:
        # Playwright starts the browser with a fresh temporary profile (--user-data-dir).
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


_PAGE_FACTS = """() => {
  const article = document.querySelector('article.bd-article, .bd-article, main');
  const imgs = [...document.querySelectorAll('article img, main img')];
  const text = article ? article.innerText : document.body.innerText;
  return {
    title: document.title,
    h1: [...document.querySelectorAll('h1')].map(h => h.innerText.trim()),
    themed: !!document.querySelector('.bd-sidebar-primary') && !!article,
    stylesheets: [...document.styleSheets].filter(s => s.href).length,
    images: imgs.map(i => ({src: i.getAttribute('src'), complete: i.complete,
                            width: i.naturalWidth, height: i.naturalHeight})),
    outputFigures: document.querySelectorAll('.cell_output img').length,
    errors: document.querySelectorAll('.output.traceback, .output_error, .output.error').length,
    tracebackText: /Traceback \\(most recent call last\\)/.test(text),
    math: document.querySelectorAll('.math, span.math, div.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    navLinks: document.querySelectorAll('.bd-sidebar-primary a.reference.internal').length,
    // Cells that pandas (or anything else) cut short with an ellipsis.
    cutCells: [...document.querySelectorAll('article table td, article table th')]
      .map(c => c.innerText.trim())
      .filter(t => t.endsWith('...') || t.endsWith('\\u2026')).slice(0, 5),
    // Tables wider than the column of text they sit in (they would scroll or overflow).
    wideTables: article ? [...article.querySelectorAll('table')]
      .filter(t => t.getBoundingClientRect().width > article.clientWidth + 1)
      .map(t => `${Math.round(t.getBoundingClientRect().width)} px > ${article.clientWidth} px: `
                + t.innerText.slice(0, 60).replace(/\\s+/g, ' ')) : [],
  };
}"""

_WAIT_FOR_MATH = """async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
}"""


@pytest.mark.browser
@pytest.mark.parametrize("docname", _pages_to_check())
def test_page_renders_in_chromium(docname, browser, server, book_html):
    page_file = book_html / f"{docname}.html"
    assert page_file.exists(), f"{docname}.html was not built"
    context = browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": 900})
    page = context.new_page()
    outside, failed, js_errors = [], [], []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: req.url.startswith(server) and failed.append(req.url))
    page.on("response", lambda resp: resp.status >= 400 and failed.append(
        f"{resp.status} {resp.url}"))
    page.on("pageerror", lambda exc: str(exc) in KNOWN_JS_ERRORS or js_errors.append(str(exc)))
    try:
        response = page.goto(f"{server}/{docname}.html", wait_until="load")
        status = response.status if response is not None else None
        assert status is not None and response.ok, f"{docname}: HTTP status {status}"
        page.wait_for_load_state("networkidle")
        mathjax_local = _mathjax_vendored() or os.environ.get("SAMREFINER_BOOK_HTML")
        if mathjax_local:
            page.evaluate(_WAIT_FOR_MATH)
        facts = page.evaluate(_PAGE_FACTS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = docname.replace("/", "__")
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"))
        page.screenshot(path=str(SCREENSHOTS / f"{shot}-full.png"), full_page=True)
    finally:
        context.close()

    assert facts["title"] and facts["h1"], f"{docname}: no title or heading"
    assert facts["themed"] and facts["stylesheets"] > 0, f"{docname}: the theme did not load"
    assert facts["navLinks"] > 0, f"{docname}: no navigation sidebar"
    assert not failed, f"{docname}: files failed to load: {failed}"
    assert not js_errors, f"{docname}: JavaScript errors: {js_errors}"
    tolerated = set() if mathjax_local else {u for u in outside if "mathjax" in u}
    assert not set(outside) - tolerated, f"{docname}: requests outside the book: {outside}"
    broken = [i for i in facts["images"] if not (i["complete"] and i["width"] and i["height"])]
    assert not broken, f"{docname}: images that did not load: {broken}"
    assert facts["errors"] == 0 and not facts["tracebackText"], f"{docname}: a notebook error"
    assert not facts["cutCells"], f"{docname}: table cells cut short: {facts['cutCells']}"
    assert not facts["wideTables"], (
        f"{docname}: tables wider than the text column at {VIEWPORT_WIDTH} px: "
        f"{facts['wideTables']}")
    source = REPO / f"{docname}.md"
    if docname.startswith("notebooks/") and "plt.show()" in source.read_text(encoding="utf-8"):
        assert facts["outputFigures"] >= 1, (
            f"{docname}: the notebook shows figures (plt.show()) but the page has none; is "
            "matplotlib's backend switched away from the notebook's inline backend?")
    if facts["math"] and mathjax_local:
        assert facts["typeset"] >= facts["math"], (
            f"{docname}: {facts['math']} formulas, {facts['typeset']} typeset by MathJax")
