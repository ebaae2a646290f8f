"""The writer process: jobs run in a child process, answered after its commit.

On a SQLite file of its own (tests/db/conftest.py), so these run in the PostgreSQL pass too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from server.config import Settings
from server.db.group_commit import MAX_HEAVY
from server.db.writer import MAX_SENT, ProcessWriter, WriterGone
from server.errors import TooManyAttempts
from server.events.store import Envelope
from tests.db import writer_jobs
from tests.db.test_group_commit import committed_marks
from tests.support.aio import run_on_own_thread


@pytest.fixture
def writer(sqlite_engine: Engine, db_file: Path) -> Iterator[ProcessWriter]:
    process_writer = ProcessWriter(Settings(database_url=f"sqlite:///{db_file}"), publish=None)
    process_writer.start()
    try:
        yield process_writer
    finally:
        process_writer.stop()


def test_jobs_run_in_another_process_and_are_committed_when_answered(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                writer.run(writer_jobs.writer_pid),
                *(writer.run(writer_jobs.insert_mark, n=n) for n in (1, 2, 3)),
            )
        )

    pid, *results = run_on_own_thread(scenario())
    assert pid == writer.pid
    assert pid != os.getpid()
    assert results == [10, 20, 30]
    assert committed_marks(sqlite_engine) == [1, 2, 3]


def test_a_refusal_comes_back_as_itself_and_its_writes_are_rolled_back(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                writer.run(writer_jobs.refuse_after_writing, minutes=15),
                writer.run(writer_jobs.insert_mark, n=4),
                return_exceptions=True,
            )
        )

    refusal, stored = run_on_own_thread(scenario())
    assert isinstance(refusal, TooManyAttempts)
    assert refusal.params == {"minutes": 15}
    assert "15" in refusal.translated()
    assert stored == 40
    assert committed_marks(sqlite_engine) == [4]


def test_a_function_not_registered_as_a_job_is_refused(writer: ProcessWriter) -> None:
    with pytest.raises(LookupError, match="not a write job"):
        run_on_own_thread(writer.run(writer_jobs.not_a_job))


def test_a_killed_writer_fails_its_waiting_requests_and_another_takes_over(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    async def scenario() -> tuple[BaseException | int, int]:
        slow = asyncio.ensure_future(writer.run(writer_jobs.insert_slowly, n=7, seconds=30))
        await asyncio.sleep(1.0)  # the child is inside the job, holding the write lock
        killed = writer.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        try:
            outcome: BaseException | int = await slow
        except WriterGone as gone:
            outcome = gone
        deadline = time.monotonic() + 30
        while writer.pid == killed and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return outcome, await writer.run(writer_jobs.insert_mark, n=8)

    outcome, after = run_on_own_thread(scenario())
    assert isinstance(outcome, WriterGone)
    assert after == 80
    # The killed job was never committed; the kernel gave the write lock back with the process.
    assert committed_marks(sqlite_engine) == [8]


def test_many_jobs_at_once_are_each_answered_with_their_own_result(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    # More jobs than one message to the writer carries (MAX_SENT), and groups of many answers.
    count = MAX_SENT * 2 + 7

    async def scenario() -> list[int]:
        return list(
            await asyncio.gather(*(writer.run(writer_jobs.insert_mark, n=n) for n in range(count)))
        )

    assert run_on_own_thread(scenario()) == [n * 10 for n in range(count)]
    assert committed_marks(sqlite_engine) == list(range(count))


def test_jobs_registered_as_heavy_join_the_writer_s_groups_a_few_at_a_time_after_light_ones(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    count = 2 * MAX_HEAVY + 1

    async def scenario() -> list[int]:
        busy = asyncio.ensure_future(writer.run(writer_jobs.insert_slowly, n=0, seconds=1.0))
        await asyncio.sleep(0.3)  # the writer is inside it: the rest line up behind it
        groups = await asyncio.gather(
            *(writer.run(writer_jobs.heavy_mark, n=n) for n in range(1, count + 1)),
            writer.run(writer_jobs.light_mark, n=count + 1),
        )
        await busy
        return list(groups)

    *heavy, light = run_on_own_thread(scenario())
    first = heavy[0]
    assert heavy == [first + n // MAX_HEAVY for n in range(count)]
    # The light job did not wait for the heavy ones: it committed alone, before the first few.
    assert light == first - 1
    assert committed_marks(sqlite_engine) == list(range(count + 2))


def test_a_job_registered_with_a_read_ahead_takes_what_was_read_for_its_run(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    async def scenario() -> list[str | None]:
        busy = asyncio.ensure_future(writer.run(writer_jobs.insert_slowly, n=0, seconds=1.0))
        await asyncio.sleep(0.3)  # the writer is inside it: the rest line up behind it
        read = await asyncio.gather(
            *(writer.run(writer_jobs.mark_read_ahead, n=n) for n in (1, 2, 3))
        )
        await busy
        return list(read)

    assert run_on_own_thread(scenario()) == ["read with [1, 2, 3]"] * 3
    assert committed_marks(sqlite_engine) == [0, 1, 2, 3]


def test_a_result_that_cannot_cross_the_pipe_fails_alone(
    writer: ProcessWriter, sqlite_engine: Engine
) -> None:
    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                writer.run(writer_jobs.unpicklable_result, n=5),
                writer.run(writer_jobs.insert_mark, n=6),
                return_exceptions=True,
            )
        )

    unsendable, other = run_on_own_thread(scenario())
    assert isinstance(unsendable, Exception)
    assert "lock" in str(unsendable)
    assert other == 60
    assert 6 in committed_marks(sqlite_engine)


def test_a_group_s_events_are_published_before_its_jobs_are_answered(
    sqlite_engine: Engine, db_file: Path
) -> None:
    published: list[Envelope] = []
    writer = ProcessWriter(Settings(database_url=f"sqlite:///{db_file}"), publish=published.append)
    writer.start()

    async def scenario() -> list[tuple[int, list[int]]]:
        async def one(n: int) -> tuple[int, list[int]]:
            answer = await writer.run(writer_jobs.insert_with_event, n=n)
            return answer, [envelope.seq for envelope in published]

        return list(await asyncio.gather(*(one(n) for n in (1, 2, 3))))

    try:
        outcomes = run_on_own_thread(scenario())
    finally:
        writer.stop()
    for answer, seen in outcomes:
        assert answer in seen
    assert sorted(envelope.payload["n"] for envelope in published) == [1, 2, 3]
