# Emtihan — two commands: `make run` (set up and serve the demo) and `make test` (set up and test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgresql lint messages clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo serves plain HTTP on loopback, so its cookies cannot carry the Secure flag;
# production runs behind TLS with the default EMTIHAN_COOKIE_SECURE=true.
run: install
	$(BIN)/emtihan db upgrade
	$(BIN)/emtihan demo --base-url http://$(HOST):$(PORT)
	EMTIHAN_COOKIE_SECURE=$${EMTIHAN_COOKIE_SECURE:-false} $(BIN)/emtihan serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster.
test: install test-sqlite test-postgresql

test-sqlite: install
	@echo "== tests on SQLite =="
	env -u EMTIHAN_TEST_DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider

test-postgresql: install
	@echo "== tests on PostgreSQL =="
	$(BIN)/python -m tests.support.pg_cluster run -- $(BIN)/python -m pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server question_bank

messages: install
	$(BIN)/python -m server.i18n.catalog update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
