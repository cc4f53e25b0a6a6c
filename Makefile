# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run web worker test bench lint format migrate superuser install clean help

help:
	@echo "make run      set up .venv, migrate, run the site on http://$(HOST):$(PORT) and its worker"
	@echo "make test     set up .venv and run the whole test suite"
	@echo "make bench    print the speed and memory benchmarks"
	@echo "make lint     ruff, migrations check, hadolint and compose validation"
	@echo "make worker   run the django-q2 cluster alone"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the requirements change.
$(STAMP): requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements/dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Web server and worker together; Ctrl-C stops both (the trap kills the whole group).
run: migrate
	@echo "Inspire on http://$(HOST):$(PORT)  (Ctrl-C stops the site and the worker)"
	@export DEBUG=$${DEBUG:-1} INSPIRE_ALLOW_PRIVATE_URLS=$${INSPIRE_ALLOW_PRIVATE_URLS:-0}; \
	trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py qcluster & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT) & \
	wait

web: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py qcluster

superuser: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py createsuperuser

test: $(STAMP)
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-bench-only-secret-key} $(BIN)/python -m tests.bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/python docker/check.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache test-output
