# Album Store: `make run` serves the demo store, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test lint format wheel-check soak bench install-dev install-test lock clean browser services cluster screenshots mutants mutants-pending

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Each stamp is rebuilt when the project's requirements or the lock file change.
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.installed-test

install-test: $(VENV)/.installed-test
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed-dev
	$(BIN)/album-store initdb development.ini --demo
	$(BIN)/python -m devtools.serve_demo development.ini

# The whole suite; the browser tests skip (and say why) where Chromium is missing: see `make browser`.
# TEST_DATABASE_URL=postgresql+psycopg:///NAME?host=/var/run/postgresql runs it on PostgreSQL.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# ruff over the whole tree (settings in pyproject.toml): the lint rules, and the format checked, not written.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Writes ruff's format and its safe fixes; `make lint` afterwards says what is left for a person.
format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# An installed wheel migrates: build the wheel, install it in a fresh virtualenv, then `album-store initdb`
# from a folder outside the checkout (devtools/wheel_check.sh; about a minute; a step of .ci/run).
wheel-check:
	PYTHON=$(PYTHON) bash devtools/wheel_check.sh

# The money model (tests/functional/test_money_model.py) for much longer: hundreds of random runs of the
# store against Stripe, each failure printed as a shrunk sequence of steps (ALBUM_STORE_MODEL_EXAMPLES/_STEPS).
soak: $(VENV)/.installed-test
	ALBUM_STORE_SOAK=1 $(BIN)/python -m pytest -q -o faulthandler_timeout=0 tests/functional/test_money_model.py

# Chromium for the browser tests, from Debian's packages (needs root; nothing to do when installed).
browser:
	@bash devtools/install_chromium.sh

# nginx and redis-server from Debian's packages, for `make cluster` and the tests behind nginx or on Redis.
services:
	@bash devtools/install_services.sh

# The store past one machine, here (devtools/cluster.py): PostgreSQL, Redis, S3 (moto), the Stripe
# stand-in, two store processes, a worker and nginx with TLS in front; prints the URL; Ctrl-C stops all.
cluster: $(VENV)/.installed-test services
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m devtools.cluster

# Screenshots of the main pages, at desktop and phone width, into docs/screenshots/ (needs Chromium).
screenshots: $(VENV)/.installed-test browser
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots ALBUM_STORE_REQUIRE_BROWSER=1 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_screenshots.py
	@ls -1 docs/screenshots

# Page throughput against a bare Pyramid view (same waitress settings and layout), at 100 and 10,000 albums, and
# every target of issue 18 with met/missed (about half an hour: a 10-minute memory run; BENCH_ARGS=--quick for a
# short try, BENCH_ARGS=--dry-run prints the target lines from made-up figures); writes bench/RESULTS.md.
bench: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Mutation testing of the money and access guarantees (mutmut, one worker; see docs/mutants.md):
# mutates the modules and functions named in devtools/mutants.py, runs the fast tests that reach each
# mutant, then prints the score per module and the surviving mutants. Results are kept in mutants/
# (ignored by git); not part of `make test` or CI: it takes the better part of an hour here.
$(VENV)/.installed-mutants: pyproject.toml constraints.txt | $(VENV)/.installed-test
	$(PIP) -e '.[test,mutants]'
	@touch $@

# `make mutants MODULES="settlement settings"` runs only the modules whose name contains a word.
MODULES ?=
mutants: $(VENV)/.installed-mutants
	@if [ -d mutants ]; then $(BIN)/python -m devtools.mutants --sync; fi
	set -f; $(BIN)/mutmut run --max-children 1 $$($(BIN)/python -m devtools.mutants --names $(MODULES))
	$(BIN)/python -m devtools.mutants

# Only the mutants without a result, or that survived: resumes a stopped run, or tries the survivors
# against new tests (mutmut runs again every mutant it is named).
mutants-pending: $(VENV)/.installed-mutants
	@if [ -d mutants ]; then $(BIN)/python -m devtools.mutants --sync; fi
	set -f; names="$$($(BIN)/python -m devtools.mutants --pending $(MODULES))"; \
	  if [ -n "$$names" ]; then $(BIN)/mutmut run --max-children 1 $$names; fi
	$(BIN)/python -m devtools.mutants

# Re-pin every dependency after changing pyproject.toml: a fresh venv, the dev extras, then freeze.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --disable-pip-version-check -q -e '.[dev,mutants]'
	( echo "# Pinned by 'make lock' from pyproject.toml; 'make run' and 'make test' install with it."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^album.store' ) > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) album_store.sqlite* .pytest_cache test-artifacts mutants
