"""Group reads: the exam pages' reads run in reader threads of their own, many at a time.

Why: a sync route is a job on AnyIO's shared thread limiter, and a job holds its token not only
for its work (about 1 ms for the exam's pages) but for the hand-overs around it: the thread's
wake-up, its turn at the interpreter, and the result's way back through the event loop. At an
exam's start each of the 4 tokens was held 11-16 ms per job, and the status polls of 2,000
waiting pages alone (400 a second) filled them (docs/BENCHMARKS.md). Here a request puts its
read in a line; a reader thread takes everything waiting, runs each read in one session, and
hands all the outcomes back to the event loop in one call. The hand-overs are paid once per
group, not once per request, and the shared limiter stays free for the other pages.

A read is a function of the session. It runs in the request's context (its language), may
render the page itself, and must not write: the session is never committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request

from server.db.group_commit import settle_future, take_group
from server.db.session import end_read

log = logging.getLogger(__name__)

T = TypeVar("T")

Read = Callable[[Session], T]

# The most reads one thread takes at once: the start's paper pages take a few ms each, and the
# first of a group should not wait long for the last.
MAX_GROUP = 32

# Two threads: while one waits for the database (PostgreSQL's round trips), the other reads.
# More would only take turns at the same interpreter.
THREADS = 2


@dataclass
class _Waiting:
    read: Read[Any]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        settle_future(future, result, error)


class GroupReader:
    """The process's reader threads.

    ``open_session`` gives a new read session; ``close`` says whether the reader closes it
    (not when the application runs in the one session of a test).
    """

    def __init__(
        self, open_session: Callable[[], Session], *, close: bool = True, threads: int = THREADS
    ) -> None:
        self._open_session = open_session
        self._close = close
        self._line: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._count = threads
        self.groups = 0  # groups read, for the tests

    def start(self) -> None:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, name=f"group-reader-{n}", daemon=True)
                for n in range(self._count)
            ]
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        """Answer what is in line, then end the threads."""
        for _ in self._threads:
            self._line.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    async def read(self, read: Read[T]) -> T:
        """Run ``read`` in the request's context in a reader thread; returns what it returns.

        An exception raised by ``read`` is raised here.
        """
        if not self._threads:
            raise RuntimeError("the group reader is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._line.put(_Waiting(read, contextvars.copy_context(), loop, future))
        return await future

    def _run(self) -> None:
        while True:
            group, stopping = take_group(self._line, MAX_GROUP)
            if group:
                self._serve(group)
            if stopping:
                return

    def _serve(self, group: list[_Waiting]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        session: Session | None = None
        for waiting in group:
            if session is None:
                session = self._open_session()
            outcome: tuple[asyncio.Future[Any], Any, BaseException | None]
            try:
                outcome = (waiting.future, waiting.context.run(waiting.read, session), None)
            except Exception as error:
                outcome = (waiting.future, None, error)
                # A failed statement can leave the transaction unusable (PostgreSQL), so the
                # next read gets a new session. Closing, unlike a rollback, leaves what this
                # read loaded readable for the refusal's page.
                if self._close:
                    session.close()
                    session = None
            by_loop.setdefault(waiting.loop, []).append(outcome)
        if session is not None and self._close:
            end_read(session)
        self.groups += 1
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, outcomes)
            except RuntimeError:  # the loop has closed: no one is waiting any more
                log.warning("a reader's answers found their event loop closed")


async def in_reader(request: Request, read: Read[T]) -> T:
    """Run ``read`` in the application's reader threads (``app.state.reader``)."""
    reader: GroupReader = request.app.state.reader
    return await reader.read(read)
