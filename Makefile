# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run web worker test bench lint format migrate superuser install chromium lock clean help

help:
	@echo "make run      set up .venv, migrate, run the site on http://$(HOST):$(PORT) and its worker"
	@echo "              (another port: make run PORT=8001)"
	@echo "make test     set up .venv and run the whole test suite"
	@echo "make bench    print the speed and memory benchmarks"
	@echo "make lint     ruff, migrations check, hadolint and compose validation"
	@echo "make worker   run the django-q2 cluster alone"
	@echo "make lock     regenerate requirements/*.lock after editing requirements/*.txt"

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

# Installs come from the locks: every transitive dependency pinned with its hashes. `make run`
# needs only base.lock; test, lint and bench install dev.lock (base plus the tools). Each stamp
# is redone only when its lock changes.
$(BASE_STAMP): requirements/base.lock | $(BIN)/python
	@echo "Installing requirements/base.lock into $(VENV) (first run only, ~1 min)"
	@$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements/base.lock
	@touch $(BASE_STAMP)

$(DEV_STAMP): requirements/dev.lock | $(BIN)/python
	@echo "Installing requirements/dev.lock into $(VENV) (first run only, ~1 min)"
	@$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements/dev.lock
	@touch $(DEV_STAMP) $(BASE_STAMP)

# After editing requirements/base.txt or dev.txt (the pins people edit): resolve every transitive
# dependency again and record its hashes. It keeps the locked versions the .txt files still
# allow; `make lock LOCK_ARGS=--upgrade` moves the unpinned ones to their newest releases too.
# pip-tools runs from a venv of its own, never .venv.
PIPTOOLS ?= /tmp/inspire-piptools
lock:
	[ -x $(PIPTOOLS)/bin/pip-compile ] || { $(PYTHON) -m venv $(PIPTOOLS) && $(PIPTOOLS)/bin/pip install -q pip-tools==7.6.2; }
	for name in base dev; do \
	  CUSTOM_COMPILE_COMMAND="make lock" $(PIPTOOLS)/bin/pip-compile --quiet --generate-hashes \
	    --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
	    --output-file=requirements/$$name.lock requirements/$$name.txt || exit 1; \
	done

install: $(DEV_STAMP)

migrate: $(BASE_STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Web server and worker together. `set -m` puts each in a process group of its own, so Ctrl-C
# reaches only this shell (a background job of a plain script would ignore SIGINT), and the
# shell stops both whole groups: runserver's autoreloader child and qcluster's workers too.
# SIGINT first, a clean stop; after 5 s SIGKILL for what is left (qcluster's workers can
# outlive their parent). The same when one of them exits by itself, e.g. the port is taken.
run: migrate
	@echo "Inspire on http://$(HOST):$(PORT)  (Ctrl-C stops the site and the worker; another port: make run PORT=8001)"
	@export DEBUG=$${DEBUG:-1} INSPIRE_ALLOW_PRIVATE_URLS=$${INSPIRE_ALLOW_PRIVATE_URLS:-0}; \
	set -m; \
	$(BIN)/python manage.py qcluster & worker=$$!; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT) & web=$$!; \
	stop() { \
	  trap '' INT TERM; \
	  kill -INT -$$web -$$worker 2>/dev/null; \
	  for _ in $$(seq 50); do \
	    kill -0 -$$web 2>/dev/null || kill -0 -$$worker 2>/dev/null || return 0; \
	    sleep 0.1; \
	  done; \
	  kill -KILL -$$web -$$worker 2>/dev/null; \
	}; \
	trap 'stop; exit 130' INT; \
	trap 'stop; exit 143' TERM; \
	wait -n; status=$$?; stop; exit $$status

web: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py qcluster

superuser: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py createsuperuser

# Browser tests need a Chromium: this installs one when there is none, and says how.
chromium: $(DEV_STAMP)
	@tests/browser/install_chromium.sh $(BIN)

test: $(DEV_STAMP) chromium
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(BIN)/python -m pytest $(PYTEST_ARGS)

# PySceneDetect for the frames benchmark, without the opencv-python it asks for (bench.txt).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): requirements/bench.txt $(DEV_STAMP)
	@echo "Installing requirements/bench.txt into $(VENV) (PySceneDetect, without its opencv-python)"
	@$(BIN)/pip install --disable-pip-version-check -q --no-deps --require-hashes -r requirements/bench.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-bench-only-secret-key} $(BIN)/python -m tests.bench $(BENCH_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/python docker/check.py

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache test-output
