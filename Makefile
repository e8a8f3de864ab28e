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
# Test runs (pytest) load TensorFlow quietly too, as the command lines do (recipes/startup.py).
export RECIPES_QUIET_STARTUP ?= 1

.PHONY: help install test demo train tensorboard tune reproduce lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  variables: TASK=$(TASK) TUNER=$(TUNER) TRIALS=$(TRIALS) EPOCHS=$(EPOCHS) DIR=$(DIR)"
	@echo "  DATA_DIR=<image class folders or .tar.gz> for make tune and make train"

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

# make train [RECIPE=cifar10_fast] [TASK=dataset] [EPOCHS=n] and the flags of the presets'
# trainers as variables in capitals, e.g. for cifar10_fast [DATA_DIR=image folder tree]
# [RUNS=n, runs from fresh weights, averaged] [TTA=0|1|2] [FLIP=alternating|random|none].
# The trainers' flags are read from the trainers (recipes.__main__.make_variables,
# "VARIABLE:--flag" pairs); every variable is passed only when given (the defaults of
# TASK and EPOCHS above are tune's). The same command after a kill resumes the run in
# runs/<preset> after its last finished epoch; RESTART=1 starts afresh. With several local
# devices the preset trains data-parallel over all of them; DISTRIBUTE=none keeps one.
RECIPE ?= cifar10_fast
given = $(filter command line environment,$(origin $(1)))
pass = $(if $(and $(call given,$(1)),$($(1))),$(2) $($(1)))
pass_pair = $(call pass,$(word 1,$(subst :, ,$(1))),$(word 2,$(subst :, ,$(1))))
trainer_flags = $(shell $(BIN)/python -c \
	'from recipes.__main__ import make_variables; print(*make_variables())' 2>/dev/null)
train: $(STAMP)  ## train, time and test a preset: make train TASK=cifar10 RECIPE=cifar10_fast
	$(BIN)/python -m recipes train $(RECIPE) $(call pass,TASK,--dataset) \
		$(call pass,EPOCHS,--epochs) $(if $(RESTART),--restart) \
		$(call pass,DISTRIBUTE,--distribute) $(foreach pair,$(trainer_flags),$(call pass_pair,$(pair)))

# make tensorboard [DIR=runs] [HOST=127.0.0.1] [PORT=6006]: the TensorBoard logs of every run
# under DIR (make train's run folders, each tuning trial's). It listens on 127.0.0.1 only,
# unless HOST names another address (HOST=0.0.0.0 serves the whole network: no login).
HOST ?= 127.0.0.1
PORT ?= 6006
tensorboard: $(STAMP)  ## serve the TensorBoard logs: make tensorboard DIR=runs (127.0.0.1 only)
	$(BIN)/tensorboard --logdir $(if $(call given,DIR),$(DIR),runs) --host $(HOST) --port $(PORT)

# make reproduce EXP=zhang2017 [QUICK=1] [DATA_DIR=../shared/data/cifar10-jpeg.tar.gz]
EXP ?= realnvp_moons
reproduce: $(STAMP)  ## one of the documents' experiments: make reproduce EXP=zhang2017 QUICK=1
	$(BIN)/python -m recipes reproduce $(EXP) $(if $(QUICK),--quick) \
		$(call pass,DATA_DIR,--data-dir)

# make tune [DATA_DIR=image folder tree or .tar.gz, e.g. ../shared/data/cifar10-jpeg.tar.gz]:
# an image-classification task searches on those images (passed only when given).
tune: $(STAMP)  ## hyper-parameter search: make tune TASK=digits TUNER=random TRIALS=6
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR) $(call pass,DATA_DIR,--data-dir)

WORKERS ?= 2
.PHONY: distributed
distributed: $(STAMP)  ## tune with a KerasTuner chief + WORKERS worker processes here
	$(BIN)/python -m tuning --task $(TASK) --tuner $(TUNER) --max-trials $(TRIALS) \
		--epochs $(EPOCHS) --directory $(DIR) --workers $(WORKERS) $(call pass,DATA_DIR,--data-dir)

# The tests rerun on the other Keras backends (CPU) are chosen by pytest markers
# (registered in pyproject.toml), not by a list here: `backends` marks the layer and
# builder tests (a module opts in with `pytestmark = pytest.mark.backends`), `smoke`
# the quick subset CI reruns on JAX after `make test` (about 3 min on 2 cores): every
# preset builds, the compile defaults, the attention and flow layers, the linear models.
TORCH ?= torch==2.13.0
.PHONY: test-jax test-jax-smoke test-torch test-backends
test-jax: $(STAMP)  ## the tests marked `backends` on the JAX backend
	KERAS_BACKEND=jax JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n auto -m backends \
		$(PYTEST_ARGS)

test-jax-smoke: $(STAMP)  ## CI's JAX pass: the tests marked `smoke`
	KERAS_BACKEND=jax JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n auto -m smoke $(PYTEST_ARGS)

$(VENV)/.torch-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	touch $@

test-torch: $(VENV)/.torch-stamp  ## the same on PyTorch (CPU; installs torch first)
	KERAS_BACKEND=torch $(BIN)/python -m pytest -n auto -m backends $(PYTEST_ARGS)

test-backends: test-jax test-torch  ## both

lint: $(STAMP)  ## ruff over the whole tree: formatting (code and Markdown code blocks), lint rules
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

BENCH_ARGS ?=
.PHONY: bench-quick
bench: $(STAMP)  ## recipes' training throughput against hand-written Keras (GPU sizes)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

bench-quick: $(STAMP)  ## the same at small sizes for a CPU (about 5 min on 2 cores)
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

# On the GPU machine (no .venv there): the wheels in .whl/ and the CIFAR-10 copy in .gpu/.
.PHONY: gpu
gpu:  ## issue 20's GPU run: cifar10_fast x5, benchmarks in bf16 and fp32 (benchmarks/gpu.sh)
	bash benchmarks/gpu.sh

clean:  ## remove .venv, runs/ and caches
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
