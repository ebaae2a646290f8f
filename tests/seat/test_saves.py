"""Saves: idempotent, last write wins by sequence, refused with a reason and no change.

Each test runs every way a save's facts are read (``_way``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.auth.cookies import SessionClaim, password_fingerprint
from server.config import Settings
from server.db.group_commit import end_run, read_ahead
from server.events import store
from server.models import ExamRoom, ItemType, Response, RoomEvent
from server.seat.answers import TEXT_LIMIT, is_answered
from server.seat.api import SAVES_AHEAD, store_save
from server.seat.closing import current_answers
from server.seat.errors import (
    AnswerTooLong,
    AttemptClosed,
    MalformedAnswer,
    NotStarted,
    OneOptionOnly,
    ReplayedSequence,
    StaleSequence,
    TamperedClock,
    TimeOver,
    UnknownOption,
    UnknownQuestion,
    WindowReplaced,
)
from server.seat.saves import _STORE_SAVES, Save, SaveStatus, save_answer
from server.seat.seb import SebHeaders
from server.seat.views import paper_view
from tests.seat.conftest import Sitting, sit

# Every test runs three ways: with ``save_answer`` reading the save's facts in a statement of
# their own; as the writer's job (``store_save``), which reads them with the attempt and its
# lock; and as that job in a run of saves the writer read ahead (``read_saves_ahead``: on
# PostgreSQL the job must then not read them itself, and leaves its writes to the run's end).
_WAYS: dict[str, str] = {"way": "read_by_save_answer"}


@pytest.fixture(autouse=True, params=["read_by_save_answer", "read_with_the_attempt", "read_ahead"])
def _way(request: pytest.FixtureRequest) -> Iterator[None]:
    _WAYS["way"] = request.param
    yield
    _WAYS["way"] = "read_by_save_answer"


class _Statements:
    """Counts the statements that contain ``part`` (a save's facts: "AS newest", of
    ``server.seat.saves.with_facts``), while in the ``with`` block."""

    def __init__(self, db: Session, part: str) -> None:
        self.count = 0
        self._part = part
        self._engine = db.get_bind().engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += self._part in statement

    def __enter__(self) -> _Statements:
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def _job_arguments(sitting: Sitting, save: Save, now: datetime) -> dict[str, Any]:
    """``store_save``'s arguments for the sitting's student's save."""
    user = sitting.world.student.user
    return {
        "claim": SessionClaim(user.id, password_fingerprint(user.password_hash)),
        "attempt_id": sitting.attempt.id,
        "seb": SebHeaders(url=""),
        "save": save,
        "received_at": now,
    }


def _save(db: Session, settings: Settings, sitting: Sitting, save, *, now=None):  # type: ignore[no-untyped-def]
    now = now or sitting.start + timedelta(minutes=1, seconds=1)
    if _WAYS["way"] != "read_by_save_answer":
        db.flush()  # what the test changed, as a committed request would have
        arguments = _job_arguments(sitting, save, now)
        if _WAYS["way"] == "read_with_the_attempt":
            return store_save(db, settings, **arguments)
        # In a run with a save of an attempt that does not exist (an id beyond the column's
        # integers, as a path may carry): it is not found, and this one is read as before.
        elsewhere = {**arguments, "attempt_id": 10**17}
        read_ahead(db, SAVES_AHEAD, [arguments, elsewhere])
        postgresql = db.get_bind().dialect.name == "postgresql"
        with _Statements(db, "AS newest") as reads:
            try:
                return store_save(db, settings, **arguments)
            finally:
                assert reads.count == (0 if postgresql else 1)
                end_run(db)
    return save_answer(
        db, settings, attempt=sitting.attempt, start=sitting.start, save=save, now=now
    )


def _count(db: Session, sitting: Sitting) -> int:
    return db.execute(
        select(func.count()).where(Response.attempt_id == sitting.attempt.id)
    ).scalar_one()


def test_a_save_is_stored_and_acknowledged(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    # The page sends the option's number on the paper; the option's id is stored.
    receipt = _save(db, settings, sitting, sitting.save(1, 1, (3,), flagged=True))
    assert receipt.status == SaveStatus.SAVED
    answer = current_answers(db, sitting.attempt.id)[sitting.attempt.paper[0].id]
    assert answer.answer == [sitting.options(1)[2]]
    assert answer.flagged
    db.refresh(sitting.attempt)
    assert sitting.attempt.last_seq == 1


def test_a_retry_is_acknowledged_without_a_second_row(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    save = sitting.save(1, 1, (1,))
    _save(db, settings, sitting, save)
    assert _save(db, settings, sitting, save).status == SaveStatus.ALREADY_SAVED
    assert _count(db, sitting) == 1


def test_the_highest_sequence_wins_whatever_the_arrival_order(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    first, second = sitting.numbers(2)[:2]
    _save(db, settings, sitting, sitting.save(5, 2, (second,)))
    with pytest.raises(StaleSequence):
        _save(db, settings, sitting, sitting.save(4, 2, (first,)))
    # A lower number for another question is fine: saves of different questions may cross.
    _save(db, settings, sitting, sitting.save(3, 1, (1,)))
    answers = current_answers(db, sitting.attempt.id)
    assert answers[sitting.attempt.paper[1].id].answer == [sitting.options(2)[1]]
    assert _count(db, sitting) == 2


def _refused(db: Session, settings: Settings, sitting: Sitting, save, error, **kw) -> None:  # type: ignore[no-untyped-def]
    before = _count(db, sitting)
    with pytest.raises(error):
        _save(db, settings, sitting, save, **kw)
    assert _count(db, sitting) == before


def test_a_replayed_number_with_another_answer_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    a, b = sitting.numbers(1)[:2]
    _save(db, settings, sitting, sitting.save(1, 1, (a,)))
    _refused(db, settings, sitting, sitting.save(1, 1, (b,)), ReplayedSequence)


def test_a_number_already_used_by_another_question_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    """The save stored under a number is found whichever question it was for."""
    _save(db, settings, sitting, sitting.save(1, 1, (sitting.numbers(1)[0],)))
    _refused(db, settings, sitting, sitting.save(1, 2, (sitting.numbers(2)[0],)), ReplayedSequence)


def test_a_question_not_on_the_paper_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(db, settings, sitting, sitting.save(1, 26, ()), UnknownQuestion)


def test_a_number_the_question_does_not_show_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    shown = len(sitting.numbers(1))
    for answer in [(shown + 1,), (0,), (-1,), (999_999,), (1, 1)]:
        _refused(db, settings, sitting, sitting.save(1, 1, answer), UnknownOption)


def test_two_options_for_a_single_choice_question_are_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(
        db, settings, sitting, sitting.save(1, 1, tuple(sitting.numbers(1)[:2])), OneOptionOnly
    )


def test_a_replaced_window_cannot_save(db: Session, settings: Settings, sitting: Sitting) -> None:
    _refused(
        db, settings, sitting, sitting.save(1, 1, (), client="an-older-window"), WindowReplaced
    )


def test_saves_before_the_start_are_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(
        db,
        settings,
        sitting,
        sitting.save(1, 1, (), answered_at=sitting.start - timedelta(seconds=2)),
        NotStarted,
        now=sitting.start - timedelta(seconds=1),
    )


def test_the_deadline_and_the_transport_grace(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    deadline = sitting.attempt.deadline
    grace = timedelta(seconds=settings.transport_grace_seconds)
    option = sitting.numbers(1)[0]
    # Made exactly at the deadline, delivered at the end of the grace: counts.
    made = sitting.save(1, 1, (option,), answered_at=deadline)
    assert _save(db, settings, sitting, made, now=deadline + grace).status == SaveStatus.SAVED
    # Made before the deadline but delivered after the grace: refused.
    late = sitting.save(2, 2, (sitting.numbers(2)[0],), answered_at=deadline)
    _refused(
        db, settings, sitting, late, TimeOver, now=deadline + grace + timedelta(microseconds=1)
    )
    # Made after the deadline: refused even if it arrives at once.
    after = sitting.save(
        3, 3, (sitting.numbers(3)[0],), answered_at=deadline + timedelta(milliseconds=1)
    )
    _refused(db, settings, sitting, after, TimeOver, now=deadline + timedelta(milliseconds=2))


def test_a_tampered_clock_is_refused(db: Session, settings: Settings, sitting: Sitting) -> None:
    now = sitting.start + timedelta(minutes=10)
    future = sitting.save(1, 1, (), answered_at=now + timedelta(seconds=6))
    _refused(db, settings, sitting, future, TamperedClock, now=now)
    before_start = sitting.save(1, 1, (), answered_at=sitting.start - timedelta(minutes=30))
    _refused(db, settings, sitting, before_start, TamperedClock, now=now)


def test_a_closed_attempt_takes_no_saves(db: Session, settings: Settings, sitting: Sitting) -> None:
    from server.seat.attempts import finish

    finish(
        db,
        settings,
        attempt=sitting.attempt,
        user=sitting.world.student.user,  # type: ignore[arg-type]
        start=sitting.start,
        now=sitting.start + timedelta(minutes=2),
    )
    _refused(db, settings, sitting, sitting.save(1, 1, ()), AttemptClosed)


# -- the kinds beyond choice -----------------------------------------------------------------------


def _stored(db: Session, sitting: Sitting, position: int) -> object:
    question = sitting.attempt.paper[position - 1]
    return current_answers(db, sitting.attempt.id)[question.id].answer


def test_each_kind_is_stored_in_its_shape(db: Session, settings: Settings, mixed: Sitting) -> None:
    short = mixed.position_of(db, ItemType.SHORT_ANSWER)
    number = mixed.position_of(db, ItemType.NUMERICAL)
    matching = mixed.position_of(db, ItemType.MATCHING)
    ordering = mixed.position_of(db, ItemType.ORDERING)
    choices = mixed.options(matching)
    entries = mixed.options(ordering)
    saves = [
        (short, {"text": "  Астана  "}),
        (number, {"text": "9,81"}),
        # Given in any order, stored sorted by stem.
        (matching, {"pairs": [[3, choices[0]], [1, choices[1]]]}),
        (ordering, {"order": list(reversed(entries))}),
    ]
    for seq, (position, answer) in enumerate(saves, start=1):
        assert _save(db, settings, mixed, mixed.save(seq, position, answer)).status == "saved"
    assert _stored(db, mixed, short) == {"text": "  Астана  "}  # as typed
    assert _stored(db, mixed, number) == {"text": "9,81"}
    assert _stored(db, mixed, matching) == {"pairs": [[1, choices[1]], [3, choices[0]]]}
    assert _stored(db, mixed, ordering) == {"order": list(reversed(entries))}


def test_the_paper_shows_no_option_of_a_typed_answer(mixed: Sitting, db: Session) -> None:
    # A short answer's options are its accepted answers: the paper holds none of their ids.
    for kind in (ItemType.SHORT_ANSWER, ItemType.NUMERICAL):
        assert mixed.options(mixed.position_of(db, kind)) == []
    # Matching choices and ordering entries are numbered 1..n, shuffled.
    assert sorted(mixed.options(mixed.position_of(db, ItemType.MATCHING))) == [1, 2, 3, 4]
    assert sorted(mixed.options(mixed.position_of(db, ItemType.ORDERING))) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kind", "first", "retry"),
    [
        pytest.param(ItemType.SHORT_ANSWER, {"text": "Astana"}, {"text": "Astana"}, id="text"),
        pytest.param(ItemType.NUMERICAL, {"text": "3,5"}, {"text": "3,5"}, id="number"),
        pytest.param(
            ItemType.MATCHING,
            {"pairs": [[1, 2], [2, 1]]},
            {"pairs": [[2, 1], [1, 2]]},
            id="pairs-in-another-order",
        ),
        pytest.param(ItemType.ORDERING, "entries", "entries", id="order"),
    ],
)
def test_a_retry_of_each_shape_is_acknowledged_once(
    db: Session, settings: Settings, mixed: Sitting, kind: ItemType, first: Any, retry: Any
) -> None:
    position = mixed.position_of(db, kind)
    if first == "entries":
        first = retry = {"order": mixed.options(position)}
    _save(db, settings, mixed, mixed.save(1, position, first))
    again = _save(db, settings, mixed, mixed.save(1, position, retry))
    assert again.status == SaveStatus.ALREADY_SAVED
    assert _count(db, mixed) == 1


@pytest.mark.parametrize(
    ("kind", "first", "other"),
    [
        pytest.param(ItemType.SHORT_ANSWER, {"text": "Astana"}, {"text": "Astana "}, id="text"),
        pytest.param(ItemType.MATCHING, {"pairs": [[1, 2]]}, {"pairs": [[1, 3]]}, id="pairs"),
        pytest.param(ItemType.ORDERING, "entries", "reversed", id="order"),
    ],
)
def test_a_replayed_number_with_another_answer_of_each_shape_is_refused(
    db: Session, settings: Settings, mixed: Sitting, kind: ItemType, first: Any, other: Any
) -> None:
    position = mixed.position_of(db, kind)
    if first == "entries":
        first = {"order": mixed.options(position)}
        other = {"order": list(reversed(mixed.options(position)))}
    _save(db, settings, mixed, mixed.save(1, position, first))
    _refused(db, settings, mixed, mixed.save(1, position, other), ReplayedSequence)


@pytest.mark.parametrize(
    ("kind", "answer", "error"),
    [
        pytest.param(ItemType.SHORT_ANSWER, [1], MalformedAnswer, id="text-given-ids"),
        pytest.param(ItemType.SHORT_ANSWER, {"text": 5}, MalformedAnswer, id="text-not-a-string"),
        pytest.param(ItemType.SHORT_ANSWER, {}, MalformedAnswer, id="text-missing"),
        pytest.param(
            ItemType.SHORT_ANSWER, {"text": "x", "order": []}, MalformedAnswer, id="extra-key"
        ),
        pytest.param(ItemType.NUMERICAL, {"pairs": []}, MalformedAnswer, id="number-given-pairs"),
        pytest.param(
            ItemType.SHORT_ANSWER, {"text": "x" * 501}, AnswerTooLong, id="text-501-characters"
        ),
        pytest.param(ItemType.NUMERICAL, {"text": "9" * 501}, AnswerTooLong, id="number-too-long"),
        pytest.param(ItemType.MATCHING, {"pairs": [[1]]}, MalformedAnswer, id="pair-of-one"),
        pytest.param(ItemType.MATCHING, {"pairs": [[1, 2, 3]]}, MalformedAnswer, id="pair-of-3"),
        pytest.param(ItemType.MATCHING, {"pairs": [[True, 1]]}, MalformedAnswer, id="bool-id"),
        pytest.param(ItemType.MATCHING, {"pairs": [["1", 1]]}, MalformedAnswer, id="string-id"),
        pytest.param(ItemType.MATCHING, {"pairs": [1, 2]}, MalformedAnswer, id="flat-pairs"),
        pytest.param(
            ItemType.MATCHING, {"pairs": [[1, 1], [1, 2]]}, MalformedAnswer, id="stem-twice"
        ),
        pytest.param(ItemType.MATCHING, {"pairs": [[4, 1]]}, UnknownOption, id="unknown-stem"),
        pytest.param(ItemType.MATCHING, {"pairs": [[0, 1]]}, UnknownOption, id="stem-zero"),
        pytest.param(ItemType.MATCHING, {"pairs": [[1, 5]]}, UnknownOption, id="unknown-choice"),
        pytest.param(ItemType.MATCHING, [1], MalformedAnswer, id="matching-given-ids"),
        pytest.param(ItemType.ORDERING, {"order": [1, 2]}, MalformedAnswer, id="order-partial"),
        pytest.param(
            ItemType.ORDERING, {"order": [1, 1, 2, 3]}, MalformedAnswer, id="order-entry-twice"
        ),
        pytest.param(
            ItemType.ORDERING, {"order": [1, 2, 3, 9]}, UnknownOption, id="order-unknown-entry"
        ),
        pytest.param(
            ItemType.ORDERING, {"order": [1, 2, 3, 4, 5]}, MalformedAnswer, id="order-too-long"
        ),
        pytest.param(ItemType.ORDERING, {"order": "1234"}, MalformedAnswer, id="order-string"),
        pytest.param(ItemType.SINGLE_CHOICE, {"text": "A"}, MalformedAnswer, id="choice-text"),
    ],
)
def test_a_wrong_answer_shape_is_refused_and_changes_nothing(
    db: Session, settings: Settings, mixed: Sitting, kind: ItemType, answer: Any, error: type
) -> None:
    position = mixed.position_of(db, kind)
    _refused(db, settings, mixed, mixed.save(1, position, answer), error)
    db.refresh(mixed.attempt)
    assert mixed.attempt.last_seq == 0


def test_a_text_of_exactly_the_limit_is_saved(
    db: Session, settings: Settings, mixed: Sitting
) -> None:
    position = mixed.position_of(db, ItemType.SHORT_ANSWER)
    text = "ә" * TEXT_LIMIT  # characters, not bytes
    assert _save(db, settings, mixed, mixed.save(1, position, {"text": text})).status == "saved"


@pytest.mark.parametrize(
    ("kind", "answer", "answered"),
    [
        pytest.param(ItemType.SHORT_ANSWER, {"text": "Astana"}, True, id="text"),
        pytest.param(ItemType.SHORT_ANSWER, {"text": ""}, False, id="empty-text"),
        pytest.param(ItemType.NUMERICAL, {"text": " \u00a0 "}, False, id="blank-text"),
        pytest.param(ItemType.MATCHING, {"pairs": [[2, 1]]}, True, id="one-pair"),
        pytest.param(ItemType.MATCHING, {"pairs": []}, False, id="no-pairs"),
        pytest.param(ItemType.ORDERING, {"order": []}, False, id="cleared-order"),
        pytest.param(ItemType.ORDERING, "entries", True, id="order"),
    ],
)
def test_a_blank_answer_is_not_counted_as_answered(
    db: Session, settings: Settings, mixed: Sitting, kind: ItemType, answer: Any, answered: bool
) -> None:
    position = mixed.position_of(db, kind)
    if answer == "entries":
        answer = {"order": mixed.options(position)}
    _save(db, settings, mixed, mixed.save(1, position, answer))
    assert is_answered(_stored(db, mixed, position)) is answered
    db.refresh(mixed.attempt)
    assert mixed.attempt.answered == int(answered)  # the console's count
    page = {q.position: q for q in paper_view(db, mixed.attempt)}
    assert page[position].answered is answered


def test_each_stored_save_tells_the_room_once_with_the_answered_count(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    """The event the consoles hear, stored with the save (on PostgreSQL in the same statement):
    numbered after the room's last event, with the count after the save; retries and refusals
    tell nothing."""
    in_room = RoomEvent.room_id == sitting.attempt.room_id
    last_seq = db.execute(select(func.max(RoomEvent.seq)).where(in_room)).scalar_one() or 0
    one, two = sitting.numbers(1)[0], sitting.numbers(2)[0]
    first = sitting.save(1, 1, (one,))
    _save(db, settings, sitting, first)
    _save(db, settings, sitting, first)  # a retry
    _save(db, settings, sitting, sitting.save(2, 2, (two,)))
    _refused(db, settings, sitting, sitting.save(1, 2, (two,)), ReplayedSequence)
    _save(db, settings, sitting, sitting.save(3, 1, ()))  # cleared

    stored = db.execute(
        select(RoomEvent).where(in_room, RoomEvent.seq > last_seq).order_by(RoomEvent.seq)
    )
    events = list(stored.scalars())
    assert [(e.seq, e.kind, e.attempt_id, e.payload) for e in events] == [
        (last_seq + 1, "saved", sitting.attempt.id, {"question": 1, "answered": 1}),
        (last_seq + 2, "saved", sitting.attempt.id, {"question": 2, "answered": 2}),
        (last_seq + 3, "saved", sitting.attempt.id, {"question": 1, "answered": 1}),
    ]
    # What the consoles are sent after the commit is what was stored.
    pending = db.info[store._PENDING][-3:]
    assert [(e.id, e.seq, e.payload) for e in pending] == [(e.id, e.seq, e.payload) for e in events]
    room = db.execute(
        select(ExamRoom).where(
            ExamRoom.exam_id == sitting.attempt.exam_id,
            ExamRoom.room_id == sitting.attempt.room_id,
        )
    ).scalar_one()
    db.refresh(room)
    assert room.event_seq == last_seq + 3


def test_a_run_of_several_attempts_saves_is_stored_together_and_told_in_its_order(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    """On PostgreSQL in one statement at the run's end; the room's events numbered in the run's
    order, each with its attempt's count."""
    other = sit(db, settings, replace(sitting.world, student=sitting.world.new_student(db)), seat=1)
    in_room = RoomEvent.room_id == sitting.attempt.room_id
    last_seq = db.execute(select(func.max(RoomEvent.seq)).where(in_room)).scalar_one() or 0
    now = sitting.start + timedelta(minutes=1, seconds=1)
    run = [
        _job_arguments(other, other.save(1, 2, (other.numbers(2)[0],)), now),
        _job_arguments(sitting, sitting.save(1, 1, (sitting.numbers(1)[1],)), now),
    ]
    with _Statements(db, "INSERT INTO responses") as inserts:
        read_ahead(db, SAVES_AHEAD, run)
        receipts = [store_save(db, settings, **arguments) for arguments in run]
        end_run(db)

    assert [receipt.status for receipt in receipts] == [SaveStatus.SAVED] * 2
    assert inserts.count == (1 if db.get_bind().dialect.name == "postgresql" else 2)
    events = list(
        db.execute(
            select(RoomEvent).where(in_room, RoomEvent.seq > last_seq).order_by(RoomEvent.seq)
        ).scalars()
    )
    assert [(e.seq, e.attempt_id, e.payload) for e in events] == [
        (last_seq + 1, other.attempt.id, {"question": 2, "answered": 1}),
        (last_seq + 2, sitting.attempt.id, {"question": 1, "answered": 1}),
    ]
    pending = db.info[store._PENDING][-2:]
    assert [(e.id, e.seq, e.payload) for e in pending] == [(e.id, e.seq, e.payload) for e in events]
    for seated, question, option in ((other, 2, 0), (sitting, 1, 1)):
        db.refresh(seated.attempt)
        assert (seated.attempt.last_seq, seated.attempt.answered) == (1, 1)
        stored = current_answers(db, seated.attempt.id)[seated.attempt.paper[question - 1].id]
        assert stored.answer == [seated.options(question)[option]]


def test_a_run_write_reaches_each_attempt_by_its_key(db: Session) -> None:
    """PostgreSQL: the plan of the run write (``_STORE_SAVES``, the writes of every save in a
    storm) looks each attempt up by its key in a table of an exam's 2,000 attempts, instead of
    reading the whole table for a run of two saves (docs/BENCHMARKS.md). The connection plans
    it once, generically, as every statement (``server.db.engine``)."""
    if db.get_bind().dialect.name != "postgresql":
        return  # SQLite writes each save in statements of its own, each by key
    connection = db.connection()
    # An exam's worth of attempts, as a new database holds at its first exam; a plan needs no
    # students, exams or rooms behind them, so the foreign keys are not checked (this
    # transaction only: it is rolled back).
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    connection.exec_driver_sql(
        "INSERT INTO attempts (exam_id, student_id, state, language, signed_in_at, deadline,"
        " last_seq, answered) SELECT -1, -g, 'in_progress', 'en', now(), now(), 0, 0"
        " FROM generate_series(1, 2000) AS g"
    )
    driver = connection.connection.driver_connection
    statement = str(_STORE_SAVES.compile(dialect=db.get_bind().dialect))
    driver.execute(
        "PREPARE run_write(json) AS " + statement.replace("%(saves)s", "$1"), prepare=False
    )
    try:
        plan = "\n".join(
            row[0] for row in driver.execute("EXPLAIN EXECUTE run_write('[]')", prepare=False)
        )
    finally:
        driver.execute("DEALLOCATE run_write", prepare=False)
    assert "Index Scan using pk_attempts on attempts" in plan, plan
    assert "Seq Scan on attempts" not in plan, plan
