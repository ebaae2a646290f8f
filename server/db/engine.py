"""Engine factory: SQLite as the embedded default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option set by the request session for unsafe HTTP methods (see server.db.session).
WRITE_INTENT = "emtihan_write_intent"
# Execution option of the group writers' sessions (``writers_turn``).
WRITERS_TURN = "emtihan_writers_turn"
# PostgreSQL's advisory lock that the group writers take in turn (the audit trail's is 7301).
WRITERS_TURN_KEY = 7302
# A connection's ``info`` key: it holds the process's SQLite write turn (``_WriteTurn``).
_HOLDS_TURN = "emtihan_holds_write_turn"

# Connections per process. A request holds one only inside one thread job (its handler, then
# the teardown, which FastAPI runs outside the shared thread limiter), so a full pool makes
# requests wait, never wedge. SQLite connections are cheap: enough for AnyIO's 40 worker threads
# plus the websocket and background work, so a request rarely waits for one.
SQLITE_POOL_SIZE = 48
SQLITE_POOL_OVERFLOW = 16
BUSY_TIMEOUT_S = 30


class FifoLock:
    """A lock handed to the thread that has waited longest.

    ``threading.Lock`` wakes a waiter on release but lets any thread take the lock first, and the
    releasing thread usually does: a thread that writes in a loop (the group writer) would keep
    SQLite's turn for ever while a sign-in waited behind it. Here a release passes the lock
    directly to the first waiter, so writers are served in the order they came.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Threads waiting for the lock now."""
        return len(self._waiters)

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over: the lock stayed held on the way
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # handed over between the timeout and here: ours all the same
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


class _WriteTurn:
    """SQLite's single writer, queued by the server instead of by SQLite's busy handler.

    The busy handler polls with sleeps that grow to 100 ms and serves no one in order, so under
    load a save could wait for seconds while others went first. Writers wait here instead:

    * threads of one process in order of arrival (``FifoLock``), each woken as soon as the
      COMMIT (or ROLLBACK) before it has returned;
    * processes (uvicorn's workers, the CLI) on an advisory lock of a file beside the database
      (``<database>.write-turn``), taken by the thread that holds the process's lock. The kernel
      drops it with the process, so a killed worker never keeps the turn.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = FifoLock()
        database = engine.url.database
        self._turn_file = (
            None if not database or database == ":memory:" else f"{database}.write-turn"
        )
        self._fd: int | None = None
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
                self._give_back()

    def take(self, connection: Any) -> None:
        info = connection.connection.info
        if not info.get(_HOLDS_TURN):
            # As long as SQLite's own busy timeout: a writer that waits longer fails the same way.
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            if not self._lock.acquire(timeout=BUSY_TIMEOUT_S):
                raise sqlite3.OperationalError("database is locked")
            try:
                self._take_file(deadline)
            except BaseException:
                self._lock.release()
                raise
            info[_HOLDS_TURN] = True

    def _take_file(self, deadline: float) -> None:
        if self._turn_file is None:
            return
        if self._fd is None:
            self._fd = os.open(self._turn_file, os.O_RDWR | os.O_CREAT, 0o600)
        # Polled, not blocking, so that a process that hangs holding the turn makes the others
        # fail after the timeout rather than wait for ever; the pause stays under a millisecond,
        # so the turn is taken within one once it is free.
        pause = 0.00005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def release(self, dbapi_connection: Any) -> None:
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connect, outside the pool: no turn
            return
        if info.pop(_HOLDS_TURN, False):
            self._give_back()

    def _give_back(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
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


# psycopg prepares a statement on the server once a connection has run it five times, and
# PostgreSQL then plans each run anew ("custom plans") for as long as it estimates a generic plan
# costlier. The save's locked read with its facts (four joins and a subquery) took 1.5 ms to plan
# and 0.08 ms to run, and was planned at every other run: in the storm, 14 s of the writer's
# database backend in 80 s (pg_stat_statements, docs/BENCHMARKS.md). Every statement of Emtihan
# looks rows up by key, where the generic plan is the plan; it is made once per connection.
POSTGRESQL_OPTIONS = "-c plan_cache_mode=force_generic_plan"


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
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": POSTGRESQL_OPTIONS},
    )
    _configure_postgresql(engine)
    return engine


# Two statements in one message: the simple query protocol, which psycopg uses for a statement
# without parameters and never prepares (``prepare=False``).
_BEGIN_WRITERS_TURN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITERS_TURN_KEY})"


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Each worker process has a group writer of its own, and one group touches many rows
        # that every group touches: the rooms' event counters, the audit trail's tail. Two
        # groups taking them in different orders deadlock, and PostgreSQL breaks a deadlock only
        # after a second (deadlock_timeout) while both writers, and every request in their
        # groups, wait. Groups that take this lock first run one at a time instead, as SQLite's
        # do; the next group gathers meanwhile. The lock ends with the transaction.
        #
        # The writers' connections are in autocommit (``writers_turn``), so psycopg does not send
        # a BEGIN of its own: the transaction's BEGIN and the lock go as one message, one round
        # trip where there were two. A group of one save was five (BEGIN, lock, read, write,
        # COMMIT), and every round trip waits for a database process to win a core. psycopg's
        # commit and rollback still end the transaction: they look at the server's status.
        if connection.get_execution_options().get(WRITERS_TURN):
            connection.connection.driver_connection.execute(_BEGIN_WRITERS_TURN, prepare=False)


@lru_cache(maxsize=8)
def write_intent(engine: Engine) -> Engine:
    """The engine whose transactions begin ready to write (SQLite: ``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{WRITE_INTENT: True})


@lru_cache(maxsize=8)
def writers_turn(engine: Engine) -> Engine:
    """The engine of the group writers' sessions: ready to write, and on PostgreSQL each
    transaction waits for the writers' turn first (``_configure_postgresql``), which begins
    the transaction itself, so the driver is left in autocommit. On SQLite the write intent is
    the turn already."""
    options: dict[str, Any] = {WRITE_INTENT: True, WRITERS_TURN: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


@lru_cache(maxsize=8)
def read_only(engine: Engine) -> Engine:
    """The engine of sessions that only read (``server.db.session.reading``): on PostgreSQL
    their transactions are READ ONLY, so the database refuses a write and the session can end
    them with COMMIT (``server.db.session.end_read``). SQLite has no such transaction; its
    read sessions roll back as before."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(postgresql_readonly=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
