# The two set-up commands the README opens with: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench lint image clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m nexus_kernel demo

test: $(VENV)/.installed
	$(PY) -m ruff check nexus_kernel tests bench
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m bench

image: $(VENV)/.installed
	$(PY) -m nexus_kernel image build

clean:
	-$(PY) -m nexus_kernel cleanup
	rm -rf $(VENV) build dist *.egg-info
