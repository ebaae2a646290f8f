"""Group commit: one thread per process stores the writes of many requests in one transaction.

Why: a save stored in a transaction of its own pays a commit (a flush to disk) and a hand-over of
SQLite's write turn between threads that compete for one interpreter; under the exam's load the
hand-overs, not the statements, made the tail (docs/BENCHMARKS.md). Here the requests hand their
work to one writer thread instead. The writer takes everything waiting in line, runs each piece of
work in a savepoint of its own (so a refused or failed piece leaves the others intact), commits
once, and only then answers each request: nothing is acknowledged before it is durable, and a
crash before the commit loses only writes no one was told were stored.

While one group commits, the next one gathers, so the groups grow with the load by themselves.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from server.db.session import run_after_commit, savepoint

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[Session], T]

# The most pieces of work in one transaction: enough to take a whole start-of-exam queue at once,
# few enough that the first of them does not wait long for the last.
MAX_GROUP = 128


# How often a piece of work that met a deadlock or a serialization failure is tried again, in a
# group of its own. On PostgreSQL two workers' groups can lock two rooms' event counters in
# opposite orders; the database cancels one statement, the other group commits, and the retry
# then goes through.
MAX_TRIES = 3
_TRANSIENT = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


Settle = Callable[[Any, "BaseException | None"], None]


@dataclass
class Pending(Generic[T]):
    """A piece of work in line, and how to hand its outcome back once its group is settled."""

    work: Work[T]
    settle: Settle
    tries: int = 1


def _transient(error: BaseException) -> bool:
    return getattr(getattr(error, "orig", None), "sqlstate", None) in _TRANSIENT


def settle_future(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Hand a writer's outcome to the waiting request, on the request's event loop."""
    if future.done():  # the request went away (cancelled); what was stored stays stored
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


Item = TypeVar("Item")


def take_group(line: queue.SimpleQueue[Item | None], limit: int) -> tuple[list[Item], bool]:
    """Wait for the first item in line, then take what else waits, up to ``limit`` in all.

    Returns the group and whether the line said stop (``None``), after which nothing more is
    taken.
    """
    first = line.get()
    if first is None:
        return [], True
    group = [first]
    while len(group) < limit:
        try:
            more = line.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return group, True
        group.append(more)
    return group, False


class GroupWriter:
    """The process's writer thread.

    ``open_session`` gives the session of one group, already bound for writing; ``close`` says
    whether the writer closes it after the group (not when the application runs in the one
    session of a test).
    """

    def __init__(self, open_session: Callable[[], Session], *, close: bool = True) -> None:
        self._open_session = open_session
        self._close = close
        self._line: queue.SimpleQueue[Pending[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.groups = 0  # committed groups, for the tests and the benchmark's curiosity

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="group-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Store what is in line, then end the thread."""
        if self._thread is not None:
            self._line.put(None)
            self._thread.join()
            self._thread = None

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in the next group; returns its result once the group has committed.

        An exception raised by ``work`` rolls back its own savepoint and is raised here.
        """
        if self._thread is None:
            raise RuntimeError("the group writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle_future, future, result, error)

        self.put(Pending(work, settle))
        return await future

    def put(self, pending: Pending[Any]) -> None:
        """Queue work whose outcome ``pending.settle`` hands back (from the writer thread)."""
        self._line.put(pending)

    def _run(self) -> None:
        while True:
            group, stopping = take_group(self._line, MAX_GROUP)
            if group:
                self._write(group)
            if stopping:
                return

    def _write(self, group: list[Pending[Any]]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        session = self._open_session()
        try:
            for pending in group:
                try:
                    with savepoint(session):
                        outcomes.append((pending.work(session), None))
                except Exception as error:
                    outcomes.append((None, error))
            session.commit()
        except Exception as failed:
            # The commit failed (or the transaction could not begin): nothing of the group is
            # stored, so no request of it may be told otherwise.
            log.exception("a group of writes failed to commit")
            session.rollback()
            session.info.pop("after_commit", None)
            outcomes = [(None, failed)] * len(group)
        else:
            self.groups += 1
        finally:
            if self._close:
                session.close()
        try:
            run_after_commit(session)
        except Exception:
            log.exception("an after-commit callback failed")
        again: list[Pending[Any]] = []
        for pending, (result, failure) in zip(group, outcomes, strict=True):
            if failure is not None and _transient(failure) and pending.tries < MAX_TRIES:
                pending.tries += 1
                again.append(pending)
            else:
                pending.settle(result, failure)
        if again:
            self._write(again)
