"""A SQLite file engine for the tests of the write turn and the unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from server.db import create_db_engine
from server.db import engine as engine_module

# These build their own SQLite file, so they run in the PostgreSQL pass of the suite too. Two
# settings make a broken turn fail fast instead of hanging for the production 30 s:
#
# * BUSY_TIMEOUT_S is 1 s, so a writer waiting on a turn nobody gives back fails with
#   "database is locked" after a second;
# * every connection's SQLite busy_timeout is 0: inside one process writers queue on the turn,
#   never in SQLite's busy handler, so a BEGIN IMMEDIATE that meets another writer fails at once.
#   Without the turn, the second of two writers would fail instead of waiting.


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "x.db"


@pytest.fixture
def sqlite_engine(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 1)
    sqlite = create_db_engine(f"sqlite:///{db_file}")

    @event.listens_for(sqlite, "connect")
    def _fail_instead_of_busy_waiting(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    try:
        with sqlite.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE marks (n INTEGER NOT NULL)")
        yield sqlite
    finally:
        sqlite.dispose()


@pytest.fixture
def run_engine(database_url: str, engine: Engine) -> Iterator[Engine]:
    """A new engine of the run's (migrated) database: SQLite, or PostgreSQL in its pass. Used
    one session at a time, its pool holds one connection."""
    other = create_db_engine(database_url)
    try:
        yield other
    finally:
        other.dispose()


@pytest.fixture
def prepared_statements(run_engine: Engine) -> Callable[[], list[str]]:
    """The statements PostgreSQL holds prepared for ``run_engine``'s connection."""

    def statements() -> list[str]:
        with run_engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
            return list(found.scalars())

    return statements
