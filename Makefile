# Emtihan — two commands: `make run` (set up and serve the demo) and `make test` (set up and test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgresql check-chromium check-redis lint messages clean

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

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster. Both passes include
# the browser and kill -9 tests: the real server process must keep its promises on each database.
test: install test-sqlite test-postgresql

test-sqlite: install check-chromium check-redis
	@echo "== tests on SQLite =="
	env -u EMTIHAN_TEST_DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider

test-postgresql: install check-chromium check-redis
	@echo "== tests on PostgreSQL =="
	$(BIN)/python -m tests.support.pg_cluster run -- $(BIN)/python -m pytest -p no:cacheprovider

# The browser tests drive Debian's Chromium (Playwright cannot download its own here): a missing
# browser stops the run with the install command, it never silently skips them.
check-chromium:
	@test -x /usr/bin/chromium || { \
	  echo "/usr/bin/chromium was not found: the browser tests drive Debian's Chromium." >&2; \
	  echo "Install it, e.g. on Debian/Ubuntu: apt-get update && apt-get install -y chromium" >&2; \
	  exit 1; }

# The two-process test fans events out through a Redis server it starts itself.
check-redis:
	@command -v redis-server >/dev/null || { \
	  echo "redis-server was not found: the two-process console test starts one." >&2; \
	  echo "Install it, e.g. on Debian/Ubuntu: apt-get update && apt-get install -y redis-server" >&2; \
	  exit 1; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server question_bank

messages: install
	$(BIN)/python -m server.i18n.catalog update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
