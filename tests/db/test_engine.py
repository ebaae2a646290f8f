"""SQLite is configured for durability; both databases keep UTC instants aware."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.db import create_db_engine
from server.db.engine import write_intent
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
