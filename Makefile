# The two commands users run are `make run` and `make test` (see README.md).
# `make bench` is the maintainers' third (docs/benchmark.md). Every other target is a step they use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
NPM ?= npm
FRONTEND := frontend
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src -type f 2>/dev/null) \
	$(FRONTEND)/index.html $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig.json $(FRONTEND)/package-lock.json

BENCH_VENV ?= .venv-bench
BENCH_ARGS ?=

.PHONY: run test install lint frontend frontend-test bench dist

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

$(FRONTEND)/node_modules/.installed: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && $(NPM) ci --no-audit --no-fund
	touch $@

$(FRONTEND)/dist/index.html: $(FRONTEND)/node_modules/.installed $(FRONTEND_SOURCES)
	cd $(FRONTEND) && $(NPM) run build

## frontend: install the npm packages (npm ci) and build the demo app into frontend/dist (when sources changed)
frontend: $(FRONTEND)/dist/index.html

## frontend-test: prettier and tsc, then the client's unit tests (Vitest)
frontend-test: $(FRONTEND)/node_modules/.installed
	cd $(FRONTEND) && $(NPM) run lint
	cd $(FRONTEND) && $(NPM) test

## run: install, build the demo app, migrate, seed the demo users and data, and serve on daphne (http://127.0.0.1:8000)
run: install
	@$(MAKE) --no-print-directory frontend || { test -f $(FRONTEND)/dist/index.html && \
		echo "warning: could not rebuild the frontend; serving the existing build" >&2; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --url http://$(HOST):$(PORT)/
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/daphne --bind $(HOST) --port $(PORT) project.asgi:application

## dist: build the realtime package's wheel into dist/ (what `pip install .` installs; docs/integration.md)
dist: install
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## test: lint, the frontend unit tests, the build, and the whole pytest suite (browser tests included)
test: lint frontend-test frontend
	$(BIN)/pytest

# The benchmark's own environment: the app's requirements plus the references (DCRF) and py-spy.
$(BENCH_VENV)/bin/.installed: requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements.txt -r bench/requirements.txt
	touch $@

## bench: the scenarios against this project, bare websockets and DCRF, then the scaling ones (needs PostgreSQL and Redis; docs/benchmark.md)
bench: $(BENCH_VENV)/bin/.installed
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)
