# `make demo` and `make test` work on a fresh clone: each creates .venv and
# installs what it needs from the package registries (nothing installed by hand).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint readme format clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lab,report]'
	touch $(STAMP)

## demo: run the reference experiment end to end on the local lab (moto + local data plane)
demo: $(STAMP)
	$(BIN)/chaosaws-serverless lab demo --output lab-output

## test: the whole test suite against a real moto server started by the fixtures
test: $(STAMP)
	$(BIN)/python -m pytest

## lint: what CI checks besides the tests
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# the import layers (tests/unit/test_layers.py) and the SSM document generated from the engine
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_layers.py
	$(BIN)/python -m chaosaws_serverless.ssm.document --check

## readme: regenerate the README activity table from discovery
readme: $(STAMP)
	$(BIN)/chaosaws-serverless activities --write-readme README.md

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv313 lab-output .pytest_cache .mypy_cache .ruff_cache *.egg-info
