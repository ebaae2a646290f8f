"""Engine factory: SQLite as the embedded default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import threading
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option set by the request session for unsafe HTTP methods (see server.db.session).
WRITE_INTENT = "emtihan_write_intent"
# A connection's ``info`` key: it holds the process's SQLite write turn (``_WriteTurn``).
_HOLDS_TURN = "emtihan_holds_write_turn"

# Connections per process. A request holds one only inside one thread job (its handler, then
# the teardown, which FastAPI runs outside the shared thread limiter), so a full pool makes
# requests wait, never wedge. SQLite connections are cheap: enough for AnyIO's 40 worker threads
# plus the websocket and background work, so a request rarely waits for one.
SQLITE_POOL_SIZE = 48
SQLITE_POOL_OVERFLOW = 16
BUSY_TIMEOUT_S = 30


class _WriteTurn:
    """SQLite's single writer, queued inside the process instead of by SQLite's busy handler.

    The busy handler polls with sleeps that grow to 100 ms and serves no one in order, so under
    load a save could wait for seconds while others went first. Threads of one process that
    want to write wait here instead, on a lock that wakes the next one as soon as the COMMIT (or
    ROLLBACK) has returned. Other processes on the same file still meet the busy handler.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        # Wrapped on this engine's dialect instance: the pool's reset-on-return rolls back
        # through the same method, so a connection never goes back to the pool holding the turn.
        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]

        # A connection thrown away while holding the turn (a broken one) gives it back too.
        @event.listens_for(engine.pool, "invalidate")
        def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
            if record.info.pop(_HOLDS_TURN, False):
                self._lock.release()

    def take(self, connection: Any) -> None:
        info = connection.connection.info
        if not info.get(_HOLDS_TURN):
            # As long as SQLite's own busy timeout: a writer that waits longer fails the same way.
            if not self._lock.acquire(timeout=BUSY_TIMEOUT_S):
                raise sqlite3.OperationalError("database is locked")
            info[_HOLDS_TURN] = True

    def release(self, dbapi_connection: Any) -> None:
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connect, outside the pool: no turn
            return
        if info.pop(_HOLDS_TURN, False):
            self._lock.release()


def _configure_sqlite(engine: Engine) -> None:
    turn = _WriteTurn(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: the module's
        # own implicit BEGIN breaks SAVEPOINTs and cannot take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it is acknowledged, so an answer shown as saved
        # survives a power cut, not only a crash of the server process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A request that will write takes the write lock at BEGIN. Otherwise a read-then-write
        # transaction could fail with SQLITE_BUSY_SNAPSHOT when another writer commits between.
        if connection.get_execution_options().get(WRITE_INTENT):
            turn.take(connection)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                turn.release(connection.connection)
                raise
        else:
            connection.exec_driver_sql("BEGIN")


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def write_intent(engine: Engine) -> Engine:
    """The engine whose transactions begin ready to write (SQLite: ``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{WRITE_INTENT: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
