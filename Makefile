# The two commands users run are `make run` and `make test` (see README.md).
# `make bench` is the maintainers' third (docs/benchmark.md). Every other target is a step they use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

BENCH_VENV ?= .venv-bench
BENCH_ARGS ?=

.PHONY: run test install lint bench

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

## run: install, migrate, seed the demo users and data, and serve on daphne (http://127.0.0.1:8000)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/daphne --bind $(HOST) --port $(PORT) project.asgi:application

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## test: lint and the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: lint
	$(BIN)/pytest

# The benchmark's own environment: the app's requirements plus the references (DCRF) and py-spy.
$(BENCH_VENV)/bin/.installed: requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements.txt -r bench/requirements.txt
	touch $@

## bench: the five scenarios against this project, bare websockets and DCRF (needs PostgreSQL and Redis; docs/benchmark.md)
bench: $(BENCH_VENV)/bin/.installed
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)
