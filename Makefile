# Flux — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Test workers (pytest-xdist): one per core, at most 4; WORKERS=0 runs in one process.
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: run test lint bench clean

run: $(VENV)/.installed
	$(BIN)/flux db upgrade
	$(BIN)/flux demo --if-empty
	$(BIN)/flux run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(WORKERS) --dist loadfile --durations=15

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check flux tests migrations bench
	$(BIN)/ruff format --check flux tests migrations bench

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 ou plus récent est requis ($(PYTHON))." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
