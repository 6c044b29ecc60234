# Two commands on a fresh machine with Python 3.11 and make: `make plan` and `make test`.
# The virtual environment is built from uv.lock; uv itself is installed into .bootstrap/ when missing.

STACK ?= prod
ENV ?= prod
FORMAT ?= json
JSON ?=
MANIFEST ?=
# The suite's workers (pytest-xdist); each plans the whole environments it needs once (tests/conftest.py).
TEST_WORKERS ?= 2
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.9

UV := $(shell command -v uv 2>/dev/null || echo .bootstrap/bin/uv)
VENV := .venv
# Stamped per way of building: a venv synced before bytecode compiling was added is synced again.
STAMP := $(VENV)/.synced-bytecode
RUN := PYTHONPATH=$(CURDIR) $(VENV)/bin/python -W ignore::DeprecationWarning

export UV_PYTHON_DOWNLOADS := never
export UV_SYSTEM_CERTS := 1

# Real servers for the integration tests, from Debian's packages (installed only when missing).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0
SERVER_PACKAGES := postgresql pgbouncer redis-server

.PHONY: plan test lint bench bench-suite bench-capacity docs diff urn-snapshot servers clean stacks venv

plan: $(STAMP) ## Offline plan of STACK: an environment (default prod: all its stacks) or one stack; JSON=path writes the document; PREVIEW=1 as a first preview
	$(RUN) -m offline.plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(if $(MANIFEST),--manifest $(MANIFEST)) $(if $(PREVIEW),--preview)

test: $(STAMP) servers ## The whole suite: the mock engine, plus real PostgreSQL and PgBouncer on loopback
	$(RUN) -m pytest -n $(TEST_WORKERS)

venv: $(STAMP) ## The virtual environment from uv.lock, byte-compiled (every other target builds it when missing)

servers: ## PostgreSQL, PgBouncer and Redis (with redis-benchmark) from Debian's packages, installed when missing
	@if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ] \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! command -v redis-benchmark >/dev/null 2>&1; then \
	  $(APT) install -y --no-install-recommends $(SERVER_PACKAGES) >/dev/null \
	  || { $(APT) update >/dev/null && $(APT) install -y --no-install-recommends $(SERVER_PACKAGES) >/dev/null; }; \
	fi

lint: $(STAMP) ## ruff, mypy, and the GitHub workflows (schema, then zizmor; both offline)
	$(VENV)/bin/ruff check .
	$(RUN) -m mypy .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
	$(VENV)/bin/zizmor --offline --no-progress --quiet .

diff: $(STAMP) ## Markdown of what HEAD changes against BASE (plan documents or `pulumi preview --json`); DIFF_STACK=<stack> for one
	$(RUN) -m offline.diff --base $(BASE) --head $(HEAD) $(if $(DIFF_STACK),--stack $(DIFF_STACK))

urn-snapshot: $(STAMP) ## Record the stateful URNs of STACK on purpose (a reviewed change)
	$(RUN) -m offline.urn_snapshot --stack $(STACK)

stacks: $(STAMP) ## ENV's stacks, what each reads and the deploy waves (FORMAT=json or mermaid)
	@$(RUN) -m offline.layout --environment $(ENV) --format $(FORMAT)

docs: $(STAMP) ## Regenerate the README's guardrail table, the per-layer pack configs and docs/stacks.md
	$(RUN) -m offline.policy_table

bench: $(STAMP) ## make plan of every prod stack against the SDK's own floor, phase by phase (one alternating run)
	$(RUN) benchmarks/plan_time.py

bench-suite: $(STAMP) servers ## The whole suite's wall time against one prod plan's, in one run
	$(RUN) benchmarks/suite_time.py

bench-capacity: $(STAMP) servers ## Per-unit capacity of PgBouncer, PostgreSQL and the cache, measured with the real servers
	$(RUN) benchmarks/capacity_units.py

.PHONY: prices
prices: $(STAMP) ## Refresh regions/prices.json from the AWS Price List API (AWS credentials needed)
	$(RUN) -m operations.prices $(if $(DRY_RUN),--dry-run)

.PHONY: preflight
preflight: $(STAMP) ## Quotas and usage of STACK's account against the plan (AWS credentials needed)
	$(RUN) -m operations.preflight --stack $(STACK) $(if $(MANIFEST),--manifest $(MANIFEST))

.PHONY: verify
verify: $(STAMP) ## After `pulumi up`: STACK's resources against the plan (AWS credentials; pulumi CLI or OUTPUTS=file)
	$(RUN) -m operations.verify --stack $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(if $(MANIFEST),--manifest $(MANIFEST))

# --compile-bytecode: uv installs sources only, and CI images commonly set PYTHONDONTWRITEBYTECODE=1, so
# without it every process compiles the SDKs' sources again (pulumi_aws alone is thousands of modules).
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode --python $(PYTHON)
	@touch $@

.bootstrap/bin/uv:
	$(PYTHON) -m venv .bootstrap
	.bootstrap/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

clean:
	rm -rf $(VENV) .bootstrap .pytest_cache .mypy_cache .ruff_cache .hypothesis
