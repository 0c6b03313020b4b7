# The README's commands. Each creates its environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test ui lint clean

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## Simulate 14 days of a plant, run the whole pipeline in Dagster, print the figures.
demo: $(STAMP)
	$(BIN)/wattprint demo

## Set up and run the whole test suite (unit, integration with real dbt/DuckDB/Dagster).
test: $(STAMP)
	$(BIN)/pytest

## The Dagster UI on http://127.0.0.1:3000 over $WATTPRINT_HOME (default ./.wattprint).
ui: $(STAMP)
	@home=$$(realpath -m $${WATTPRINT_HOME:-.wattprint}); mkdir -p $$home/dagster; \
	  WATTPRINT_HOME=$$home DAGSTER_HOME=$${DAGSTER_HOME:-$$home/dagster} \
	  $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf .wattprint dbt_project/target dbt_project/logs
