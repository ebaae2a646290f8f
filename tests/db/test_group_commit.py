"""The group writer: many requests' writes in one transaction, each answered after the commit.

On a SQLite file of its own (tests/db/conftest.py), so these run in the PostgreSQL pass too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from server.db import make_sessionmaker
from server.db.engine import write_intent
from server.db.group_commit import (
    MAX_HEAVY,
    MAX_TRIES,
    GroupWriter,
    ReadAhead,
    heavy_allowance,
    hold_to_commit,
    taken_ahead,
    write_behind,
)
from server.db.session import after_commit, savepoint
from tests.support.aio import run_on_own_thread


@pytest.fixture
def writer(sqlite_engine: Engine) -> Iterator[GroupWriter]:
    maker = make_sessionmaker(write_intent(sqlite_engine))
    group_writer = GroupWriter(maker)
    group_writer.start()
    try:
        yield group_writer
    finally:
        group_writer.stop()


def committed_marks(engine: Engine) -> list[int]:
    """What another connection sees: committed rows only."""
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT n FROM marks ORDER BY n").scalars())


def _insert(n: int) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        session.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
        return n * 10

    return work


def _fail(session: Session) -> int:
    session.execute(text("INSERT INTO marks (n) VALUES (99)"))
    raise LookupError("refused after writing")


def _gather(*writes: Callable[[], Awaitable[Any]]) -> list[Any]:
    async def together() -> list[Any]:
        return await asyncio.gather(*(write() for write in writes), return_exceptions=True)

    return run_on_own_thread(together())


class _Hold:
    """A piece of work that keeps the writer busy until released, so that others line up."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, session: Session) -> int:
        self.started.set()
        assert self.release.wait(5)
        return 0

    async def line_up_behind(
        self,
        writer: GroupWriter,
        works: list[Callable[[Session], Any]],
        heavy: Callable[[int], bool] = lambda index: False,
    ) -> tuple[asyncio.Future[Any], list[asyncio.Future[Any]]]:
        """Starts this piece, then puts ``works`` in line behind it (``heavy(index)``: whether
        the work at that index is heavy)."""
        first = asyncio.ensure_future(writer.write(self))
        while not self.started.is_set():
            await asyncio.sleep(0.001)
        lined_up = [
            asyncio.ensure_future(writer.write(work, heavy=heavy(index)))
            for index, work in enumerate(works)
        ]
        await asyncio.sleep(0.05)
        return first, lined_up


def _one_group(writer: GroupWriter, pieces: list[Callable[[Session], Any]]) -> list[Any]:
    """Run ``pieces`` in one group (lined up behind a held piece); each one's outcome."""
    hold = _Hold()

    async def scenario() -> list[Any]:
        first, lined_up = await hold.line_up_behind(writer, pieces)
        hold.release.set()
        return await asyncio.gather(first, *lined_up, return_exceptions=True)

    return run_on_own_thread(scenario())[1:]


def test_writes_that_line_up_are_committed_in_one_group_and_each_gets_its_own_result(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    hold = _Hold()

    async def scenario() -> list[Any]:
        first, lined_up = await hold.line_up_behind(writer, [_insert(n) for n in (1, 2, 3, 4)])
        # Nothing of the line is answered while the writer is busy with the group before it.
        assert not any(future.done() for future in lined_up)
        hold.release.set()
        return await asyncio.gather(first, *lined_up)

    assert run_on_own_thread(scenario()) == [0, 10, 20, 30, 40]
    assert writer.groups == 2
    assert committed_marks(sqlite_engine) == [1, 2, 3, 4]


def test_a_failing_piece_is_rolled_back_alone_and_its_caller_gets_the_error(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    results = _one_group(writer, [_insert(1), _fail, _insert(2)])
    assert results[0] == 10
    assert isinstance(results[1], LookupError)
    assert results[2] == 20
    assert committed_marks(sqlite_engine) == [1, 2]  # not the failed piece's 99


class _Savepoints:
    """Counts the SAVEPOINT statements the engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += statement.lstrip().upper().startswith("SAVEPOINT")

    def since(self, before: int) -> int:
        return self.count - before


def test_a_group_without_a_failure_runs_without_savepoints(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    savepoints = _Savepoints(sqlite_engine)
    assert _one_group(writer, [_insert(n) for n in (1, 2, 3)]) == [10, 20, 30]
    assert savepoints.count == 0
    assert committed_marks(sqlite_engine) == [1, 2, 3]


def test_a_failed_piece_is_not_run_again_and_savepoints_return_until_a_group_goes_through(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    savepoints = _Savepoints(sqlite_engine)
    calls: list[str] = []

    def refused(session: Session) -> int:
        calls.append("refused")
        return _fail(session)

    results = _one_group(writer, [_insert(1), refused, _insert(2)])
    assert results[0] == 10
    assert isinstance(results[1], LookupError)
    assert results[2] == 20
    assert calls == ["refused"]  # its failure was kept, not found again
    assert savepoints.count == 2  # the two others, run again each in its own
    # The next group still runs in savepoints; once one goes through, the one after does not.
    before = savepoints.count
    assert _gather(partial(writer.write, _insert(3))) == [30]
    assert savepoints.since(before) == 1
    before = savepoints.count
    assert _gather(partial(writer.write, _insert(4))) == [40]
    assert savepoints.since(before) == 0
    assert committed_marks(sqlite_engine) == [1, 2, 3, 4]


class _Base(DeclarativeBase):
    pass


class _Stamp(_Base):
    __tablename__ = "stamps"
    n: Mapped[int] = mapped_column(primary_key=True)


def _stamp(n: int) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        session.add(_Stamp(n=n))  # flushed later, by whoever flushes the session next
        return n

    return work


@pytest.mark.parametrize("after_a_refusal", [False, True])
def test_a_piece_whose_orm_writes_fail_at_flush_fails_alone(
    writer: GroupWriter, sqlite_engine: Engine, after_a_refusal: bool
) -> None:
    """Each piece's unit of work is flushed after it (without savepoints) or at its savepoint's
    release, so a constraint its objects break is its own failure, not the commit's or the
    next piece's, and it is answered once."""
    _Base.metadata.create_all(sqlite_engine)
    # A refused piece first sends the group through the savepoints.
    pieces = [_fail] if after_a_refusal else []
    pieces += [_stamp(7), _stamp(7), _insert(2)]
    results = _one_group(writer, pieces)[after_a_refusal:]
    assert results[0] == 7
    assert isinstance(results[1], IntegrityError)
    assert results[2] == 20
    assert committed_marks(sqlite_engine) == [2]
    with sqlite_engine.connect() as connection:
        assert list(connection.exec_driver_sql("SELECT n FROM stamps").scalars()) == [7]


def test_a_failed_commit_answers_every_piece_with_the_error_and_stores_nothing(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE papers (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            "CREATE TABLE notes (paper INTEGER REFERENCES papers DEFERRABLE INITIALLY DEFERRED)"
        )
    ran: list[str] = []
    hold = _Hold()

    def refused_at_commit(session: Session) -> int:
        after_commit(session, lambda: ran.append("callback"))
        # A deferred constraint: the statement succeeds, the COMMIT fails.
        session.execute(text("INSERT INTO notes (paper) VALUES (42)"))
        return 1

    async def scenario() -> list[Any]:
        first, lined_up = await hold.line_up_behind(writer, [_insert(1), refused_at_commit])
        hold.release.set()
        return await asyncio.gather(first, *lined_up, return_exceptions=True)

    results = run_on_own_thread(scenario())
    assert results[0] == 0
    assert all(isinstance(result, IntegrityError) for result in results[1:])
    assert ran == []
    assert committed_marks(sqlite_engine) == []
    # The writer goes on with the next group.
    assert _gather(partial(writer.write, _insert(5))) == [50]
    assert committed_marks(sqlite_engine) == [5]


def test_after_commit_callbacks_run_for_the_pieces_that_were_kept(writer: GroupWriter) -> None:
    ran: list[str] = []

    def kept(session: Session) -> None:
        after_commit(session, lambda: ran.append("kept"))

    def dropped(session: Session) -> None:
        after_commit(session, lambda: ran.append("dropped"))
        raise LookupError("refused")

    results = _gather(partial(writer.write, kept), partial(writer.write, dropped))
    assert results[0] is None
    assert isinstance(results[1], LookupError)
    assert ran == ["kept"]


class _DatabaseError(Exception):
    """What the driver raises, with the SQLSTATE psycopg gives its errors."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing_first(times: int, sqlstate: str) -> tuple[Callable[[Session], int], list[int]]:
    """A piece that writes, then fails with ``sqlstate`` on its first ``times`` tries."""
    tries: list[int] = []

    def work(session: Session) -> int:
        tries.append(len(tries) + 1)
        session.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": len(tries)})
        if len(tries) <= times:
            raise OperationalError("UPDATE exam_rooms ...", {}, _DatabaseError(sqlstate))
        return len(tries)

    return work, tries


@pytest.mark.parametrize(
    ("sqlstate", "failures", "tries", "stored"),
    [
        ("40P01", 1, 2, [2]),  # deadlock: tried again, stored once
        ("40001", MAX_TRIES - 1, MAX_TRIES, [MAX_TRIES]),  # serialization failure, last try
        ("40P01", MAX_TRIES, MAX_TRIES, []),  # never went through: the caller gets the error
        ("23505", 1, 1, []),  # a unique violation is not tried again
    ],
)
def test_a_piece_that_met_a_deadlock_is_tried_again_in_a_group_of_its_own(
    writer: GroupWriter,
    sqlite_engine: Engine,
    sqlstate: str,
    failures: int,
    tries: int,
    stored: list[int],
) -> None:
    work, tried = _failing_first(failures, sqlstate)
    results = _gather(partial(writer.write, work), partial(writer.write, _insert(100)))
    assert tried == list(range(1, tries + 1))
    if stored:
        assert results[0] == tries
    else:
        assert isinstance(results[0], OperationalError)
    assert results[1] == 1000
    assert committed_marks(sqlite_engine) == [*stored, 100]


def test_stop_stores_what_is_in_line(sqlite_engine: Engine) -> None:
    writer = GroupWriter(make_sessionmaker(write_intent(sqlite_engine)))
    writer.start()

    async def scenario() -> list[Any]:
        lined_up = [asyncio.ensure_future(writer.write(_insert(n))) for n in (1, 2, 3)]
        await asyncio.sleep(0)  # each has put its work in line
        await asyncio.to_thread(writer.stop)
        return await asyncio.gather(*lined_up)

    assert run_on_own_thread(scenario()) == [10, 20, 30]
    assert committed_marks(sqlite_engine) == [1, 2, 3]


def _groups_behind_a_held_piece(
    engine: Engine, line: list[str]
) -> tuple[list[Any], list[list[str]]]:
    """Line up pieces labelled ``line`` ("h…" heavy, others light; the n-th stores mark n)
    behind a held piece, release it: each piece's result and the labels each group ran."""
    ran: list[str] = []
    groups: list[list[str]] = []

    def after_group() -> None:
        groups.append(ran.copy())
        ran.clear()

    def marked(label: str, n: int) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            ran.append(label)
            return _insert(n)(session)

        return work

    writer = GroupWriter(make_sessionmaker(write_intent(engine)), after_group=after_group)
    writer.start()
    hold = _Hold()

    async def scenario() -> list[Any]:
        works = [marked(label, n) for n, label in enumerate(line, start=1)]
        first, lined_up = await hold.line_up_behind(
            writer, works, heavy=lambda index: line[index].startswith("h")
        )
        hold.release.set()
        return await asyncio.gather(first, *lined_up)

    try:
        results = run_on_own_thread(scenario())
    finally:
        writer.stop()
    return results, groups


def test_heavy_pieces_join_a_group_a_few_at_a_time_after_the_light_ones_commit_alone(
    sqlite_engine: Engine,
) -> None:
    heavy = [f"h{i}" for i in range(2 * MAX_HEAVY + 2)]
    # In arrival order: light pieces among and after the heavy ones.
    line = [*heavy[:2], "l0", *heavy[2:-2], "l1", *heavy[-2:], "l2"]
    results, groups = _groups_behind_a_held_piece(sqlite_engine, line)
    assert results == [0, *(n * 10 for n in range(1, len(line) + 1))]
    assert (
        groups
        == [
            [],  # the held piece
            ["l0", "l1", "l2"],
            heavy[:MAX_HEAVY],
            heavy[MAX_HEAVY : 2 * MAX_HEAVY],
            heavy[2 * MAX_HEAVY :],
        ]
    )
    assert committed_marks(sqlite_engine) == list(range(1, len(line) + 1))


@pytest.mark.parametrize(
    ("held", "taken"),
    [(0, 0), (1, 1), (4, 4), (5, 4), (32, 4), (33, 5), (40, 5), (41, 6), (80, 10), (1000, 125)],
)
def test_a_group_takes_four_heavy_pieces_or_an_eighth_of_a_longer_line(
    held: int, taken: int
) -> None:
    assert heavy_allowance(held) == taken


def test_a_long_line_of_heavy_pieces_drains_by_an_eighth_a_group(sqlite_engine: Engine) -> None:
    count = 10 * MAX_HEAVY
    _, groups = _groups_behind_a_held_piece(sqlite_engine, ["h"] * count)
    expected, left = [], count
    while left:
        expected.append(heavy_allowance(left))
        left -= expected[-1]
    assert expected[0] > MAX_HEAVY  # the line is long enough to be drained faster
    assert [len(group) for group in groups] == [0, *expected]
    assert committed_marks(sqlite_engine) == list(range(1, count + 1))


def test_stop_stores_the_heavy_pieces_held_back_too(sqlite_engine: Engine) -> None:
    writer = GroupWriter(make_sessionmaker(write_intent(sqlite_engine)))
    writer.start()
    count = 3 * MAX_HEAVY + 1

    async def scenario() -> list[Any]:
        lined_up = [
            asyncio.ensure_future(writer.write(_insert(n), heavy=True)) for n in range(1, count + 1)
        ]
        await asyncio.sleep(0)  # each has put its work in line
        await asyncio.to_thread(writer.stop)
        return await asyncio.gather(*lined_up)

    assert run_on_own_thread(scenario()) == [n * 10 for n in range(1, count + 1)]
    assert committed_marks(sqlite_engine) == list(range(1, count + 1))


def test_a_writer_that_is_not_running_refuses_work(sqlite_engine: Engine) -> None:
    writer = GroupWriter(make_sessionmaker(write_intent(sqlite_engine)))
    with pytest.raises(RuntimeError, match="not running"):
        _raise_first(_gather(partial(writer.write, _insert(1))))


def _raise_first(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


# -- reading ahead, writing behind -------------------------------------------------------------


class _Reads:
    """A read-ahead that records the runs it read for and reads "read <key>" for each piece's
    key (or raises ``fail``); pieces are keyed by their ``key`` argument."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.runs: list[list[int]] = []
        self.fail = fail
        self.ahead = ReadAhead(read=self._read, key=lambda arguments: arguments["key"])

    def _read(self, session: Session, run: list[Mapping[str, Any]]) -> dict[Any, Any]:
        self.runs.append([arguments["key"] for arguments in run])
        if self.fail is not None:
            raise self.fail
        return {arguments["key"]: f"read {arguments['key']}" for arguments in run}

    def of(self, key: int) -> tuple[ReadAhead, Mapping[str, Any]]:
        return self.ahead, {"key": key}


class _Marks:
    """Writes the marks pieces left behind, in one statement a call (or, the first time,
    raises ``fail``)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    def __call__(self, session: Session, marks: list[Any]) -> None:
        self.calls.append(list(marks))
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        session.execute(text("INSERT INTO marks (n) VALUES (:n)"), [{"n": n} for n in marks])


def _taking(key: int, *, behind: tuple[_Marks, int] | None = None) -> Callable[[Session], Any]:
    """A piece that takes what was read ahead for ``key``, and leaves a mark behind."""

    def work(session: Session) -> Any:
        if behind is not None:
            write_behind(session, *behind)
        return taken_ahead(session, key)

    return work


def _seen(session: Session) -> list[int]:
    """A piece of another kind: the marks it sees."""
    return list(session.execute(text("SELECT n FROM marks ORDER BY n")).scalars())


def _one_group_ahead(
    writer: GroupWriter,
    pieces: list[tuple[Callable[[Session], Any], tuple[ReadAhead, Mapping[str, Any]] | None]],
) -> list[Any]:
    """``_one_group`` for pieces with their read-aheads."""
    hold = _Hold()

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(writer.write(hold))
        while not hold.started.is_set():
            await asyncio.sleep(0.001)
        lined_up = [
            asyncio.ensure_future(writer.write(work, ahead=ahead)) for work, ahead in pieces
        ]
        await asyncio.sleep(0.05)
        hold.release.set()
        return await asyncio.gather(first, *lined_up, return_exceptions=True)

    return run_on_own_thread(scenario())[1:]


def test_a_run_of_pieces_is_read_ahead_once_and_each_piece_takes_what_was_read_for_it(
    writer: GroupWriter,
) -> None:
    reads = _Reads()
    results = _one_group_ahead(
        writer, [(_taking(1), reads.of(1)), (_taking(2), reads.of(2)), (_taking(3), reads.of(3))]
    )
    assert reads.runs == [[1, 2, 3]]
    assert results == ["read 1", "read 2", "read 3"]


def test_a_run_ends_at_a_piece_of_another_kind_and_what_is_left_of_it_is_dropped(
    writer: GroupWriter,
) -> None:
    reads = _Reads()
    results = _one_group_ahead(
        writer,
        [
            (_taking(5), reads.of(1)),  # takes nothing of what was read for it
            (_taking(1), None),  # another kind: what was read for key 1 is stale by now
            (_taking(2), reads.of(2)),
            (_taking(3), reads.of(3)),
        ],
    )
    assert reads.runs == [[1], [2, 3]]
    assert results == [None, None, "read 2", "read 3"]


def test_a_piece_with_a_key_its_run_holds_begins_the_next_run(writer: GroupWriter) -> None:
    reads = _Reads()
    results = _one_group_ahead(
        writer,
        [(_taking(7), reads.of(7)), (_taking(8), reads.of(8)), (_taking(7), reads.of(7))],
    )
    assert reads.runs == [[7, 8], [7]]
    assert results == ["read 7", "read 8", "read 7"]


def test_what_a_run_left_behind_is_written_at_its_end_before_the_next_piece_runs(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    reads, marks = _Reads(), _Marks()
    results = _one_group_ahead(
        writer,
        [
            (_taking(1, behind=(marks, 1)), reads.of(1)),
            (_taking(2, behind=(marks, 2)), reads.of(2)),
            (_seen, None),
            (_taking(3, behind=(marks, 3)), reads.of(3)),
        ],
    )
    assert results == ["read 1", "read 2", [1, 2], "read 3"]
    assert marks.calls == [[1, 2], [3]]  # the last run's, before the commit
    assert committed_marks(sqlite_engine) == [1, 2, 3]


def test_outside_a_run_what_is_left_behind_is_written_at_once(writer: GroupWriter) -> None:
    marks = _Marks()

    def piece(session: Session) -> list[int]:
        write_behind(session, marks, 4)
        return _seen(session)

    assert _gather(partial(writer.write, piece)) == [[4]]


def test_what_was_read_ahead_does_not_outlive_its_group(sqlite_engine: Engine) -> None:
    # One session for every group, as when the application runs in a test's session.
    session = make_sessionmaker(write_intent(sqlite_engine))()
    writer = GroupWriter(lambda: session, close=False)
    writer.start()
    try:
        reads = _Reads()
        assert _one_group_ahead(writer, [(_taking(9), reads.of(1))]) == [None]
        assert _gather(partial(writer.write, _taking(1))) == [None]
    finally:
        writer.stop()
        session.close()


def test_a_failed_read_ahead_blames_no_piece_and_the_group_runs_again_with_savepoints(
    writer: GroupWriter, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    reads, marks = _Reads(fail=LookupError("the read-ahead failed")), _Marks()
    savepoints = _Savepoints(sqlite_engine)
    results = _one_group_ahead(
        writer,
        [
            (_taking(1, behind=(marks, 1)), reads.of(1)),
            (_taking(2, behind=(marks, 2)), reads.of(2)),
        ],
    )
    assert results == [None, None]  # each read for itself: nothing was read ahead
    assert reads.runs == [[1, 2]]
    assert marks.calls == [[1], [2]]  # each written at once, outside a run
    assert savepoints.count == 2
    assert committed_marks(sqlite_engine) == [1, 2]
    assert "its group runs again" in caplog.text


def test_a_run_s_failed_writes_blame_no_piece_and_the_group_runs_again_with_savepoints(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    reads, marks = _Reads(), _Marks(fail=LookupError("the run's writes failed"))
    results = _one_group_ahead(
        writer,
        [
            (_taking(1), None),
            (_taking(2, behind=(marks, 2)), reads.of(2)),
            (_taking(3, behind=(marks, 3)), reads.of(3)),
        ],
    )
    assert results == [None, None, None]
    assert marks.calls == [[2, 3], [2], [3]]
    assert committed_marks(sqlite_engine) == [2, 3]
    # The next group runs without savepoints again, and reads ahead.
    assert _one_group_ahead(writer, [(_taking(4), reads.of(4)), (_taking(5), reads.of(5))]) == [
        "read 4",
        "read 5",
    ]


class _Held:
    """Marks held to the commit: what each call of the write got, and when."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.pieces_run = 0

    def write(self, session: Session, marks: list[int]) -> None:
        self.calls.append([self.pieces_run, *marks])
        for n in marks:
            session.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})

    def piece(self, n: int, *, fail: bool = False) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            self.pieces_run += 1
            hold_to_commit(session, self.write, n)
            if fail:
                raise LookupError("refused after holding")
            return n * 10

        return work


def test_rows_held_to_the_commit_are_written_in_one_call_after_the_group_s_last_piece(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    held = _Held()
    assert _one_group(writer, [held.piece(n) for n in (1, 2, 3)]) == [10, 20, 30]
    assert held.calls == [[3, 1, 2, 3]]  # after all three pieces had run
    assert committed_marks(sqlite_engine) == [1, 2, 3]


def test_what_a_failed_piece_held_is_not_written_and_the_others_write_their_own(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    held = _Held()
    results = _one_group(writer, [held.piece(1), held.piece(2, fail=True), held.piece(3)])
    assert results[0] == 10
    assert isinstance(results[1], LookupError)
    assert results[2] == 30
    # The group without savepoints stopped at the failure and wrote nothing it held; run again
    # (the failed piece not), each piece in a savepoint wrote its row at once.
    assert held.calls == [[3, 1], [4, 3]]
    assert committed_marks(sqlite_engine) == [1, 3]


def test_what_a_piece_held_in_its_own_rolled_back_savepoint_is_dropped(
    writer: GroupWriter, sqlite_engine: Engine
) -> None:
    held = _Held()

    def tries_and_recovers(session: Session) -> int:
        try:
            with savepoint(session):
                held.piece(2, fail=True)(session)
        except LookupError:
            pass
        return held.piece(3)(session)

    assert _one_group(writer, [held.piece(1), tries_and_recovers]) == [10, 30]
    assert held.calls == [[3, 1, 3]]
    assert committed_marks(sqlite_engine) == [1, 3]


def test_outside_a_group_what_is_held_is_written_at_once(sqlite_engine: Engine) -> None:
    held = _Held()
    with Session(sqlite_engine) as session:
        held.piece(1)(session)
        assert held.calls == [[1, 1]]
        session.commit()
    assert committed_marks(sqlite_engine) == [1]
