"""SQLite is configured for durability; both databases keep UTC instants aware."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.db import create_db_engine
from server.db.engine import (
    POSTGRESQL_OPTIONS,
    WRITE_INTENT,
    WRITERS_TURN_KEY,
    FifoLock,
    write_intent,
    writers_turn,
)
from server.models import AuditEntry
from tests.support.worker import Worker


def test_sqlite_pragmas_favour_durability(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_instants_come_back_as_aware_utc(db: Session) -> None:
    almaty = timezone(timedelta(hours=5))
    moment = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=almaty)
    entry = AuditEntry(
        seq=10_000,
        at=moment,
        action="t",
        subject="s",
        details={},
        prev_hash="p" * 64,
        hash="h" * 64,
    )
    db.add(entry)
    db.flush()
    db.expire_all()
    loaded = db.get(AuditEntry, entry.id)
    assert loaded is not None
    assert loaded.at == moment
    assert loaded.at.tzinfo is not None
    assert loaded.at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Session) -> None:
    db.add(
        AuditEntry(
            seq=10_001,
            at=datetime(2026, 1, 1),  # noqa: DTZ001  (the point of the test)
            action="t",
            subject="s",
            details={},
            prev_hash="q" * 64,
            hash="r" * 64,
        )
    )
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with engine.connect() as connection, connection.begin() as transaction:
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            connection.execute(text("INSERT INTO seats (room_id, label) VALUES (987654, 'X')"))
        transaction.rollback()


# --- the turn's lock: served in order of arrival (server.db.engine.FifoLock) ---


def _wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("the condition did not come true within 10 s")


def _bump(connection: Any, row: int) -> None:
    connection.execute(text("UPDATE writers_turn_probe SET n = n + 1 WHERE id = :id"), {"id": row})


def _until_a_transaction_waits(engine: Engine) -> None:
    """Until another transaction waits for a lock (PostgreSQL shows it; SQLite's turn does not)."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.2)
        return
    deadline = time.monotonic() + 5
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).scalar()
            watcher.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("no transaction waits for a lock")


def test_group_writers_take_turns_so_their_groups_never_deadlock(engine: Engine) -> None:
    """Two workers' group writers lock the same rows (the rooms' event counters) in opposite
    orders. Without a turn, PostgreSQL lets both lock one row each and breaks the deadlock after a
    second; with it, the second group begins only once the first has committed."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE writers_turn_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"
        )
        connection.exec_driver_sql("INSERT INTO writers_turn_probe (id, n) VALUES (1, 0), (2, 0)")
    order: list[str] = []

    def second_group() -> None:
        with writers_turn(engine).begin() as connection:
            _bump(connection, 2)
            order.append("second group locked row 2")
            _bump(connection, 1)

    worker = Worker(second_group)
    try:
        with writers_turn(engine).begin() as first:
            _bump(first, 1)
            worker.start()
            # The second group waits: for the turn, or (without one) for row 1 having locked 2.
            _until_a_transaction_waits(engine)
            _bump(first, 2)
            order.append("first group commits")
        worker.finish()
        with engine.connect() as connection:
            counts = connection.exec_driver_sql("SELECT id, n FROM writers_turn_probe").all()
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE writers_turn_probe")
    assert order == ["first group commits", "second group locked row 2"]
    assert dict(counts) == {1: 2, 2: 2}


def test_a_free_lock_is_taken_at_once_and_given_back() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=0)
    lock.release()
    assert lock.acquire(timeout=0)
    lock.release()
    assert lock.waiting == 0


def test_the_lock_goes_to_the_waiters_in_order_before_its_last_holder_takes_it_again() -> None:
    # The group writer's pattern: it gives the turn back and asks for it again at once. With
    # threading.Lock it would usually win; here every earlier waiter goes first.
    lock = FifoLock()
    order: list[str] = []
    assert lock.acquire(timeout=1)

    def waiter(name: str) -> Callable[[], None]:
        def take() -> None:
            assert lock.acquire(timeout=10)
            order.append(name)
            lock.release()

        return take

    workers = []
    for position, name in enumerate(["first", "second", "third"], start=1):
        worker = Worker(waiter(name))
        worker.start()
        _wait_until(lambda position=position: lock.waiting == position)
        workers.append(worker)
    lock.release()
    assert lock.acquire(timeout=10)
    order.append("last holder again")
    lock.release()
    for worker in workers:
        worker.finish()
    assert order == ["first", "second", "third", "last holder again"]


@pytest.mark.parametrize("timeout", [0, 0.05])
def test_a_waiter_that_times_out_leaves_the_line_and_the_lock_as_it_was(timeout: float) -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    outcome: list[bool] = []
    worker = Worker(lambda: outcome.append(lock.acquire(timeout=timeout)))
    worker.start()
    worker.finish()
    assert outcome == [False]
    assert lock.waiting == 0
    lock.release()
    # Free again: nobody was handed a lock they gave up waiting for.
    assert lock.acquire(timeout=0)
    lock.release()


# --- SQLite's write turn (server.db.engine._WriteTurn): fixtures in tests/db/conftest.py ---


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM marks").scalar_one())


def _write(engine: Engine, n: int) -> None:
    with write_intent(engine).begin() as connection:
        connection.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})


def _write_on_another_thread(engine: Engine, n: int) -> None:
    """Writes ``n`` from another thread, then begins a write on a second connection of the pool.

    Two, so that at least one is not the connection that last held the turn: a turn that went
    back to the pool with its connection would let that one connection through, no other.
    """

    def write_twice() -> None:
        writer = write_intent(engine)
        with writer.connect() as one, writer.connect() as two:
            with one.begin():
                one.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
            with two.begin():  # takes the turn (and SQLite's write lock) too
                pass

    worker = Worker(write_twice)
    worker.start()
    worker.finish()


def test_a_second_writer_begins_only_after_the_first_commits(sqlite_engine: Engine) -> None:
    order: list[str] = []
    trying = threading.Event()
    began = threading.Event()

    def second_writer() -> None:
        trying.set()
        with write_intent(sqlite_engine).begin() as connection:
            order.append("second began")
            began.set()
            # It sees the first writer's row: its transaction started after that commit.
            seen = connection.exec_driver_sql("SELECT n FROM marks").scalars().all()
            order.append(f"second saw {seen}")
            connection.exec_driver_sql("INSERT INTO marks (n) VALUES (2)")

    worker = Worker(second_writer)
    try:
        with write_intent(sqlite_engine).connect() as first:
            with first.begin():
                first.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
                worker.start()
                assert trying.wait(5)
                # The second writer is waiting for its turn (without one it would have failed
                # in SQLite, or begun here).
                assert not began.wait(0.1)
                assert worker.error is None
                order.append("first commits")
            assert began.wait(5)
    finally:
        worker.finish()
    assert order == ["first commits", "second began", "second saw [1]"]
    assert _count(sqlite_engine) == 2


def test_rollback_gives_the_turn_back(sqlite_engine: Engine) -> None:
    with write_intent(sqlite_engine).connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
        transaction.rollback()
        _write_on_another_thread(sqlite_engine, 2)
    assert _count(sqlite_engine) == 1


def test_an_exception_in_the_block_rolls_back_and_gives_the_turn_back(
    sqlite_engine: Engine,
) -> None:
    def write_then_fail() -> None:
        with write_intent(sqlite_engine).begin() as connection:
            connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    _write_on_another_thread(sqlite_engine, 2)
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM marks").scalars().all() == [2]


def test_an_invalidated_connection_gives_the_turn_back(sqlite_engine: Engine) -> None:
    with write_intent(sqlite_engine).connect() as connection:
        connection.begin()
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
        connection.invalidate()
        _write_on_another_thread(sqlite_engine, 2)
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM marks").scalars().all() == [2]


def test_plain_transactions_never_take_the_turn(sqlite_engine: Engine) -> None:
    _write(sqlite_engine, 1)
    read: list[int] = []

    def reader() -> None:
        with sqlite_engine.begin() as connection:
            read.extend(connection.exec_driver_sql("SELECT n FROM marks").scalars())

    with write_intent(sqlite_engine).begin() as writer:
        writer.exec_driver_sql("INSERT INTO marks (n) VALUES (2)")
        worker = Worker(reader)
        worker.start()
        # Finishes while the writer holds the turn (a reader waiting for it would fail after
        # BUSY_TIMEOUT_S with "database is locked").
        worker.finish()
        assert read == [1]  # the writer's row is not committed yet


def _commit(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")


def _rollback(engine: Engine) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
        transaction.rollback()


def _raise(engine: Engine) -> None:
    with contextlib.suppress(RuntimeError), engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
        raise RuntimeError("boom")


def _invalidate(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
        connection.invalidate()


def _close(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
    # closed with its transaction still open: the close rolls it back


@pytest.mark.parametrize(
    ("write_and_end", "kept"),
    [
        pytest.param(_commit, [1, 2], id="commit"),
        pytest.param(_rollback, [2], id="rollback"),
        pytest.param(_raise, [2], id="exception"),
        pytest.param(_invalidate, [2], id="invalidate"),
        pytest.param(_close, [2], id="close-with-transaction-open"),
    ],
)
def test_however_a_write_ends_the_next_writer_proceeds(
    sqlite_engine: Engine, write_and_end: Callable[[Engine], None], kept: list[int]
) -> None:
    write_and_end(write_intent(sqlite_engine))
    _write_on_another_thread(sqlite_engine, 2)
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM marks ORDER BY n").scalars().all() == kept


def test_a_connection_begins_again_after_its_commit_without_waiting_for_itself(
    sqlite_engine: Engine,
) -> None:
    with write_intent(sqlite_engine).connect() as connection:
        for n in (1, 2, 3):
            with connection.begin():
                connection.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
        _write_on_another_thread(sqlite_engine, 4)
    assert _count(sqlite_engine) == 4


def test_a_failed_begin_immediate_gives_the_turn_back(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # Another process's writer (its own connection, outside this engine's turn) holds the file.
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        with write_intent(sqlite_engine).connect() as connection:
            with pytest.raises(OperationalError, match="database is locked"):
                connection.begin()
            other.execute("ROLLBACK")
            # Given back at once, not only when the failed connection goes back to the pool.
            _write_on_another_thread(sqlite_engine, 1)
    finally:
        other.close()
    assert _count(sqlite_engine) == 1


# --- the turn across processes: an advisory lock on <database>.write-turn ---


def _other_engine(db_file: Path) -> Engine:
    """A second engine on the same file: its own turn, as a second worker process has."""
    other = create_db_engine(f"sqlite:///{db_file}")

    @event.listens_for(other, "connect")
    def _fail_instead_of_busy_waiting(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return other


def test_a_writer_of_another_engine_waits_for_the_turn_instead_of_failing(
    sqlite_engine: Engine, db_file: Path
) -> None:
    # busy_timeout is 0 on both: without the shared turn, the second BEGIN IMMEDIATE would fail.
    other = _other_engine(db_file)
    began = threading.Event()

    def second_writer() -> None:
        with write_intent(other).begin() as connection:
            began.set()
            connection.exec_driver_sql("INSERT INTO marks (n) VALUES (2)")

    worker = Worker(second_writer)
    try:
        with write_intent(sqlite_engine).begin() as first:
            first.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
            worker.start()
            assert not began.wait(0.2)
        worker.finish()
    finally:
        other.dispose()
    assert worker.error is None
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM marks ORDER BY rowid").scalars().all() == [
            1,
            2,
        ]


_HOLD_THE_TURN = """
import sys
from server.db import create_db_engine
from server.db.engine import FifoLock, write_intent
engine = create_db_engine(sys.argv[1])
with write_intent(engine).begin() as connection:
    connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1)")
    print("holding", flush=True)
    sys.stdin.read()
"""


def test_a_process_killed_holding_the_turn_leaves_it_free(
    sqlite_engine: Engine, db_file: Path
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_TURN, f"sqlite:///{db_file}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "holding\n"
            # BUSY_TIMEOUT_S is 1 s here: while the other process holds the turn, a writer
            # fails (raised by the turn itself, before SQLAlchemy would wrap SQLite's error).
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                _write(sqlite_engine, 2)
            holder.kill()
            holder.wait(10)
            _write(sqlite_engine, 3)
        finally:
            holder.kill()
    with sqlite_engine.connect() as connection:
        # The killed process's uncommitted row is gone; the writer after it got in.
        assert connection.exec_driver_sql("SELECT n FROM marks").scalars().all() == [3]


def test_postgresql_plans_a_prepared_statement_once(engine: Engine) -> None:
    """PostgreSQL's generic plans: a statement psycopg has prepared is not planned at every run.
    (SQLite prepares each statement once in its own cache; there is nothing to set.)"""
    if engine.dialect.name != "postgresql":
        assert POSTGRESQL_OPTIONS.startswith("-c plan_cache_mode=")
        return
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar()
    assert mode == "force_generic_plan"


def _turn_taken(engine: Engine) -> bool:
    """Whether a transaction holds the writers' lock, seen from a connection of its own."""
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND objid = :key"
                ),
                {"key": WRITERS_TURN_KEY},
            ).scalar()
        )


def test_a_writers_group_begins_and_takes_the_turn_in_one_message(
    engine: Engine, tmp_path: Path
) -> None:
    """PostgreSQL: the group's BEGIN and the writers' lock go to the database as one message,
    a round trip fewer than the driver's own BEGIN and then the lock; COMMIT ends it and gives
    the lock back, and the connection goes back to the pool out of autocommit, for the
    transactions of others."""
    if engine.dialect.name != "postgresql":
        # SQLite's turn is the write intent's BEGIN IMMEDIATE; the driver's transactions stay.
        assert "isolation_level" not in writers_turn(engine).get_execution_options()
        return
    trace = tmp_path / "libpq.trace"
    with writers_turn(engine).connect() as connection:
        driver = connection.connection.driver_connection
        libpq = driver.pgconn
        with trace.open("w") as file:
            libpq.trace(file.fileno())
            libpq.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            with connection.begin():
                connection.exec_driver_sql("SELECT 1")
                held = _turn_taken(engine)
            libpq.untrace()
        assert not _turn_taken(engine)
    sent = [line.split("\t") for line in trace.read_text().splitlines() if line.startswith("F\t")]
    assert held
    assert [message[2] for message in sent] == ["Query", "Query", "Query"]
    assert sent[0][3] == f' "BEGIN; SELECT pg_advisory_xact_lock({WRITERS_TURN_KEY})"'
    assert sent[2][3] == ' "COMMIT"'
    # Back in the pool, the connection is the driver's usual one again.
    assert not driver.autocommit


def test_a_writers_group_rolls_back_whole_and_to_its_savepoints(engine: Engine) -> None:
    """PostgreSQL: the group that began its own transaction still rolls back, to a savepoint
    (a group's rerun piece by piece) and whole, giving the lock back."""
    if engine.dialect.name != "postgresql":
        assert writers_turn(engine).get_execution_options()[WRITE_INTENT]
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE writers_group_probe (n INTEGER NOT NULL)")
    try:
        with writers_turn(engine).connect() as connection:
            with connection.begin() as group:
                connection.exec_driver_sql("INSERT INTO writers_group_probe VALUES (1)")
                with connection.begin_nested() as piece:
                    connection.exec_driver_sql("INSERT INTO writers_group_probe VALUES (2)")
                    piece.rollback()
                kept = connection.exec_driver_sql("SELECT n FROM writers_group_probe").all()
                group.rollback()
            assert not _turn_taken(engine)
        with engine.connect() as connection:
            left = connection.exec_driver_sql("SELECT n FROM writers_group_probe").all()
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE writers_group_probe")
    assert kept == [(1,)]
    assert left == []
