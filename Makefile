# Two entry points on a fresh machine: `make run` (service, offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint molecule molecule-matrix molecule-ci molecule-images bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python service/pyproject.toml
	$(PIP) install -e ./service
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) install -e './service[dev]'
	touch $@

run: $(VENV)/.runtime
	$(BIN)/cadchat serve

test: $(VENV)/.dev
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check service tests benchmarks molecule
	$(BIN)/ruff format --check service tests benchmarks molecule

# The whole matrix (molecule/matrix: site on Ubuntu 20.04/22.04/24.04 and Debian 12, every other
# scenario on Ubuntu 24.04). MOLECULE_JOBS runs in parallel; `molecule/run-all.sh site@ubuntu2004`
# runs one cell.
MOLECULE_JOBS ?= 2
MOLECULE_PLATFORMS := debian12 ubuntu2004 ubuntu2204 ubuntu2404

molecule: molecule-matrix

molecule-matrix: $(VENV)/.dev
	PATH="$(abspath $(BIN)):$$PATH" molecule/run-all.sh -j $(MOLECULE_JOBS)

# What CI runs (molecule/ci: the runs proven green on this kind of machine within its time budget).
molecule-ci: $(VENV)/.dev
	PATH="$(abspath $(BIN)):$$PATH" molecule/run-all.sh -j $(MOLECULE_JOBS) $$(grep -v '^\s*\(#\|$$\)' molecule/ci)

# Base images for every platform and the local Python images the Dockerfile builds on (the site
# and cadchat-docker scenarios' prepare), built side by side (mostly download time) so runs in
# parallel never build them twice; reused when present.
molecule-images:
	@pids=""; for p in $(MOLECULE_PLATFORMS); do \
	  molecule/scripts/build-base-image.sh cadchat-molecule/$$p:latest & pids="$$pids $$!"; \
	done; molecule/scripts/build-python-image.sh & pids="$$pids $$!"; \
	rc=0; for pid in $$pids; do wait $$pid || rc=1; done; exit $$rc

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/query_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
