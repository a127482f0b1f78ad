# Returnflow: two commands.
#   make run   installs everything, runs the demo on the real UCI data, then serves http://127.0.0.1:8000
#   make test  installs everything and runs the whole test suite (SQLite and PostgreSQL, headless Chromium)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,carriers]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/returnflow demo

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/import_replay.py

clean:
	rm -rf $(VENV) data
