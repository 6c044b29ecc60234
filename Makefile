# Two commands on a fresh machine with Python 3.11 and make: `make plan` and `make test`.
# The virtual environment is built from uv.lock; uv itself is installed into .bootstrap/ when missing.

STACK ?= prod
JSON ?=
MANIFEST ?=
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.9

UV := $(shell command -v uv 2>/dev/null || echo .bootstrap/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced
RUN := PYTHONPATH=$(CURDIR) $(VENV)/bin/python -W ignore::DeprecationWarning

export UV_PYTHON_DOWNLOADS := never
export UV_SYSTEM_CERTS := 1

.PHONY: plan test lint bench clean

plan: $(STAMP) ## Offline plan of STACK (default prod); JSON=path also writes the plan document
	$(RUN) -m offline.plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(if $(MANIFEST),--manifest $(MANIFEST))

test: $(STAMP) ## The whole suite on the mock engine
	$(RUN) -m pytest

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(RUN) -m mypy .

bench: $(STAMP) ## Plan time against the SDK's own floor
	$(RUN) benchmarks/plan_time.py

$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet --python $(PYTHON)
	@touch $@

.bootstrap/bin/uv:
	$(PYTHON) -m venv .bootstrap
	.bootstrap/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

clean:
	rm -rf $(VENV) .bootstrap .pytest_cache .mypy_cache .ruff_cache .hypothesis
