# coord developer tasks. `make help` lists them.
#
# Every setting below can be overridden from the environment or the command line, e.g.
#   make test COORD_TEST_DATABASE_URL=postgresql://127.0.0.1:5432/mydb
#   PORT=5077 DATABASE_URL=sqlite:////tmp/coord.sqlite3 make run

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
FLASK  := $(PY) -m flask --app wsgi
STAMP  := $(VENV)/.installed

COORD_TEST_DATABASE_URL ?= postgresql://127.0.0.1:5432/test
PYTEST_ARGS ?=
export PORT ?= 5000
IMAGE ?= coord:dev

.PHONY: help venv lock run test test-pg test-sqlite lint migrate seed bench docker-build clean translations extract-messages

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install coord with its dev tools from the lock file

# The exact versions (with hashes) come from requirements/dev.txt, made from pyproject.toml by
# `make lock`; coord itself is installed on top, editable, without resolving anything again.
$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

LOCK := $(BIN)/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe \
	--no-emit-index-url --no-emit-find-links
lock: venv ## pin every dependency of pyproject.toml in requirements/runtime.txt and dev.txt
	$(LOCK) --upgrade -o requirements/runtime.txt pyproject.toml
	$(LOCK) --upgrade --extra dev -o requirements/dev.txt pyproject.toml

# The English catalog of the web UI (Indonesian is the source language), compiled by the build.
MO := coord/translations/en/LC_MESSAGES/messages.mo
$(MO): coord/translations/en/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d coord/translations

translations: $(MO) ## compile the message catalogs

extract-messages: venv ## refresh the catalog from the code (then translate coord/translations/en/...)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o coord/translations/messages.pot .
	$(BIN)/pybabel update -i coord/translations/messages.pot -d coord/translations

# `make run` starts three processes with honcho (see Procfile): web (gunicorn), worker and cron.
# DATABASE_URL unset means the SQLite file instance/coord.sqlite3. Worker and cron wait for
# Redis (workers/supervise.py), so the web keeps serving when Redis is down.
run: export WEB_CONCURRENCY ?= $(shell n=$$(( $$(nproc) + 1 )); echo $$(( n < 3 ? n : 3 )))
run: venv translations migrate ## migrate, seed the demo data, start web + worker + cron on http://127.0.0.1:$PORT/
	@echo "Loading the demo data (idempotent; about 20 s the first time)..."
	@$(FLASK) coord seed-demo > instance/.demo-logins.txt
	@echo
	@echo "======================================================================"
	@echo "  coord:    http://127.0.0.1:$(PORT)/"
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "  OpenAPI:  http://127.0.0.1:$(PORT)/api/v1/openapi.json"
	@echo
	@sed 's/^/  /' instance/.demo-logins.txt
	@$(PY) -m workers.supervise check 2>&1 | sed 's/^/  /' || { echo; \
	  echo "  The API works, but background work (webhooks, reminders) waits until Redis is up."; }
	@echo "======================================================================"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile

test: venv translations ## lint and type-check, then the whole suite on PostgreSQL and on SQLite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy coord workers
	@failed=""; \
	$(MAKE) --no-print-directory test-pg || failed="$$failed PostgreSQL"; \
	$(MAKE) --no-print-directory test-sqlite || failed="$$failed SQLite"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED on$$failed"; exit 1; fi; \
	echo "make test: passed on PostgreSQL and SQLite"

# pytest exits 5 when it collected no tests; like any non-zero status, that fails the target.
test-pg: venv ## run the suite on PostgreSQL ($COORD_TEST_DATABASE_URL)
	@echo "==> pytest on PostgreSQL: $(COORD_TEST_DATABASE_URL)"
	COORD_TEST_DATABASE_URL='$(COORD_TEST_DATABASE_URL)' $(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: venv ## run the suite on a temporary SQLite file
	@echo "==> pytest on SQLite"
	COORD_TEST_DATABASE_URL=sqlite $(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, mypy on coord and workers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy coord workers

migrate: venv ## apply the Alembic migrations to $DATABASE_URL (default instance/coord.sqlite3)
	@mkdir -p instance
	$(FLASK) db upgrade

seed: venv migrate ## load the demo data (idempotent) and print the demo logins
	$(FLASK) coord seed-demo

bench: venv ## run the API benchmark (bench/api.py) if it exists
	@if [ -f bench/api.py ]; then $(PY) bench/api.py; else echo "bench/api.py does not exist yet"; fi

docker-build: ## build the image ($IMAGE, default coord:dev)
	docker build -t $(IMAGE) .

clean: ## remove caches and build output (keeps .venv and instance/)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
