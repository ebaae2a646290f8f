"""Group commit: one thread per process stores the writes of many requests in one transaction.

Why: a save stored in a transaction of its own pays a commit (a flush to disk) and a hand-over of
SQLite's write turn between threads that compete for one interpreter; under the exam's load the
hand-overs, not the statements, made the tail (docs/BENCHMARKS.md). Here the requests hand their
work to one writer thread instead. The writer takes everything waiting in line, runs the pieces of
work one after another, commits once, and only then answers each request: nothing is
acknowledged before it is durable, and a crash before the commit loses only writes no one was
told were stored.

A refused or failed piece must leave the others intact. Each piece could run in a savepoint of
its own, but that costs two statements (SAVEPOINT, RELEASE) of a save's ten, and on PostgreSQL
two round trips: with them the writer stored about 336 saves a second, short of the storm's 400
(docs/BENCHMARKS.md). Refusals are rare (a save after the deadline, a replaced window), so a
group first runs without savepoints. When a piece fails, the group is rolled back, that piece
is answered with its failure without running again, and the others run again, each in a
savepoint, as the next groups do until one goes through without a failure.

While one group commits, the next one gathers, so the groups grow with the load by themselves.

Reading ahead and writing behind: on PostgreSQL each statement is a round trip to a database
process that must win a core of its own, and the writer's one thread waits through each
(docs/BENCHMARKS.md). A piece may come with a read-ahead (``Pending.ahead``): for a run of
consecutive pieces with the same one, the writer reads once, with all their arguments, before
the first of them runs, and each piece then takes what was read for it (``taken_ahead``)
instead of reading it itself. A piece that took it may leave its writes behind
(``write_behind``), to be written with the run's others in one statement when the run ends.
What was read stays true only while nothing else has written what it read: so a run holds each
key (``ReadAhead.key``: a save's attempt) once, and ends at the first piece of another kind or
with a key it holds already; when it ends, what is left of its read-ahead is dropped and what
its pieces left behind is written, before the next piece runs. Read-aheads run only in a group
without savepoints. When a run's read or its writes fail, no one piece is to blame: the group
is rolled back and all of it runs again with savepoints, where each piece reads and writes
for itself and a piece that fails fails alone.

Rows that no piece reads back (the audit log's entries) may be held to the group's end
(``hold_to_commit``) and written all in one statement before its commit; if that fails, the
group runs again with savepoints, where each piece writes its own at once.

Heavy pieces (a sign-in, an admission, a finish: milliseconds each, against a fraction of one
for a save) join a group a few at a time (``heavy_allowance``). Every piece of a group is
answered at its commit, so a save that lined up behind a hundred sign-ins waited for all of
them: in the sign-in minute of 2,000 examinees the groups grew to 128 pieces and 350–550 ms,
and the saves' p99 with them (docs/BENCHMARKS.md). The heavy pieces left over go first into
the next groups, ahead of heavy pieces that arrive later. And the light pieces that wait
commit first, in a group of their own, before the heavy pieces' group: four sign-ins are
40 ms of the writer on PostgreSQL, and a save that rode in their group waited for them twice,
for the group running when it came and for its own; now it waits for the one running. It
costs a commit more each time both kinds wait. Taking pieces out of arrival order changes
nothing a client can tell: none of them was answered yet, so any order is one they could have
arrived in.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping
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

# The heavy pieces a group takes (above): four, or an eighth of those held back when more
# wait. Four sign-ins cost 16–40 ms of the writer, on a fast or a slow night, and a group's
# commit a few milliseconds. But the saves grow through the sign-in minute, and with them the
# share of each group that is theirs: four a group then fell behind the arrivals on a slow
# machine, and the last sign-ins waited up to 5.8 s (docs/BENCHMARKS.md). Taking an eighth of
# the line drains any line within about eight groups, while it is short a save's group stays
# short.
MAX_HEAVY = 4
HEAVY_DRAIN_GROUPS = 8


def heavy_allowance(held: int) -> int:
    """How many of ``held`` heavy pieces the next group takes."""
    return min(held, max(MAX_HEAVY, -(-held // HEAVY_DRAIN_GROUPS)))


# How often a piece of work that met a deadlock or a serialization failure is tried again, in a
# group of its own. On PostgreSQL two workers' groups can lock two rooms' event counters in
# opposite orders; the database cancels one statement, the other group commits, and the retry
# then goes through.
MAX_TRIES = 3
_TRANSIENT = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


Settle = Callable[[Any, "BaseException | None"], None]


@dataclass(frozen=True)
class ReadAhead:
    """How a kind of piece reads ahead (module docstring): ``read(session, run)`` reads for the
    arguments of a run of such pieces, by key; ``key(arguments)`` is the key a piece takes
    (``taken_ahead``), which a run holds once."""

    read: Callable[[Session, list[Mapping[str, Any]]], dict[Any, Any]]
    key: Callable[[Mapping[str, Any]], Hashable]


# Writes a run's pieces left behind, all in one go.
WriteBehind = Callable[[Session, list[Any]], None]
_READ_AHEAD = "read_ahead"  # ``Session.info``: what was read ahead for the run
_WRITE_BEHIND = "write_behind"  # ``Session.info``: what the run's pieces left to write
# ``Session.info``: what a group's pieces held to its commit (``hold_to_commit``), in order. A
# list, so that a piece's own savepoint, rolled back, drops what it held (``savepoint``).
_HELD = "held_to_commit"


@dataclass
class Pending(Generic[T]):
    """A piece of work in line, and how to hand its outcome back once its group is settled."""

    work: Work[T]
    settle: Settle
    tries: int = 1
    heavy: bool = False  # a few of these in one group (heavy_allowance)
    # The read-ahead of this kind of piece and this piece's arguments for it.
    ahead: tuple[ReadAhead, Mapping[str, Any]] | None = None


def taken_ahead(session: Session, key: Any) -> Any:
    """What the group's read-ahead read for ``key`` (None: nothing), dropped from it: a piece
    that takes it may write, and what was read for the key is stale after that."""
    return session.info.get(_READ_AHEAD, {}).pop(key, None)


def read_ahead(session: Session, read: ReadAhead, run: list[Mapping[str, Any]]) -> None:
    """Start a run: read ahead for ``run``, the arguments of its pieces, for them to take."""
    session.info[_READ_AHEAD] = read.read(session, run)


def write_behind(session: Session, write: WriteBehind, item: Any) -> None:
    """Leave ``item`` to ``write(session, items)``, called once for all that the run's pieces
    left to it when the run ends. Outside a run, ``write`` is called now."""
    if _READ_AHEAD not in session.info:
        write(session, [item])
        return
    session.info.setdefault(_WRITE_BEHIND, {}).setdefault(write, []).append(item)


def hold_to_commit(session: Session, write: WriteBehind, item: Any) -> None:
    """Leave ``item`` to ``write(session, items)``, called once for all that a group's pieces
    held to it, after the last piece and before the commit: for rows no piece reads back, such
    as the audit log's entries (a check-in appends two, and each was a round trip of its own on
    PostgreSQL). Outside a group run without savepoints, ``write`` is called now."""
    held: list[tuple[WriteBehind, Any]] | None = session.info.get(_HELD)
    if held is None:
        write(session, [item])
        return
    held.append((write, item))


def write_held(session: Session) -> None:
    """Write what the group's pieces held to its commit, each kind in one call, in order."""
    by_write: dict[WriteBehind, list[Any]] = {}
    for write, item in session.info.pop(_HELD, []):
        by_write.setdefault(write, []).append(item)
    for write, items in by_write.items():
        write(session, items)


def end_run(session: Session) -> None:
    """End the run: drop what is left of its read-ahead, write what its pieces left behind."""
    session.info.pop(_READ_AHEAD, None)
    for write, items in session.info.pop(_WRITE_BEHIND, {}).items():
        write(session, items)


class _Runs:
    """The read-ahead runs of a group without savepoints, as its pieces run one by one."""

    def __init__(self, session: Session, group: list[Pending[Any]]) -> None:
        self._session = session
        self._group = group
        self._after = 0  # the first piece after the run

    def before(self, index: int) -> None:
        """Before ``group[index]`` runs: end the run before it, start the one it begins."""
        if index < self._after:
            return
        self.end()
        self._after = index + 1
        ahead = self._group[index].ahead
        if ahead is None:
            return
        reads = ahead[0]
        run: list[Mapping[str, Any]] = []
        keys: set[Hashable] = set()
        for pending in self._group[index:]:
            if pending.ahead is None or pending.ahead[0] is not reads:
                break
            key = reads.key(pending.ahead[1])
            if key in keys:
                break
            keys.add(key)
            run.append(pending.ahead[1])
        self._after = index + len(run)
        try:
            read_ahead(self._session, reads, run)
        except Exception as error:
            raise _run_failed(error) from error

    def end(self) -> None:
        try:
            end_run(self._session)
        except Exception as error:
            raise _run_failed(error) from error

    def end_group(self) -> None:
        """After the last piece: end the last run, write what the pieces held to the commit."""
        self.end()
        try:
            write_held(self._session)
        except Exception as error:
            raise _run_failed(error) from error


def _run_failed(error: Exception) -> _PieceFailed:
    # Logged: the pieces run again, each alone, and the error would otherwise go unseen.
    log.warning(
        "a run's read-ahead or writes, or a group's held writes, failed; its group runs again",
        exc_info=error,
    )
    return _PieceFailed(None, error)


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


def settle_futures(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """Hand a group's outcomes to their requests: one call on the loop for all of them."""
    for future, result, error in outcomes:
        settle_future(future, result, error)


Item = TypeVar("Item")


def take_group(
    line: queue.SimpleQueue[Item | None], limit: int, *, wait: bool = True
) -> tuple[list[Item], bool]:
    """Wait for the first item in line (unless not ``wait``: then none may be there), then
    take what else waits, up to ``limit`` in all.

    Returns the group and whether the line said stop (``None``), after which nothing more is
    taken.
    """
    try:
        first = line.get(block=wait)
    except queue.Empty:
        return [], False
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
    session of a test); ``after_group`` is called once every piece of a group is settled.
    """

    def __init__(
        self,
        open_session: Callable[[], Session],
        *,
        close: bool = True,
        after_group: Callable[[], None] | None = None,
    ) -> None:
        self._open_session = open_session
        self._close = close
        self._after_group = after_group
        self._line: queue.SimpleQueue[Pending[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._together = True  # the next group runs without savepoints
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

    async def write(
        self,
        work: Work[T],
        *,
        heavy: bool = False,
        ahead: tuple[ReadAhead, Mapping[str, Any]] | None = None,
    ) -> T:
        """Run ``work`` in the next group (a ``heavy`` one in one of the next groups, as
        ``heavy_allowance`` allows); returns its result once the group has committed.
        ``ahead``: its read-ahead and its arguments for it (``Pending.ahead``).

        An exception raised by ``work`` rolls back its own savepoint and is raised here.
        """
        if self._thread is None:
            raise RuntimeError("the group writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle_future, future, result, error)

        self.put(Pending(work, settle, heavy=heavy, ahead=ahead))
        return await future

    def put(self, pending: Pending[Any]) -> None:
        """Queue work whose outcome ``pending.settle`` hands back (from the writer thread)."""
        self._line.put(pending)

    def _run(self) -> None:
        held: deque[Pending[Any]] = deque()  # heavy pieces not yet in a group, oldest first
        stopping = False
        while not stopping or held:
            arrived: list[Pending[Any]] = []
            if not stopping:
                # Wait for work only when none is held back.
                arrived, stopping = take_group(self._line, MAX_GROUP, wait=not held)
            light = [pending for pending in arrived if not pending.heavy]
            held.extend(pending for pending in arrived if pending.heavy)
            heavy = [held.popleft() for _ in range(heavy_allowance(len(held)))]
            # The light pieces commit first, in a group of their own (module docstring).
            for group in (light, heavy):
                if group:
                    self._write(group)
                    if self._after_group is not None:
                        self._after_group()

    def _write(self, group: list[Pending[Any]]) -> None:
        known: dict[int, BaseException] = {}
        outcomes: list[tuple[Any, BaseException | None]] | None = None
        if self._together:
            try:
                outcomes = self._commit_group(group, together=True, known=known)
            except _PieceFailed as failed:
                if failed.index is not None:
                    known[failed.index] = failed.error
        if outcomes is None:
            outcomes = self._commit_group(group, together=False, known=known)
            # Savepoints again until a group has no failure: refusals come in runs (every
            # save after the deadline), and each would otherwise cost its group twice.
            self._together = not known and all(failure is None for _result, failure in outcomes)
        again: list[Pending[Any]] = []
        for pending, (result, failure) in zip(group, outcomes, strict=True):
            if failure is not None and _transient(failure) and pending.tries < MAX_TRIES:
                pending.tries += 1
                again.append(pending)
            else:
                pending.settle(result, failure)
        if again:
            self._write(again)

    def _commit_group(
        self, group: list[Pending[Any]], *, together: bool, known: dict[int, BaseException]
    ) -> list[tuple[Any, BaseException | None]]:
        """Run the group in one transaction and commit it: the outcome of each piece.

        ``together``: no savepoints; a piece that fails rolls the whole group back and raises
        ``_PieceFailed``. Otherwise each piece runs in a savepoint of its own, and the pieces
        of ``known`` (failed already) do not run again.
        """
        outcomes: list[tuple[Any, BaseException | None]] = []
        session = self._open_session()
        runs = _Runs(session, group)
        if together:
            session.info[_HELD] = []
        try:
            for index, pending in enumerate(group):
                if index in known:
                    outcomes.append((None, known[index]))
                elif together:
                    runs.before(index)
                    try:
                        outcomes.append((pending.work(session), None))
                        session.flush()  # a piece's own ORM writes fail as its own failure
                    except Exception as error:
                        raise _PieceFailed(index, error) from error
                else:
                    try:
                        with savepoint(session):
                            result = pending.work(session)
                    except Exception as error:  # the piece's, or its flush at the release
                        outcomes.append((None, error))
                    else:
                        outcomes.append((result, None))
            if together:
                runs.end_group()
            session.commit()
        except _PieceFailed:
            _roll_back(session)
            raise
        except Exception as failed:
            # The commit failed (or the transaction could not begin): nothing of the group is
            # stored, so no request of it may be told otherwise.
            log.exception("a group of writes failed to commit")
            _roll_back(session)
            outcomes = [(None, failed)] * len(group)
        else:
            self.groups += 1
        finally:
            session.info.pop(_READ_AHEAD, None)
            session.info.pop(_WRITE_BEHIND, None)
            session.info.pop(_HELD, None)
            if self._close:
                session.close()
        try:
            run_after_commit(session)
        except Exception:
            log.exception("an after-commit callback failed")
        return outcomes


class _PieceFailed(Exception):
    """A piece of a group run without savepoints failed (``index``; None: a run's read-ahead
    or its writes, or the group's held writes, of several pieces): the group was rolled back."""

    def __init__(self, index: int | None, error: BaseException) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


def _roll_back(session: Session) -> None:
    """Undo the group: its writes, and what it queued for after the commit."""
    session.rollback()
    session.info.pop("after_commit", None)
