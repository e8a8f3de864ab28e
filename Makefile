# Every target installs what it needs into .venv first; the stamp makes it instant
# the second time (it is redone when setup.cfg or pyproject.toml change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
TASK ?= digits
TUNER ?= random
TRIALS ?= 6
EPOCHS ?= 10
DIR ?= runs/tune
PYTEST_ARGS ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help install test demo tune lint bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: TASK=$(TASK) TUNER=$(TUNER) TRIALS=$(TRIALS) EPOCHS=$(EPOCHS) DIR=$(DIR)"

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## make .venv and install the package with its test tools

test: $(STAMP)  ## run the test suite (offline, in parallel)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

demo: $(STAMP)  ## train the digits MLP offline; curves and model go to runs/demo
	$(BIN)/python -m recipes demo

tune: $(STAMP)  ## hyper-parameter search: make tune TASK=digits TUNER=random TRIALS=6
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR)

WORKERS ?= 2
.PHONY: distributed
distributed: $(STAMP)  ## tune with a KerasTuner chief + WORKERS worker processes here
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR) --workers $(WORKERS)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check recipes callbacks tuning tests benchmarks

bench: $(STAMP)  ## throughput of recipes against hand-written Keras, as ratios
	$(BIN)/python -m benchmarks

clean:  ## remove .venv, runs/ and caches
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
