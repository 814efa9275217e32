# Court-circuit: `make run` to try it, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app webapp
VENDOR := webapp/static/vendor

.PHONY: setup run test test-js test-fast test-e2e lint bench translations chromium pango redis clean lock audit

setup: $(BIN)/.installed $(VENDOR)/.copied translations-compiled

# Exact versions with their hashes (requirements.lock, from pyproject.toml and its dev extra):
# pip refuses any file whose hash differs. `make lock` regenerates it after a pyproject change.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENDOR)/.copied: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.jade.min.css $(VENDOR)/pico.min.css
	cp node_modules/idb/build/umd.js $(VENDOR)/idb.umd.js
	cp node_modules/signature_pad/dist/signature_pad.umd.min.js $(VENDOR)/signature_pad.umd.min.js
	touch $@

translations-compiled: $(BIN)/.installed
	$(BIN)/pybabel compile -f -d webapp/translations >/dev/null

# Re-extract the strings and merge them into the catalogues (developers, after editing text).
translations: $(BIN)/.installed
	$(BIN)/pybabel extract --no-location --omit-header -F babel.cfg -k _l -o webapp/translations/messages.pot webapp templates
	$(BIN)/pybabel update --no-fuzzy-matching -i webapp/translations/messages.pot -d webapp/translations

# Debian's Chromium drives the browser tests (Playwright's own download is not reachable).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing: run 'sudo apt-get install chromium' (browser tests need it)"; exit 1; fi

# Debian's redis-server: the login limits' Redis storage is tested against a real one
# (tests/test_login_limits_redis.py starts it on a free port). Not needed to run the app.
redis:
	@if command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	else echo "redis-server is missing: run 'sudo apt-get install redis-server' (its tests are skipped)"; fi

# WeasyPrint (contracts, purchase orders) needs Pango; the sign-in PDF (ReportLab) draws
# with DejaVu Sans (accents, the tick boxes). Most Debian images have both already.
pango:
	@if ldconfig -p | grep -q libpangoft2-1.0 && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	else echo "Pango or DejaVu is missing: run 'sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core' (PDFs need them)"; fi

run: setup pango
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	PUBLIC_URL=$${PUBLIC_URL:-http://127.0.0.1:$(PORT)} $(FLASK) notify-loop & \
	trap 'kill $$! 2>/dev/null' EXIT; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The non-browser tests on both cores (one file per worker: module-scoped worlds stay
# whole), then the browser tests, which start their own servers, one at a time.
PYTEST_WORKERS ?= 2
test: setup chromium pango redis test-js
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests
	$(BIN)/pytest -q e2e

# The sheet's JavaScript in Node's own test runner (merge vectors, state, outbox).
test-js: node_modules/.package-lock.json
	node --test js-tests/*.test.js

test-fast: setup
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests

lint: setup
	$(BIN)/ruff check webapp tests e2e
	$(BIN)/ruff format --check webapp tests e2e
	npx --no-install biome lint

bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/sheet.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR)

# The deployment of deploy/ for real on 127.0.0.1 (root: nginx and PostgreSQL): throwaway
# PostgreSQL, two gunicorn masters, nginx over HTTPS, the personas' browser paths through it,
# then everything stopped. About a minute; not part of `make test`. See README, "Deployment".
deploy-check: setup chromium pango
	BIN=$(CURDIR)/$(BIN) bash deploy/check.sh

# 1,000 groups on PostgreSQL through nginx: the busiest hour of a closing evening, measured.
# Builds its data (a few minutes), writes bench/results/scale.json. See README, "Benchmarks".
bench-scale: setup
	BIN=$(CURDIR)/$(BIN) bash bench/scale.sh

# PNGs of every persona's main pages at phone, tablet (both ways) and laptop sizes, in French
# and English, from a throwaway demo: screenshots/<lang>/<persona>-<page>-<size>.png (~1 min).
screenshots: setup chromium
	$(BIN)/python scripts/screenshots.py

# The lock file again from pyproject.toml (its dev extra included), for Python 3.11 and any
# platform, with hashes. uv comes from PyPI into the venv; commit requirements.lock after.
lock: $(BIN)/.installed
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --quiet -o requirements.lock

# Known advisories: pip-audit over requirements.lock and npm audit, each with a timeout
# (AUDIT_TIMEOUT, 120 s). Fails on an advisory; says plainly when a service cannot be reached.
audit: $(BIN)/.installed
	BIN=$(CURDIR)/$(BIN) $(BIN)/python scripts/audit.py
