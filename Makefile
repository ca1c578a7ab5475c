# graphrec: two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

# torch is pinned to the CPU wheel in constraints.txt; pyproject.toml declares a range so GPU users bring their own.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/graphrec demo --out demo_out

test: $(STAMP)
	$(PY) -m pytest -q tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check graphrec walks gnn sequential benchmarks tests
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) benchmarks/run_all.py --out benchmarks/results

clean:
	rm -rf $(VENV) demo_out bench_out .pytest_cache .mypy_cache .ruff_cache
