# One entry point for people and CI. `make run` sets up and runs the main job; `make check` sets up and
# runs lint, types and tests (what .ci/run calls).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run demo assess serve worker lint types test check bench

$(BIN)/commitments: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/commitments

run: setup
	$(BIN)/commitments sync

demo: setup
	$(BIN)/commitments demo

assess: setup
	$(BIN)/commitments assess config/examples/deals.json

serve: setup
	$(BIN)/commitments sandbox serve

worker: setup
	$(BIN)/commitments worker

lint: setup
	$(BIN)/ruff check .

types: setup
	$(BIN)/mypy core connectors worker sandbox

test: setup
	$(BIN)/pytest

check: lint types test

bench: setup
	$(BIN)/python bench/assess.py --floor
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/salesforce_sync.py
	$(BIN)/python bench/hubspot_sync.py
	$(BIN)/python bench/sync_e2e.py
