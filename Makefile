# The two commands: `make run` serves the demo show, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

.PHONY: run test bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(VENV)/bin/showbiz init
	$(VENV)/bin/showbiz demo
	@echo "Serving at http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(VENV)/bin/showbiz serve --host $(HOST) --port $(PORT) --access-log

test: $(VENV)/.test-installed
	$(VENV)/bin/python -m pytest

bench: $(VENV)/.test-installed
	for script in bench/*.py; do $(VENV)/bin/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
