# The README's commands. Everything CI needs is installed from here (see .ci/run).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= test,report,influx,postgres

.PHONY: demo test test-unit bench lint system venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed

system:
	scripts/install-system

## demo: the simulated data center and the monitor, on loopback, until Ctrl-C
demo: venv
	$(PY) -m tierwatch demo

## test: system packages, virtualenv, then the whole suite (unit and integration)
test: system venv
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -rs -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q -m "not integration"

## bench: benchmarks against peers measured in the same run (never part of `make test`)
bench: system venv
	$(PY) -m bench

lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tierwatch collector tier livetier nethealth exporters alerts report api sim bench

clean:
	rm -rf $(VENV) .tierwatch-demo .pytest_cache .mypy_cache .ruff_cache
