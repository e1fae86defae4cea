# `make demo` and `make test` work on a fresh clone: each creates .venv and
# installs what it needs from the package registries (nothing installed by hand).
#
# .venv runs on the Python users run current Chaos Toolkit on (chaostoolkit 1.21 and
# chaostoolkit-lib 1.45 need >= 3.12): 3.13, else 3.12, found as CI finds it
# (.ci/find-python: pythonX.Y on PATH, then pyenv's versions). `PYTHON=... make` picks
# another. A .venv of another Python (an older checkout's 3.11) is rebuilt on its own.
PYTHON ?= $(shell .ci/find-python 3.13 3.12)
VENV := .venv
BIN := $(VENV)/bin
# One stamp per set of extras: the whole toolchain, the demo's, the user's install.
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
INSTALL_STAMP := $(VENV)/.installed-lab
DOCS_STAMP := $(VENV)/.installed-docs
VERSION_OF = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2> /dev/null)
WANTED := $(if $(PYTHON),$(call VERSION_OF,$(PYTHON)))
ifneq ($(WANTED),$(call VERSION_OF,$(BIN)/python))
# .venv is missing or of another Python: every stamp is stale, whatever its date.
.PHONY: $(STAMP) $(DEMO_STAMP) $(INSTALL_STAMP) $(DOCS_STAMP)
endif
# venv: .venv on $(PYTHON), made anew when it is of another Python, pip up to date.
define venv
	@test -n "$(WANTED)" || { echo "make: $(if $(PYTHON),PYTHON=$(PYTHON) does not run,no Python 3.13 or 3.12 found)" \
	    "(chaostoolkit 1.21 needs >= 3.12): install one (pyenv install 3.13) or name it:" \
	    "make PYTHON=/path/to/python3.13" >&2; exit 1; }
	@if [ "$(call VERSION_OF,$(BIN)/python)" != "$(WANTED)" ]; then \
	    echo "make: creating $(VENV) on Python $(WANTED) ($(PYTHON))"; \
	    rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip; fi
endef

.PHONY: install demo test lint docs format clean

## install: the package and its lab into .venv, as a user runs it (no test or lint toolchain)
install: $(INSTALL_STAMP)
	@echo "installed: $(BIN)/chaos and $(BIN)/chaosaws-serverless ($$($(BIN)/chaos --version))"

$(INSTALL_STAMP): setup.cfg pyproject.toml
	$(venv)
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $@

# the demo also renders each run's `chaos report` (the report extra)
$(DEMO_STAMP): setup.cfg pyproject.toml
	$(venv)
	$(BIN)/python -m pip install --quiet -e '.[lab,report]'
	touch $@

$(STAMP): setup.cfg pyproject.toml
	$(venv)
	$(BIN)/python -m pip install --quiet -e '.[test,lab,report]'
	touch $@

## demo: run the reference experiment end to end on the local lab (moto + local data plane)
demo: $(DEMO_STAMP)
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

## docs: regenerate the reference page from discovery, then build the site with --strict (site/)
# (the docs extra on top of the whole toolchain: the reference page needs the package's imports)
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	$(BIN)/chaosaws-serverless activities --reference > docs/reference.md
	$(BIN)/mkdocs build --strict --quiet

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv311 .venv313 lab-output site .pytest_cache .mypy_cache .ruff_cache *.egg-info
