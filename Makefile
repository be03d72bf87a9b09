# The README's commands. Everything CI needs is installed from here (see .ci/run).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= test,report,influx,postgres

.PHONY: demo test test-unit bench lint system venv test-venv mutation clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed

# The test virtualenv also gets the `fast` extra: snmpkit, AGPL-3.0, so that its
# conformance test (tests/collector/snmp/test_snmpkit_snmpd.py) runs instead of skipping.
# It goes into this virtualenv only: `make venv`, `make demo` and `pip install tierwatch`
# leave it out, and tierwatch stays Apache-2.0 without it.
$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[fast]"
	touch $@

test-venv: $(VENV)/.installed-test

system:
	scripts/install-system

## demo: the simulated data center and the monitor, on loopback, until Ctrl-C
demo: venv
	$(PY) -m tierwatch demo

## test: system packages, virtualenv (with the AGPL snmpkit, for its test), the import
## contracts, the whole suite
test: system test-venv
	$(VENV)/bin/lint-imports
	TIERWATCH_TEST_SNMPKIT=required $(PY) -m pytest -q -rs -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q -m "not integration"

## bench: benchmarks against peers measured in the same run (never part of `make test`)
bench: system venv
	$(PY) -m bench

## mutation: mutmut over the core modules, each with its own unit tests, one time box per
## module (MUTATION_BOX seconds, default 900: at most 15 minutes each; the seven measured
## in docs/mutation.md took 50 minutes on 2 cores); prints the kill rate per module;
## MODULES="ber engine" for some of them
mutation: venv
	$(PY) -m pip install -q -e ".[mutation]"
	$(PY) scripts/mutation.py $(MODULES)

lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tierwatch collector tier livetier exporters alerts report api sim bench services nethealth power

clean:
	rm -rf $(VENV) .tierwatch-demo .pytest_cache .mypy_cache .ruff_cache
