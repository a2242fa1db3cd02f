# Entry points of the project. `make test` is what CI runs (.ci/run).
#
#   make setup       .venv with the project and its dev, book and baselines extras
#   make test        the whole suite: unit tests, every notebook at smoke scale, browser test
#   make test-quick  unit tests only (no slow, notebook or browser tests)
#   make book        build the book at mini scale -> book/_build/html/index.html
#                    (CHAPTER=02 builds one chapter -> book/_build/chapter/)
#   make lint        ruff
#   make clean       remove build outputs (keeps .venv)
#
# Variables: SAMREFINER_SCALE=smoke|mini|paper (scale of `make book`, default mini; the notebooks
# also read SAMREFINER_MODEL, SAMREFINER_CHECKPOINT, SAMREFINER_DATA, SAMREFINER_REAL_DATA),
# STRICT=1 (book: warnings are errors, e.g. a missing chapter), CHAPTER=name (book: only this
# notebook, e.g. 02 or 02_table1_prompt_ablation), BOOK_LIMIT=seconds (book: wall-clock limit
# per notebook, 0 for none; default 3600, none at paper scale), VENV=path (default .venv).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.samrefiner-setup
EXTRAS := dev,book,baselines

# Scale of `make book`; a value from the environment or the command line wins.
SAMREFINER_SCALE ?= mini
STRICT ?=
CHAPTER ?=
BOOK_LIMIT ?=
BOOK_BUILD := book/_build

# Headless Chromium for tests/test_book_browser.py (Debian package `chromium`).
CHROMIUM ?= /usr/bin/chromium

# MathJax 3, unpacked from the npm registry into the book (not committed: ~10 MB).
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR := book/_vendor/_static/mathjax
MATHJAX_STAMP := $(MATHJAX_DIR)/.vendored-$(MATHJAX_VERSION)
MATHJAX_CDN := https://cdn.jsdelivr.net/npm/mathjax@$(MATHJAX_VERSION)/es5/tex-mml-chtml.js

.PHONY: help setup test test-quick book lint clean browser-deps mathjax

help:
	@sed -n '3,10p' Makefile | sed 's/^# \{0,1\}//'

setup: $(SETUP_STAMP)

$(SETUP_STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV)"; python3 -m venv $(VENV); }
	@echo "installing the project into $(VENV) (extras: $(EXTRAS))"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $@

test: setup browser-deps mathjax
	SAMREFINER_SCALE=smoke $(PY) -m pytest --nbmake tests notebooks

test-quick: setup
	$(PY) -m pytest -q -m "not slow and not browser" tests

# The execution cache (book/_build/.jupyter_cache) is keyed on each notebook's code only, so
# outputs made at another scale, with another model or data, or by an older library would be
# reused silently. The key below records all of these; when it changes, cached outputs and
# pages are dropped and every notebook runs again.
# book/execute_notebooks.py then executes what the cache lacks (progress on the terminal, no
# per-cell limit, BOOK_LIMIT per notebook, kernel noise in book/_build/logs/), runs
# jupyter-book build, and prints each notebook's wall time and where the HTML is.
book: setup mathjax
	@set -e; \
	lib=$$(find samrefiner_lib notebooks -type f \( -name '*.py' -o -name '*.pt' -o -name '*.csv' \
	       -o -name '*.json' \) -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs -r sha256sum \
	       | sha256sum | cut -c1-16); \
	key="scale=$(SAMREFINER_SCALE) model=$${SAMREFINER_MODEL-} checkpoint=$${SAMREFINER_CHECKPOINT-}"; \
	key="$$key data=$${SAMREFINER_DATA-} real=$${SAMREFINER_REAL_DATA-} library=$$lib"; \
	if [ "$$(cat $(BOOK_BUILD)/.execution-key 2>/dev/null)" != "$$key" ]; then \
	  [ ! -d $(BOOK_BUILD)/.jupyter_cache ] || \
	    echo "book: settings or library changed since the last build; executing every notebook again"; \
	  rm -rf $(BOOK_BUILD)/.jupyter_cache $(BOOK_BUILD)/.doctrees $(BOOK_BUILD)/html \
	         $(BOOK_BUILD)/jupyter_execute $(BOOK_BUILD)/chapter; \
	fi; \
	mkdir -p $(BOOK_BUILD); echo "$$key" > $(BOOK_BUILD)/.execution-key; \
	echo "book: building at $(SAMREFINER_SCALE) scale"; \
	SAMREFINER_SCALE=$(SAMREFINER_SCALE) $(PY) book/execute_notebooks.py build \
	  $(if $(CHAPTER),--chapter $(CHAPTER)) $(if $(BOOK_LIMIT),--limit $(BOOK_LIMIT)) \
	  $(if $(STRICT),--strict)

lint: setup
	$(PY) -m ruff check .

clean:
	rm -rf $(BOOK_BUILD) book/_vendor .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Installs the Debian package when Chromium is missing (CI starts from a clean machine).
# Without apt-get or root the browser test skips itself; a failed installation fails.
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: $(CHROMIUM) not found and no apt-get: the browser test will be skipped"; exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "note: $(CHROMIUM) not found and installing it needs root: the browser test will be skipped"; exit 0; \
	fi; \
	echo "installing Chromium for the browser test (Debian packages chromium, fonts-dejavu-core)"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  chromium fonts-dejavu-core >/dev/null

mathjax: $(MATHJAX_STAMP)

# Without npm a small loader that fetches MathJax from a CDN stands in (no stamp is written, so
# the next build tries npm again).
$(MATHJAX_STAMP):
	@set -e; mkdir -p $(MATHJAX_DIR); \
	if ! command -v npm >/dev/null 2>&1; then \
	  echo "note: npm not found; the book's math will load MathJax from $(MATHJAX_CDN)"; \
	  printf '%s\n' '// MathJax was not vendored (no npm at build time): load it from a CDN.' \
	    '(function () { var s = document.createElement("script"); s.async = true;' \
	    '  s.src = "$(MATHJAX_CDN)"; document.head.appendChild(s); })();' \
	    > $(MATHJAX_DIR)/tex-mml-chtml.js; \
	  exit 0; \
	fi; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null); \
	echo "$(MATHJAX_SHA256)  $$tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum --check --quiet -; \
	tar -xzf "$$tmp/mathjax-$(MATHJAX_VERSION).tgz" -C "$$tmp"; \
	rm -rf $(MATHJAX_DIR); mkdir -p $(MATHJAX_DIR); \
	cp "$$tmp/package/LICENSE" "$$tmp/package/es5/tex-mml-chtml.js" $(MATHJAX_DIR)/; \
	cp -r "$$tmp"/package/es5/{input,output,ui,a11y,adaptors,sre} $(MATHJAX_DIR)/; \
	touch $@; \
	echo "MathJax $(MATHJAX_VERSION) unpacked into $(MATHJAX_DIR)"
