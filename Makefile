# The two commands at the top of the README. Each sets up what it needs first.
VENV   ?= .venv
PYTHON ?= python3

.PHONY: compare test setup clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

## make compare: the out-of-stock saga in both modes, side by side
compare: setup
	$(VENV)/bin/sagalab compare out-of-stock

## make test: the whole test suite (unit, broker, browser); bounded chaos, no slow runs
test: setup
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .sagalab .pytest_cache
