# safeguarding-themes: every task a user or maintainer runs. `make help` lists them.
# The two commands a new user types are `make demo` and `make test`; both set up on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= build/demo
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.PHONY: help setup setup-browser demo test test-fast lint format lab corpus bench lock clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make setup: $(PYTHON) not found; install Python 3.11 or run 'make setup PYTHON=/path/to/python3.11'"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	@# --no-deps: requirements.txt is a complete lock; pip resolves nothing, so no torch/CUDA can arrive.
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)/ (kernel 'safeguarding-themes' registered)."

setup: $(STAMP) ## Create .venv (Python 3.11) and install the pinned environment
	@true

setup-browser: ## Install Debian's chromium for the summary's rendering test (needs apt and root)
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
		echo "chromium present."; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the rendering test ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium not installed and cannot install it here: the rendering test will be skipped locally (CI fails without it)."; \
	fi

demo: $(STAMP) ## Run the whole pipeline on the bundled corpus and print where the outputs are
	$(BIN)/themes run --out $(OUT)

lint: $(STAMP) ## Lint and format-check with ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP) ## Apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: $(STAMP) setup-browser lint ## Run lint, the test suite, the docstring examples and the notebooks under nbval
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --doctest-modules -p no:cacheprovider src/themes
ifneq ($(NOTEBOOKS),)
	THEMES_CI_SMALL=1 $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider $(NOTEBOOKS)
else
	@echo "No notebooks yet: nbval step has nothing to run."
endif

test-fast: $(STAMP) ## Run the test suite without the slow end-to-end tests
	$(BIN)/python -m pytest tests -m "not slow"

lab: $(STAMP) ## Start JupyterLab on the project kernel, in notebooks/
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

corpus: $(STAMP) ## Regenerate the bundled fictional corpus under corpus/ (deterministic)
	$(BIN)/themes synth --bundled --out corpus

bench: $(STAMP) ## Run the performance benchmark (writes BENCHMARKS.md and build/bench/results.json)
	$(BIN)/python benchmarks/run.py

lock: ## Re-resolve the environment from pyproject.toml and rewrite requirements.txt (maintainers)
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet ".[dev]" hatchling==1.33.0
	build/lockenv/bin/pip install --quiet --no-deps bertopic==0.17.4
	@echo "Review build/lockenv/bin/pip freeze and update requirements.txt by hand (keep its header)."

clean: ## Remove derived outputs (build/); keeps .venv
	rm -rf build .pytest_cache .ruff_cache
