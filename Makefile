# Two entry points on a fresh machine: `make run` (service, offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint molecule bench clean

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
	$(BIN)/ruff check service tests benchmarks
	$(BIN)/ruff format --check service tests benchmarks

molecule: $(VENV)/.dev
	PATH="$(abspath $(BIN)):$$PATH" molecule/run-all.sh

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/query_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
