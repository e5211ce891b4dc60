# Entry points: make demo | serve | test | lint | format | services-up / services-down. See README.md (Two commands, Tests).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEV_SERVICES_DIR ?= /tmp/scorecard-dev-services
# The embedded mode, said explicitly: DEBUG is off unless set (production fails closed).
EMBEDDED := DEBUG=1

.PHONY: help install demo serve test lint format services-up services-down

help:
	@echo "make demo          install, migrate, seed the demo organisation, serve on http://$(HOST):$(PORT)"
	@echo "make serve         install, migrate, serve (no demo data)"
	@echo "make test          lint + tests on SQLite, then on a throwaway PostgreSQL + Redis with a real worker"
	@echo "make lint          ruff check, ruff format --check, mypy"
	@echo "make format        ruff format + ruff check --fix"
	@echo "make services-up   start a throwaway PostgreSQL + Redis for manual use (services-down stops it)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

demo: install
	$(EMBEDDED) $(PY) manage.py migrate --noinput
	$(EMBEDDED) $(PY) manage.py seed_demo
	$(EMBEDDED) $(PY) manage.py runserver $(HOST):$(PORT)

serve: install
	$(EMBEDDED) $(PY) manage.py migrate --noinput
	$(EMBEDDED) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	@VENV=$(VENV) bash scripts/test.sh

lint: install
	@VENV=$(VENV) bash scripts/lint.sh

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

services-up:
	@PYTHON=$(PYTHON) bash scripts/services.sh start $(DEV_SERVICES_DIR)
	@echo "now run:  source $(DEV_SERVICES_DIR)/env   (then make serve, pytest, celery -A scorecard worker -Q scorecard,recompute-0 --pool=solo)"

services-down:
	@bash scripts/services.sh stop $(DEV_SERVICES_DIR)
