"""Fixtures: a migrated database per run, one rolled-back transaction per test, an app client.

The suite runs on SQLite by default and on PostgreSQL when ``EMTIHAN_TEST_DATABASE_URL`` names a
server (``make test`` does both; see tests/support/pg_cluster.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from server.app import create_app
from server.config import Settings, get_settings
from server.db import create_db_engine
from server.db.migrate import upgrade
from server.i18n import set_locale
from server.seat.questions import forget_rendered
from server.seat.views import clear_item_cache

# The real server in its own process (``live_server``) and Playwright's Chromium (``page``),
# as plugins so tests in any folder (tests/browser, tests/seat) can use them.
pytest_plugins = ["tests.support.live_server", "tests.browser.plugin"]

SERVER_URL_ENV = "EMTIHAN_TEST_DATABASE_URL"


def _create_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    name = f"emtihan_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(autouse=True)
def english_by_default() -> Iterator[None]:
    """Services translate with the ambient language; start every test from English."""
    set_locale("en")
    yield
    set_locale("en")


@pytest.fixture(scope="session")
def fresh_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Make empty databases on the run's database server (or SQLite files)."""
    drops: list[Callable[[], None]] = []
    server_url = os.environ.get(SERVER_URL_ENV)

    def make() -> str:
        if server_url:
            url, drop = _create_postgres_database(server_url)
            drops.append(drop)
            return url
        path = tmp_path_factory.mktemp("db") / "emtihan.db"
        return f"sqlite:///{path}"

    yield make
    for drop in drops:
        drop()


@pytest.fixture(scope="session")
def database_url(fresh_database_url: Callable[[], str]) -> str:
    return fresh_database_url()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _forget_cached_items() -> None:
    # Each test's rows are rolled back and their ids come again in the next test.
    clear_item_cache()
    forget_rendered()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside one transaction that is rolled back after the test.

    Code under test may commit: with ``create_savepoint`` a commit only releases a savepoint.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def cli_database(
    fresh_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A fresh, migrated database that the ``emtihan`` command (run in-process) will use."""
    from typer.testing import CliRunner

    from server.cli import app as cli

    url = fresh_database_url()
    monkeypatch.setenv("EMTIHAN_DATABASE_URL", url)
    monkeypatch.setenv("EMTIHAN_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield url
    get_settings.cache_clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        instance_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        cookie_secure=True,
        default_locale="en",
        deadline_sweeper=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, db: Session) -> FastAPI:
    application = create_app(settings)
    application.state.engine = engine
    application.state.sessionmaker = lambda: db
    # Every request runs in the test's transaction (server.db.session.unit_of_work).
    application.state.single_session = db

    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # https, so the Secure cookies are sent back like a browser would.
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client
