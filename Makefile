# inmail — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser axe pgbouncer netns-tools demo test lint typecheck pytest screenshots bench lock clean openapi

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The demo's operator token; set INMAIL_ADMIN_TOKEN to use your own.
export INMAIL_ADMIN_TOKEN ?= demo-operator-token

demo: install
	$(BIN)/inmail db upgrade
	$(BIN)/inmail demo-data
	@echo "inmail is starting on http://127.0.0.1:8000 (operator token: $$INMAIL_ADMIN_TOKEN; Ctrl-C stops it)"
	$(BIN)/inmail serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy --strict src benchmarks tests

# Debian's Chromium for the browser tests (tests/web), installed only when it is missing.
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { echo "installing chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's iproute2 (`ip netns`) for the many-hosts test (tests/api/test_many_hosts.py), which
# also needs pgbouncer; installed only when missing.
netns-tools: pgbouncer
	@{ test -x /usr/sbin/ip || test -x /sbin/ip; } || { \
	  echo "installing iproute2 for the many-hosts test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
# Debian's pgbouncer for the transaction-pooling tests and benchmarks (tests/pgbouncer.py
# starts private ones on free ports; the package's own service is never used), installed only
# when it is missing.
PGBOUNCER := /usr/sbin/pgbouncer

pgbouncer:
	@test -x $(PGBOUNCER) || { echo "installing pgbouncer for the pooling tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }

# axe-core, pinned in tests/web/package-lock.json, for the accessibility checks (tests/web/axe.py).
AXE := tests/web/node_modules/axe-core/axe.min.js

axe: $(AXE)

$(AXE): tests/web/package.json tests/web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for axe-core: apt-get install npm"; exit 1; }
	npm ci --prefix tests/web --no-audit --no-fund
	touch $(AXE)

pytest: install browser axe pgbouncer netns-tools
	$(BIN)/pytest

# Every page at 1280 and 390 px into docs/screenshots/ (the README's tour links them).
screenshots: install browser axe
	INMAIL_TOUR_DIR=docs/screenshots $(BIN)/pytest tests/web/test_tour.py tests/web/test_team_browser.py -q

test: lint typecheck pytest

# The published OpenAPI document beside docs/api.md (a test fails when it is not current).
openapi: install
	$(BIN)/inmail openapi --output docs/openapi.json

bench: install pgbouncer
	$(BIN)/python -m benchmarks

# Re-pin every dependency (needs the network to PyPI).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/web/node_modules
