"""The group reader: the exam pages' reads, many at a time, in reader threads of their own.

On a SQLite file of its own (tests/db/conftest.py), so these run in the PostgreSQL pass too.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.db import make_sessionmaker
from server.db.reader import GroupReader
from server.db.session import for_reading
from server.models import Room
from tests.support.aio import run_on_own_thread

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


@pytest.fixture
def reader(sqlite_engine: Engine) -> Iterator[GroupReader]:
    group_reader = GroupReader(make_sessionmaker(sqlite_engine))
    group_reader.start()
    try:
        yield group_reader
    finally:
        group_reader.stop()


def _count_marks(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM marks")).scalar_one())


def _read_all(reader: GroupReader, *reads: Callable[[Session], Any]) -> list[Any]:
    async def together() -> list[Any]:
        return await asyncio.gather(*(reader.read(read) for read in reads), return_exceptions=True)

    return run_on_own_thread(together())


def test_a_read_runs_in_a_reader_thread_in_the_request_s_context(
    reader: GroupReader, sqlite_engine: Engine
) -> None:
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO marks (n) VALUES (1), (2)")

    def where_and_what(session: Session) -> tuple[str, str, int]:
        return threading.current_thread().name, _language.get(), _count_marks(session)

    async def as_a_request() -> tuple[str, str, int]:
        _language.set("kk")  # what the request's middleware chose
        return await reader.read(where_and_what)

    thread, language, marks = run_on_own_thread(as_a_request())

    assert thread.startswith("group-reader-")
    assert language == "kk"
    assert marks == 2


def test_a_failed_read_is_raised_to_its_request_only(reader: GroupReader) -> None:
    def broken(session: Session) -> int:
        session.execute(text("SELECT * FROM no_such_table"))
        return 0

    def refused(session: Session) -> int:
        raise LookupError("not your attempt")

    results = _read_all(reader, _count_marks, broken, _count_marks, refused, _count_marks)

    assert results[0] == results[2] == results[4] == 0
    assert isinstance(results[1], OperationalError)
    assert isinstance(results[3], LookupError)


def test_reads_that_wait_together_are_served_as_one_group(sqlite_engine: Engine) -> None:
    reader = GroupReader(make_sessionmaker(sqlite_engine), threads=1)
    reader.start()
    held = threading.Event()
    release = threading.Event()

    def hold(session: Session) -> str:
        held.set()
        release.wait(10)
        return "held"

    async def queue_behind_the_held_read() -> list[Any]:
        first = asyncio.ensure_future(reader.read(hold))
        await asyncio.to_thread(held.wait, 10)
        rest = [asyncio.ensure_future(reader.read(_count_marks)) for _ in range(20)]
        await asyncio.sleep(0.05)  # all 20 are in line before the thread is free
        release.set()
        return await asyncio.gather(first, *rest)

    try:
        results = run_on_own_thread(queue_behind_the_held_read())
    finally:
        release.set()
        reader.stop()

    assert results == ["held"] + [0] * 20
    assert reader.groups == 2


def test_a_read_is_refused_when_the_reader_is_not_running(sqlite_engine: Engine) -> None:
    reader = GroupReader(make_sessionmaker(sqlite_engine))

    with pytest.raises(RuntimeError, match="not running"):
        run_on_own_thread(reader.read(_count_marks))


def test_stop_answers_the_reads_in_line_first(sqlite_engine: Engine) -> None:
    reader = GroupReader(make_sessionmaker(sqlite_engine), threads=1)
    reader.start()

    async def read_then_stop() -> list[int]:
        reads = [asyncio.ensure_future(reader.read(_count_marks)) for _ in range(5)]
        await asyncio.sleep(0)  # the reads are in line
        await asyncio.to_thread(reader.stop)
        return await asyncio.gather(*reads)

    assert run_on_own_thread(read_then_stop()) == [0] * 5


def test_the_groups_statements_stay_prepared_on_postgresql(
    run_engine: Engine, prepared_statements: Callable[[], list[str]]
) -> None:
    """Each group's session ends by ``end_read``: on PostgreSQL a COMMIT of its READ ONLY
    transaction, after which psycopg keeps what it prepared (a ROLLBACK makes it forget all)."""
    maker = make_sessionmaker(run_engine)
    reader = GroupReader(lambda: for_reading(maker()), threads=1)
    reader.start()
    try:
        for _ in range(8):  # one group each: psycopg prepares a statement at its sixth run
            assert run_on_own_thread(reader.read(_rooms)) >= 0
    finally:
        reader.stop()
    assert reader.groups == 8
    assert run_engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # each group ended
    if run_engine.dialect.name == "postgresql":
        assert [s for s in prepared_statements() if "FROM rooms" in s] != []


def _rooms(session: Session) -> int:
    return len(session.execute(select(Room.id)).all())
