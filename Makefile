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

.PHONY: help install test demo train tune lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  variables: TASK=$(TASK) TUNER=$(TUNER) TRIALS=$(TRIALS) EPOCHS=$(EPOCHS) DIR=$(DIR)"

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## make .venv and install the package with its test tools

test: $(STAMP)  ## run the test suite (offline, in parallel)
	$(BIN)/python -m pytest -n auto --dist worksteal --durations=25 $(PYTEST_ARGS)

demo: $(STAMP)  ## train the digits MLP offline; curves and model go to runs/demo
	$(BIN)/python -m recipes demo

# make train [RECIPE=cifar10_fast] [TASK=dataset] [EPOCHS=n] [DATA_DIR=image folder tree]
#            [RUNS=n, cifar10_fast: runs from fresh weights, averaged];
# TASK and EPOCHS are passed only when given (their defaults above are tune's).
RECIPE ?= cifar10_fast
given = $(filter command line environment,$(origin $(1)))
train: $(STAMP)  ## train, time and test a preset: make train TASK=cifar10 RECIPE=cifar10_fast
	$(BIN)/python -m recipes train $(RECIPE) $(if $(call given,TASK),--dataset $(TASK)) \
		$(if $(call given,EPOCHS),--epochs $(EPOCHS)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) \
		$(if $(RUNS),--runs $(RUNS))

tune: $(STAMP)  ## hyper-parameter search: make tune TASK=digits TUNER=random TRIALS=6
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR)

WORKERS ?= 2
.PHONY: distributed
distributed: $(STAMP)  ## tune with a KerasTuner chief + WORKERS worker processes here
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR) --workers $(WORKERS)

# The layer and builder tests, rerun on the other Keras backends (CPU).
BACKEND_TESTS ?= tests/test_registry.py tests/test_compiling.py tests/test_attention.py \
	tests/test_flow_layers.py tests/test_group_conv.py tests/test_augment.py \
	tests/test_mlp.py tests/test_linear.py tests/test_cnn.py tests/test_resnet.py \
	tests/test_unet.py tests/test_rnn.py tests/test_vae.py tests/test_flow.py \
	tests/test_gan.py tests/test_autoencoder.py tests/test_dann.py tests/test_vit.py \
	tests/test_adversarial.py tests/test_clipping.py tests/test_tuning.py
# What CI reruns on JAX after `make test` (about 3 min on 2 cores): every preset
# builds, the compile defaults, the attention and flow layers, the linear models.
SMOKE_TESTS ?= tests/test_registry.py tests/test_compiling.py tests/test_attention.py \
	tests/test_flow_layers.py tests/test_linear.py
TORCH ?= torch==2.13.0
.PHONY: test-jax test-jax-smoke test-torch test-backends
test-jax: $(STAMP)  ## the layer and builder tests on the JAX backend
	KERAS_BACKEND=jax JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n auto $(BACKEND_TESTS) \
		$(PYTEST_ARGS)

test-jax-smoke: $(STAMP)  ## CI's JAX pass: a quick subset of test-jax
	KERAS_BACKEND=jax JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n auto $(SMOKE_TESTS) \
		$(PYTEST_ARGS)

$(VENV)/.torch-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	touch $@

test-torch: $(VENV)/.torch-stamp  ## the same on PyTorch (CPU; installs torch first)
	KERAS_BACKEND=torch $(BIN)/python -m pytest -n auto $(BACKEND_TESTS) $(PYTEST_ARGS)

test-backends: test-jax test-torch  ## both

LINT_PATHS := recipes callbacks tuning tests benchmarks examples
lint: $(STAMP)  ## ruff: the formatting (ruff format) and the lint rules
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)

BENCH_ARGS ?=
.PHONY: bench-quick
bench: $(STAMP)  ## recipes' training throughput against hand-written Keras (GPU sizes)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

bench-quick: $(STAMP)  ## the same at small sizes for a CPU (about 5 min on 2 cores)
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

clean:  ## remove .venv, runs/ and caches
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
