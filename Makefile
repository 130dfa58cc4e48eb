# The two commands users run are `make run` and `make test` (see README.md).
# Every other target is a step they use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint

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
