# The two commands: `make serve` and `make test`. Each does all of its own set-up.
# `make test-fast` is the inner loop: no services, no browser, no live servers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export TIDEWAY_PORT ?= $(PORT)
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test test-fast system-deps lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# The wheels a writer's install needs (tideway-docs' dependencies and its server extra's,
# Zensical, and setuptools to build it), so that tests/test_adoption.py installs into a fresh
# venv without the network. The test builds tideway-docs' own wheel from the tree it tests.
WHEELHOUSE := var/wheelhouse
$(WHEELHOUSE)/.complete: pyproject.toml constraints.txt $(VENV)/.installed
	$(PY) -m pip wheel --quiet -c constraints.txt --wheel-dir $(WHEELHOUSE) ".[server]" zensical "setuptools>=68"
	rm -f $(WHEELHOUSE)/tideway_docs-*.whl
	touch $@

serve: $(VENV)/.installed
	$(PY) scripts/serve

# Debian packages the test session needs (Redis, Chromium, wrk for bench/).
system-deps:
	@scripts/install-system-deps

# Node tools of the widget's tests (axe-core, terser), pinned by the lockfile.
tests/js/node_modules/.installed: tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.installed $(WHEELHOUSE)/.complete system-deps tests/js/node_modules/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The pure and SQLite tests, in about a minute: no PostgreSQL, Redis, Chromium, live servers
# or publishes of their own (markers: tests/conftest.py). `make test` runs everything.
FAST := not postgres and not redis and not browser and not slow
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "$(FAST)" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check feedback_api tests scripts bench
	$(VENV)/bin/ruff format --check feedback_api tests scripts bench

clean:
	rm -rf var .pytest_cache
