# Two entry points a fresh machine needs: `make demo` and `make test` (both set up the venv first).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
OUT ?= out

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

# torch is pinned to the local CPU wheel first, so the `train` extra's torch>=2.6 is already met
# and pip never pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[train,web,dev]"
	touch $@

demo: setup
	$(VENV)/bin/grinlab demo --out $(OUT)/demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks fuzz
	$(VENV)/bin/ruff format --check src tests benchmarks fuzz

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
