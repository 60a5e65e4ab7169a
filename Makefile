# autopose: the two commands of the README, each doing all set-up on a fresh clone.
#   make demo   creates .venv, installs, runs the pipeline on the embedded default into runs/demo/
#   make test   the same install, then the library-in-sync and clean-notebook checks, nbdev_test, pytest
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= data/demo.toml
OUT ?= runs/demo
DATA ?=
# CI=true is passed through to pytest and nbdev_test: a missing fixture is then a failure.

.PHONY: install demo test sync-check nbtest pytest clean

$(VENV)/.installed: setup.py settings.ini
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	# torch first, pinned: with it installed, the package's torch range resolves to nothing new.
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[all]"
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/autopose run $(CONFIG) --out $(OUT) $(if $(DATA),--param data=$(DATA),)

sync-check: install
	$(BIN)/python .ci/sync_check.py

nbtest: install
	# one torch/BLAS thread per notebook process: two workers on two cores, not four threads
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

pytest: install
	$(BIN)/python -m pytest tests -ra

test: sync-check nbtest pytest

clean:
	rm -rf $(VENV) runs _proc *.egg-info
