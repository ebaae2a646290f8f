"""The writer: where the exam's hot writes (saves, sign-ins) run, grouped into one transaction.

A write job is a function ``job(db, settings, **arguments)`` registered with ``@write_job``. The
request hands it to the application's writer with ``await app.state.writer.run(job, ...)`` and
is answered once the group the job ran in has committed (``server.db.group_commit``).

Two writers run jobs the same way and differ only in where:

* ``ThreadWriter``: the group writer thread of this process. The tests use it (they run the
  application in one rolled-back session), and so does an in-memory database.
* ``ProcessWriter``: the group writer in a process of its own, fed through a pipe. SQLite has one
  write lock, and a writer thread that shares the interpreter with the request threads holds it
  about four times as long as its own CPU time: sqlite3 lets go of the interpreter around every
  statement and the thread then waits to win it back (docs/BENCHMARKS.md, "What limits it"). In a
  process of its own the writer wins it at once, the lock is held for the work only, and the
  work runs on the second core.

Nothing changes for durability: the writer answers after COMMIT, and a writer process that dies
fails its waiting requests, which the page retries; it is started again for the next ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar, overload

from sqlalchemy.orm import Session

from server.config import Settings
from server.db.engine import create_db_engine, make_sessionmaker, writers_turn
from server.db.group_commit import GroupWriter, Pending, ReadAhead, settle_futures, take_group
from server.events.store import Envelope, install_publisher
from server.heap import keep_heap_small
from server.processes import die_with_parent, short_interpreter_turns

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[..., T]
# A job's outcome as it crosses the pipe: its number, its result, the exception it raised.
Answer = tuple[int, Any, "BaseException | None"]
Settled = tuple["asyncio.Future[Any]", Any, "BaseException | None"]

# The most jobs sent to the writer process in one message.
MAX_SENT = 256

_JOBS: dict[str, Job[Any]] = {}
_HEAVY: set[str] = set()  # the names of the jobs registered as heavy
_AHEAD: dict[str, ReadAhead] = {}  # the jobs' read-aheads (``server.db.group_commit``)


def job_name(job: Job[Any]) -> str:
    return f"{job.__module__}:{job.__qualname__}"


@overload
def write_job(job: Job[T], /) -> Job[T]: ...


@overload
def write_job(
    *, heavy: bool = False, ahead: ReadAhead | None = None
) -> Callable[[Job[T]], Job[T]]: ...


def write_job(
    job: Job[T] | None = None, /, *, heavy: bool = False, ahead: ReadAhead | None = None
) -> Any:
    """Register ``job(db, settings, **arguments)`` to run in the writer: ``@write_job``, or
    ``@write_job(heavy=True)`` for a job of several milliseconds, which the writer lets into
    its groups only a few at a time (``server.db.group_commit.heavy_allowance``).
    ``ahead(db, [arguments, ...])``: what a run of these jobs in a group reads, read once
    for all of them (``server.db.group_commit``, "Reading ahead").

    Its arguments and its result (or the exception it raises) cross a process boundary: plain
    values and dataclasses, not ORM objects.
    """

    def register(job: Job[T]) -> Job[T]:
        name = job_name(job)
        _JOBS[name] = job
        if heavy:
            _HEAVY.add(name)
        if ahead is not None:
            _AHEAD[name] = ahead
        return job

    return register if job is None else register(job)


def _resolve(name: str) -> tuple[Job[Any], bool]:
    """The registered job of this name and whether it is heavy, importing its module in a
    fresh writer process."""
    if name not in _JOBS:
        module, _, _ = name.partition(":")
        importlib.import_module(module)
    try:
        return _JOBS[name], name in _HEAVY
    except KeyError:
        raise LookupError(f"{name} is not a write job") from None


def _ahead_of(name: str, arguments: dict[str, Any]) -> tuple[ReadAhead, dict[str, Any]] | None:
    """The job's read-ahead with this job's arguments for it, if it has one."""
    ahead = _AHEAD.get(name)
    return (ahead, arguments) if ahead is not None else None


class Writer(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def run(self, job: Job[T], /, **arguments: Any) -> T: ...


class ThreadWriter:
    """Jobs run by this process's group writer thread."""

    def __init__(
        self, open_session: Callable[[], Session], settings: Settings, *, close: bool = True
    ) -> None:
        self.group_writer = GroupWriter(open_session, close=close)
        self._settings = settings

    def start(self) -> None:
        self.group_writer.start()

    def stop(self) -> None:
        self.group_writer.stop()

    async def run(self, job: Job[T], /, **arguments: Any) -> T:
        # The same refusal as the process writer's for an unregistered job.
        name = job_name(job)
        _, heavy = _resolve(name)
        return await self.group_writer.write(
            partial(job, settings=self._settings, **arguments),
            heavy=heavy,
            ahead=_ahead_of(name, arguments),
        )


class WriterGone(RuntimeError):
    """The writer process ended before it answered: the write may or may not be stored."""


class ProcessWriter:
    """Jobs run by a group writer in a child process of this one.

    The pipe carries lists of ``(number, job name, arguments)`` to the child, as many as waited
    to be sent, and one ``(events, answers)`` back for each group the child committed: the room
    events it stored and each job's ``(number, result, error)``. The events are published here,
    by this process's publisher, before the group's requests are answered: the same order as
    the thread writer's.

    Why lists: each message costs a system call on both sides and, for each, a turn of the
    interpreter, which at an exam's start the event loop and the reader threads hold. Sent
    one by one, a save's way through the pipes took several times as long as its group in the
    writer (docs/BENCHMARKS.md, "the writer's pipes").
    """

    def __init__(self, settings: Settings, publish: Callable[[Envelope], None] | None) -> None:
        self._settings = settings
        self._publish = publish
        self._numbers = itertools.count()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._waiting_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[tuple[int, str, dict[str, Any]] | None] = (
            queue.SimpleQueue()
        )
        self._process: multiprocessing.process.BaseProcess | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(theirs, self._settings), name="emtihan-writer", daemon=True
        )
        self._process.start()
        theirs.close()
        self._threads = [
            threading.Thread(target=self._send, args=(ours,), name="writer-out", daemon=True),
            threading.Thread(target=self._receive, args=(ours,), name="writer-in", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Let the child store what is in line, then wait for it to end."""
        self._stopping = True
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        if self._process is not None:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
        self._fail_waiting()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def run(self, job: Job[T], /, **arguments: Any) -> T:
        name = job_name(job)
        _resolve(name)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        number = next(self._numbers)
        with self._waiting_lock:
            self._waiting[number] = (loop, future)
        self._outbox.put((number, name, arguments))
        try:
            return await future
        finally:
            with self._waiting_lock:
                self._waiting.pop(number, None)

    def _send(self, connection: Connection) -> None:
        # A thread of its own: a child busy with a long group fills the pipe, and the event loop
        # must not block on it.
        stopping = False
        while not stopping:
            jobs, stopping = take_group(self._outbox, MAX_SENT)
            if not jobs:
                continue
            try:
                connection.send(jobs)
            except (OSError, ValueError):
                gone = WriterGone("the writer process has ended")
                self._answer([(number, None, gone) for number, _name, _arguments in jobs])
        with contextlib.suppress(OSError, ValueError):
            connection.send(None)

    def _receive(self, connection: Connection) -> None:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                break
            events, answers = message
            self._answer(answers, events)
        self._fail_waiting()
        if not self._stopping:
            log.error("the writer process ended; starting another")
            self._restart()

    def _restart(self) -> None:
        if self._process is not None:
            self._process.join(timeout=5)
        # End the sender, which still writes to the dead pipe. What it had not sent was failed
        # with the rest (``_fail_waiting``): the pages retry it, so it is dropped, not resent.
        self._outbox.put(None)
        self._threads[0].join(timeout=5)
        while True:
            try:
                self._outbox.get_nowait()
            except queue.Empty:
                break
        self.start()

    def _publish_safely(self, events: list[Envelope]) -> None:
        if self._publish is None:
            return
        for envelope in events:
            try:
                self._publish(envelope)
            except Exception:
                log.exception("publishing a room event failed")

    def _publish_and_settle(self, events: list[Envelope], outcomes: list[Settled]) -> None:
        self._publish_safely(events)
        settle_futures(outcomes)

    def _answer(self, answers: list[Answer], events: list[Envelope] | None = None) -> None:
        """Publish a group's events, then settle its waiting requests.

        Both are handed to the event loop the requests wait on in one call: each call wakes the
        loop with a system call, and the publisher, run on its loop, hands the events to the
        consoles without another.
        """
        settled: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
        with self._waiting_lock:
            for number, result, error in answers:
                waiting = self._waiting.get(number)
                if waiting is not None:
                    loop, future = waiting
                    settled.setdefault(loop, []).append((future, result, error))
        if not settled:  # nobody waits any more (the requests went away): publish from here
            self._publish_safely(events or [])
            return
        for index, (loop, outcomes) in enumerate(settled.items()):
            loop.call_soon_threadsafe(
                self._publish_and_settle, events if index == 0 and events else [], outcomes
            )

    def _fail_waiting(self) -> None:
        with self._waiting_lock:
            numbers = list(self._waiting)
        gone = WriterGone("the writer process ended before it answered")
        self._answer([(number, None, gone) for number in numbers])


def _portable(error: BaseException | None) -> BaseException | None:
    """The exception as it can cross the pipe: itself, or its description if it cannot."""
    if error is None:
        return None
    try:
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _sendable(answers: list[Answer]) -> list[Answer]:
    """The answers as they can cross the pipe: a result that does not pickle becomes its error."""
    sendable: list[Answer] = []
    for number, result, error in answers:
        try:
            pickle.dumps(result)
        except Exception as unsendable:
            sendable.append((number, None, _portable(unsendable)))
        else:
            sendable.append((number, result, _portable(error)))
    return sendable


def _serve(connection: Connection, settings: Settings) -> None:
    """The writer process: a group writer fed from the pipe until it closes or says stop."""
    die_with_parent()
    keep_heap_small()
    short_interpreter_turns()
    engine = create_db_engine(settings.resolved_database_url())
    maker = make_sessionmaker(writers_turn(engine))
    stored: list[Envelope] = []
    answers: list[Answer] = []
    sending = threading.Lock()  # the writer thread answers groups, this thread unknown jobs
    # The writer thread publishes a group's events at its commit; they go back to the server.
    install_publisher(stored.append)

    def send(events: list[Envelope], group: list[Answer]) -> None:
        with sending:
            try:
                connection.send((events, group))
            except OSError:
                raise
            except Exception:  # a result that does not pickle: nothing was sent
                connection.send((events, _sendable(group)))

    def answer_group() -> None:
        # Called by the writer thread once every piece of a group is settled.
        events, group = list(stored), list(answers)
        stored.clear()
        answers.clear()
        if events or group:
            send(events, group)

    def settle_for(number: int) -> Callable[[Any, BaseException | None], None]:
        def settle(result: Any, error: BaseException | None) -> None:
            answers.append((number, result, _portable(error)))

        return settle

    writer = GroupWriter(maker, after_group=answer_group)
    writer.start()
    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            for number, name, arguments in message:
                try:
                    job, heavy = _resolve(name)
                except LookupError as unknown:
                    send([], [(number, None, unknown)])
                    continue
                work = partial(job, settings=settings, **arguments)
                writer.put(
                    Pending(work, settle_for(number), heavy=heavy, ahead=_ahead_of(name, arguments))
                )
    finally:
        writer.stop()
        engine.dispose()
