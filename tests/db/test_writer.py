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
from server.db.writer import ProcessWriter, WriterGone
from server.errors import TooManyAttempts
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
