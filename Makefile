# Spectrum: `make run` to try it, `make test` to test it. Needs only Python 3.11 and make.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run worker beat test test-postgres lint install migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the requirement files change.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

# The web server, and beside it one Celery worker with beat embedded (scheduled work, reminders). Without
# REDIS_URL or CELERY_BROKER_URL the queue is the .queue folder: nothing else to install. Both stop with Ctrl+C.
run: demo
	@echo "Spectrum is starting on http://$(HOST):$(PORT)/ with a task worker (Ctrl+C to stop)"
	@$(BIN)/celery -A spectrum worker --beat --pool=solo --loglevel=WARNING & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production-like: a worker and beat as separate processes (README, "Task queue").
worker: migrate
	$(BIN)/celery -A spectrum worker --loglevel=INFO

beat: migrate
	$(BIN)/celery -A spectrum beat --loglevel=INFO

test: install
	$(BIN)/python -m pytest

# The same suite against PostgreSQL (DATABASE_URL defaults to the local server).
test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/spectrum} $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
