"""The request's unit of work: commit at the end, rollback on error, callbacks after commit.

These build their own SQLite file (the write turn is SQLite's), so they run in the PostgreSQL
pass of the suite too. As in tests/db/test_engine.py, BUSY_TIMEOUT_S is 1 s and SQLite's own
busy timeout is 0, so a writer that is not queued on the turn fails at once instead of waiting.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError
from sqlalchemy.orm import Session

from server.db import make_sessionmaker, table_of
from server.db.engine import WRITE_INTENT, read_only, write_intent
from server.db.session import (
    after_commit,
    columns,
    end_read,
    for_reading,
    forget_loaded,
    reading,
    short_session,
    unit_of_work,
)
from server.models import Room
from tests import factories
from tests.support.worker import Worker


class _Opened:
    """The app's sessionmaker, keeping every session it opens with a spy on ``close``."""

    def __init__(self, engine: Engine) -> None:
        self.maker = make_sessionmaker(engine)
        self.sessions: list[Session] = []
        self.closes: list[mock.Mock] = []

    def __call__(self) -> Session:
        session = self.maker()
        close = mock.Mock(wraps=session.close)
        session.close = close  # type: ignore[method-assign]
        self.sessions.append(session)
        self.closes.append(close)
        return session


@pytest.fixture
def opened(sqlite_engine: Engine) -> _Opened:
    return _Opened(sqlite_engine)


@pytest.fixture
def app(opened: _Opened) -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(sessionmaker=opened))


def _marks(engine: Engine) -> list[int]:
    """What another connection sees: committed rows only."""
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT n FROM marks ORDER BY n").scalars())


def _insert(session: Session, n: int) -> None:
    session.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})


@pytest.mark.parametrize("write", [True, False])
def test_the_work_is_committed_at_the_end_of_the_block(
    app: SimpleNamespace, sqlite_engine: Engine, opened: _Opened, write: bool
) -> None:
    with unit_of_work(app, write=write) as session:
        _insert(session, 1)
        assert _marks(sqlite_engine) == []  # not before the end of the block
    assert _marks(sqlite_engine) == [1]
    opened.closes[0].assert_called_once_with()
    assert sqlite_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_error_rolls_the_work_back_and_propagates(
    app: SimpleNamespace, sqlite_engine: Engine, opened: _Opened
) -> None:
    def write_then_fail() -> None:
        with unit_of_work(app, write=True) as session:
            _insert(session, 1)
            session.flush()
            raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        write_then_fail()
    assert _marks(sqlite_engine) == []
    opened.closes[0].assert_called_once_with()
    assert sqlite_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # The turn went back with the rollback: the next writer proceeds.
    with unit_of_work(app, write=True) as session:
        _insert(session, 2)
    assert _marks(sqlite_engine) == [2]


def test_callbacks_run_only_after_the_commit(app: SimpleNamespace, sqlite_engine: Engine) -> None:
    seen: list[list[int]] = []
    with unit_of_work(app, write=True) as session:
        _insert(session, 1)
        after_commit(session, lambda: seen.append(_marks(sqlite_engine)))
        after_commit(session, lambda: seen.append([-1]))
        session.flush()
        assert seen == []
    # Each ran once, in order, when the row was visible to others.
    assert seen == [[1], [-1]]


def test_callbacks_never_run_after_a_rollback(app: SimpleNamespace) -> None:
    ran: list[str] = []

    def write_then_fail() -> None:
        with unit_of_work(app, write=True) as session:
            _insert(session, 1)
            after_commit(session, lambda: ran.append("callback"))
            raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        write_then_fail()
    assert ran == []


def test_a_failed_commit_runs_no_callback(app: SimpleNamespace, sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE papers (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            "CREATE TABLE notes (paper INTEGER REFERENCES papers DEFERRABLE INITIALLY DEFERRED)"
        )
    ran: list[str] = []

    def write_what_the_commit_refuses() -> None:
        with unit_of_work(app, write=True) as session:
            after_commit(session, lambda: ran.append("callback"))
            # A deferred constraint: the statement succeeds, the COMMIT fails.
            session.execute(text("INSERT INTO notes (paper) VALUES (42)"))

    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        write_what_the_commit_refuses()
    assert ran == []
    # Rolled back, and the turn is free for the next writer.
    with unit_of_work(app, write=True) as session:
        _insert(session, 1)
    assert _marks(sqlite_engine) == [1]


def test_a_single_session_is_used_and_left_open_and_a_rolled_back_callback_is_dropped(
    opened: _Opened, sqlite_engine: Engine
) -> None:
    single = opened()
    app = SimpleNamespace(state=SimpleNamespace(sessionmaker=opened, single_session=single))
    ran: list[str] = []
    try:

        def fail() -> None:
            with unit_of_work(app, write=True) as session:
                assert session is single
                after_commit(session, lambda: ran.append("rolled back"))
                raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            fail()
        with unit_of_work(app, write=True) as session:
            assert session is single
            assert not session.get_bind().get_execution_options().get(WRITE_INTENT)
            _insert(session, 1)
            after_commit(session, lambda: ran.append("committed"))
        assert ran == ["committed"]
        assert _marks(sqlite_engine) == [1]
        assert len(opened.sessions) == 1  # no session of its own
        opened.closes[0].assert_not_called()
    finally:
        single.close()


def test_a_writing_unit_takes_the_write_turn_at_its_first_statement(
    app: SimpleNamespace, sqlite_engine: Engine, db_file: Path
) -> None:
    order: list[str] = []
    began = threading.Event()

    def other_writer() -> None:
        with write_intent(sqlite_engine).begin() as connection:
            order.append("other writer began")
            began.set()
            connection.exec_driver_sql("INSERT INTO marks (n) VALUES (2)")

    worker = Worker(other_writer)
    try:
        with unit_of_work(app, write=True) as session:
            assert session.get_bind().get_execution_options().get(WRITE_INTENT) is True
            session.execute(text("SELECT count(*) FROM marks"))  # a read, yet ready to write
            # SQLite's write lock is taken (BEGIN IMMEDIATE) ...
            _assert_sqlite_write_lock_is_taken(db_file, taken=True)
            # ... and so is the process's turn: another writer waits for it.
            worker.start()
            assert not began.wait(0.1)
            assert worker.error is None
            _insert(session, 1)
            order.append("unit commits")
        assert began.wait(5)
    finally:
        worker.finish()
    assert order == ["unit commits", "other writer began"]
    assert _marks(sqlite_engine) == [1, 2]


def test_a_reading_unit_takes_neither_the_turn_nor_the_write_lock(
    app: SimpleNamespace, sqlite_engine: Engine, db_file: Path
) -> None:
    def other_writer() -> None:
        with write_intent(sqlite_engine).begin() as connection:
            connection.exec_driver_sql("INSERT INTO marks (n) VALUES (2)")

    with unit_of_work(app, write=False) as session:
        assert not session.get_bind().get_execution_options().get(WRITE_INTENT)
        session.execute(text("SELECT count(*) FROM marks"))
        _assert_sqlite_write_lock_is_taken(db_file, taken=False)
        worker = Worker(other_writer)
        worker.start()
        worker.finish()  # done while the reading unit is still open
    assert _marks(sqlite_engine) == [2]


def _assert_sqlite_write_lock_is_taken(db_file: Path, *, taken: bool) -> None:
    """Another process's writer (outside this engine's turn) tries to take SQLite's write lock."""
    other = sqlite3.connect(db_file, isolation_level=None, timeout=0)
    try:
        if taken:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        else:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_short_session_is_closed_at_the_end_of_the_block(
    app: SimpleNamespace, sqlite_engine: Engine, opened: _Opened
) -> None:
    with short_session(app) as session:
        session.execute(text("SELECT count(*) FROM marks"))
        assert sqlite_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        opened.closes[0].assert_not_called()
    opened.closes[0].assert_called_once_with()
    assert not session.in_transaction()
    assert sqlite_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_short_session_is_closed_after_an_error_too(
    app: SimpleNamespace, sqlite_engine: Engine, opened: _Opened
) -> None:
    def read_then_fail() -> None:
        with short_session(app) as session:
            session.execute(text("SELECT count(*) FROM marks"))
            raise LookupError

    with pytest.raises(LookupError):
        read_then_fail()
    opened.closes[0].assert_called_once_with()
    assert sqlite_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_short_session_in_a_single_session_app_is_that_session_left_open(
    opened: _Opened,
) -> None:
    single = opened()
    app = SimpleNamespace(state=SimpleNamespace(sessionmaker=opened, single_session=single))
    try:
        with short_session(app) as session:
            assert session is single
            session.execute(text("SELECT count(*) FROM marks"))
        assert single.in_transaction()
        opened.closes[0].assert_not_called()
        assert len(opened.sessions) == 1
    finally:
        single.close()


# ``columns``: a statement of plain columns on the session's connection, as Session.execute
# would give it.
_ROOMS = select(Room.code, Room.id).order_by(Room.code)


def test_columns_gives_the_rows_session_execute_gives(db: Session) -> None:
    factories.create_room(db, code="B-2")
    factories.create_room(db, code="A-1")
    assert [tuple(row) for row in columns(db, _ROOMS)] == [tuple(row) for row in db.execute(_ROOMS)]
    row = columns(db, _ROOMS).first()
    assert row is not None
    assert (row.code, row._fields) == ("A-1", ("code", "id"))
    wanted = select(Room.id).where(Room.code == bindparam("code"))
    assert (
        columns(db, wanted, {"code": "B-2"}).scalar_one()
        == db.execute(wanted, {"code": "B-2"}).scalar_one()
    )


def test_columns_sees_what_the_session_holds_unflushed(db: Session) -> None:
    db.add(Room(code="C-3", name="C-3"))
    assert "C-3" in columns(db, select(Room.code)).scalars().all()


def test_columns_flushes_nothing_where_autoflush_is_off(db: Session) -> None:
    """As ``Session.execute``: inside ``no_autoflush`` the pending room is not yet a row."""
    db.add(Room(code="D-4", name="D-4"))
    with db.no_autoflush:
        assert "D-4" not in columns(db, select(Room.code)).scalars().all()
        assert "D-4" not in db.execute(select(Room.code)).scalars().all()
    assert "D-4" in columns(db, select(Room.code)).scalars().all()


def test_columns_writes_in_the_session_s_transaction(db: Session) -> None:
    """A Core INSERT (no rows back) and an UPDATE … RETURNING: seen by the session's next
    statements, and rolled back with its savepoint."""
    rooms = table_of(Room)
    savepoint = db.begin_nested()
    columns(db, insert(rooms).values(code="E-5", name="E-5"))
    renamed = columns(
        db,
        update(rooms).where(rooms.c.code == "E-5").values(name="E five").returning(rooms.c.name),
    ).scalar_one()
    assert renamed == "E five"
    assert db.execute(select(Room.name).where(Room.code == "E-5")).scalar_one() == "E five"
    savepoint.rollback()
    assert db.execute(select(Room.id).where(Room.code == "E-5")).first() is None


def test_forget_loaded_makes_the_loaded_object_read_its_row_again(db: Session) -> None:
    """A Core UPDATE leaves a loaded object's old values until ``forget_loaded``; a key that
    is not loaded is no error."""
    room = factories.create_room(db, code="F-6")
    rooms = table_of(Room)
    columns(db, update(rooms).where(rooms.c.id == room.id).values(name="F six"))
    assert room.name == "Lab"
    forget_loaded(db, Room, room.id)
    assert room.name == "F six"
    forget_loaded(db, Room, room.id + 1000)


# ``reading``: sessions that only read, on the run's database (PostgreSQL in its pass).


def test_a_read_session_s_statements_stay_prepared_after_it_ends(
    run_engine: Engine, prepared_statements: Callable[[], list[str]]
) -> None:
    """psycopg prepares a statement at its sixth run on a connection and forgets them all at a
    ROLLBACK: read sessions ended by rollback had every read planned anew."""
    maker = make_sessionmaker(run_engine)
    for _ in range(8):
        with reading(maker) as session:
            session.execute(_ROOMS).all()
    if run_engine.dialect.name != "postgresql":
        # SQLite's statement cache outlives a rollback: nothing is made read only.
        assert read_only(run_engine) is run_engine
        return
    assert [s for s in prepared_statements() if "FROM rooms" in s] != []


def test_a_read_session_stores_no_write(run_engine: Engine) -> None:
    maker = make_sessionmaker(run_engine)

    def write() -> None:
        with reading(maker) as session:
            session.execute(insert(Room).values(code="READ-ONLY", name="Not stored"))

    if run_engine.dialect.name == "postgresql":
        with pytest.raises(InternalError, match="read-only transaction"):
            write()
    else:
        write()  # rolled back at the end: SQLite has no read-only transaction
    with maker() as check:
        assert check.scalar(select(func.count()).where(Room.code == "READ-ONLY")) == 0


def test_a_session_bound_to_a_connection_is_left_as_it_is(db: Session) -> None:
    """A test's one session (its transaction rolled back after the test) is not made read only,
    and ``end_read`` does not commit it."""
    bind = db.get_bind()
    assert for_reading(db) is db
    assert db.get_bind() is bind
    db.execute(_ROOMS).all()
    with mock.patch.object(db, "commit") as commit:
        end_read(db)
    commit.assert_not_called()


def test_a_read_session_whose_commit_fails_is_closed_without_raising(run_engine: Engine) -> None:
    """The reads are done; a lost connection at the COMMIT must not reach the reader thread."""
    session = for_reading(make_sessionmaker(run_engine)())
    session.execute(_ROOMS).all()
    lost = OperationalError("COMMIT", {}, Exception("the connection was lost"))
    with mock.patch.object(session, "commit", side_effect=lost) as commit:
        end_read(session)
    assert commit.call_count == (1 if run_engine.dialect.name == "postgresql" else 0)
    assert not session.in_transaction()
    assert run_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
