# Two entry points a fresh machine needs: `make demo` and `make test` (both set up the venv first).
VENV ?= .venv
DEMO_VENV ?= .venv-demo
TV_VENV ?= .venv-torchvision
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
OUT ?= out

.PHONY: setup demo test test-torchvision lint bench clean

setup: $(VENV)/.installed

# torch is pinned to the local CPU wheel first, so the `train` extra's torch>=2.6 is already met
# and pip never pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[train,web,dev,ray]"
	touch $@

# The demo needs only the inference core (numpy, OpenCV, ONNX Runtime, tqdm): its own small venv,
# no torch, no web or dev tools.
demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/grinlab demo --out $(OUT)/demo

$(DEMO_VENV)/.installed: pyproject.toml
	python3 -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install -q -e .
	touch $@

test: setup
	$(PY) -m pytest -q

# The zoo's torchvision_* networks need torchvision, whose PyPI wheels pair only with their own
# torch (2.14.1, a 5.5 GB CUDA build, about a minute from a local package mirror): a venv of
# their own, so the main one keeps the small CPU torch. CI runs it after `make test`.
# Its venv takes about 6.5 GB: on a disk with less than TV_MIN_FREE_GB free (and no such venv yet)
# the target says so in one line and skips, rather than failing midway through pip with ENOSPC.
TV_MIN_FREE_GB ?= 8
test-torchvision:
	@case "$(TV_MIN_FREE_GB)" in ''|*[!0-9]*) \
		echo "TV_MIN_FREE_GB must be a whole number of GB, got '$(TV_MIN_FREE_GB)'" >&2; exit 2;; esac; \
	free_gb=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); \
	if [ ! -f $(TV_VENV)/.installed ] && [ "$$free_gb" -lt $(TV_MIN_FREE_GB) ]; then \
		echo "test-torchvision SKIPPED: its venv (torch 2.14.1 CUDA build + torchvision, about 6.5 GB) needs $(TV_MIN_FREE_GB) GB free and this disk has $$free_gb GB"; \
	else \
		$(MAKE) --no-print-directory $(TV_VENV)/.installed && \
		$(TV_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/train/test_zoo.py -k torchvision; \
	fi

$(TV_VENV)/.installed: pyproject.toml
	python3 -m venv $(TV_VENV)
	$(TV_VENV)/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(TV_VENV)/bin/python -m pip install -q -e ".[train,dev,torchvision]"
	touch $@

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks fuzz
	$(VENV)/bin/ruff format --check src tests benchmarks fuzz

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(TV_VENV) $(OUT) .pytest_cache
