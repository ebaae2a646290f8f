"""Saving an answer: the one write the exam cannot afford to lose or to apply twice.

Every save carries the attempt's next sequence number, chosen by the page. A save is stored as a
new row (responses are append-only) and a question's answer is its save with the highest number,
so:

* a retry of a save already stored (same number, same content) is acknowledged again and
  changes nothing; the same number with different content is refused;
* an older save of a question that arrives after a newer one is refused and changes nothing
  (last write wins by sequence, not by arrival);
* saves of different questions may arrive in any order.

Time: the page says when the answer was made, in server time (it corrects its own clock by the
offset it measured). The claim is trusted only within bounds: never later than its arrival
(beyond a small tolerance), never before the attempt began. An answer made by the deadline
counts if it arrives within the transport grace (``rules.timing.save_accepted``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import table_of
from server.db.group_commit import write_behind
from server.db.session import columns
from server.events.store import emit, stored_event
from server.models import (
    Attempt,
    AttemptState,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
    Response,
    Student,
)
from server.rules.timing import save_accepted
from server.seat.answers import (
    RawAnswer,
    StoredAnswer,
    checked_answer,
    is_answered,
    matching_stems,
    same_answer,
)
from server.seat.closing import CLOSED_STATES
from server.seat.errors import (
    AttemptClosed,
    AttemptNotFound,
    NotStarted,
    ReplayedSequence,
    StaleSequence,
    TamperedClock,
    TimeOver,
    UnknownQuestion,
    WindowReplaced,
)

# How far ahead of the server a page's corrected clock may run: measurement error of the offset,
# not a way to stamp answers in the future.
CLOCK_TOLERANCE = timedelta(seconds=5)


class SaveStatus(StrEnum):
    SAVED = "saved"
    ALREADY_SAVED = "already_saved"


@dataclass(frozen=True)
class Save:
    """One save as the page sends it; ``question`` is the position on the paper (1-based).

    ``answer`` is the page's JSON, in the shape of the question's type (``seat.answers``).
    """

    client: str
    seq: int
    question: int
    answer: RawAnswer
    flagged: bool
    answered_at: datetime


class SavingAttempt(Protocol):
    """What storing a save reads of its attempt: an ``Attempt``, or the row of one
    (``server.seat.api``, which reads these columns only, not the mapped object)."""

    @property
    def id(self) -> int: ...
    @property
    def exam_id(self) -> int: ...
    @property
    def room_id(self) -> int | None: ...
    @property
    def state(self) -> AttemptState: ...
    @property
    def language(self) -> Language: ...
    @property
    def client_token(self) -> str | None: ...
    @property
    def signed_in_at(self) -> datetime: ...
    @property
    def admitted_at(self) -> datetime | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def deadline(self) -> datetime: ...


@dataclass(frozen=True)
class SaveReceipt:
    status: SaveStatus
    seq: int
    question: int
    received_at: datetime
    # The attempt's deadline as the save found it: the page keeps its countdown from the replies
    # to its saves, and asks for the status only when it has not saved for a while.
    deadline: datetime


def attempt_for(db: Session, *, attempt_id: int, student: Student) -> Attempt:
    """The student's own attempt; someone else's is reported as not found, not as forbidden."""
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or attempt.student_id != student.id:
        raise AttemptNotFound()
    return attempt


def require_sitting(attempt: SavingAttempt, *, start: datetime, now: datetime) -> None:
    if attempt.state in CLOSED_STATES:
        raise AttemptClosed()
    if attempt.state == AttemptState.WAITING or now < start:
        raise NotStarted()


# The save path's statements, built once: building a statement costs more than running it here.
# Core statements on the tables, not on the mapped classes: an ORM-enabled UPDATE or INSERT goes
# through the ORM's bulk machinery, which cost more than the statement on this path (py-spy).
_attempts = table_of(Attempt)
_responses = table_of(Response)
_paper = table_of(PaperQuestion)
_versions = table_of(ItemVersion)

_COUNT_SAVE = (
    update(_attempts)
    .where(_attempts.c.id == bindparam("of_attempt"))
    .values(
        # In SQL, not in Python: the row's own values, whatever this session has loaded.
        last_seq=case(
            (_attempts.c.last_seq < bindparam("save_seq"), bindparam("save_seq")),
            else_=_attempts.c.last_seq,
        ),
        answered=_attempts.c.answered + bindparam("answered_delta"),
        last_save_at=bindparam("now"),
    )
    .returning(_attempts.c.answered)
)


# SQLite: a save's response, its attempt's count, the room's event, each a statement (a call
# within the process). The parameters are named apart from every column, as in ``_COUNT_SAVE``.
_RESPONSE_VALUES = {
    name: bindparam(f"response_{name}", type_=_responses.c[name].type)
    for name in ("attempt_id", "paper_question_id", "seq", "answer", "flagged")
} | {
    "answered_at": bindparam("response_answered_at", type_=_responses.c.answered_at.type),
    "received_at": bindparam("now", type_=_responses.c.received_at.type),
}
_INSERT_RESPONSE = insert(_responses).values(_RESPONSE_VALUES)


# PostgreSQL: a save's writes (its response, its attempt's count, the room's event with the new
# count) are one statement, and the saves of a writer's run (``server.seat.api``) are written
# together, when the run ends (``server.db.group_commit``, "Reading ahead and writing
# behind"): each statement of the writer is a round trip to the database (docs/BENCHMARKS.md).
# Each save's values arrive as a row of one JSON document; the room's counter is raised once
# by the number of the run's events in the room, and the events are numbered in the run's
# order. A run holds one save of an attempt, so each attempt is updated once.
#
# The planner cannot see the document's length and takes ``json_to_recordset`` for 100 rows:
# against a table of one exam's attempts (a new database, the first exams of a term) it then
# hash-joined over a sequential scan of ``attempts``, 2,000 rows read for a run of two, and
# that generic plan stays for the connection's life (docs/BENCHMARKS.md). ``n`` is each row's
# place in the run, within the range below by construction; the planner takes such a range of
# a column it knows nothing of for a few rows, and then reaches each attempt and each room's
# counter by its key, at any size of the tables.
_STORE_SAVES = text(
    """
WITH wanted AS (
    SELECT * FROM json_to_recordset(CAST(:saves AS json)) AS w(
        n integer, attempt_id integer, exam_id integer, room_id integer,
        paper_question_id integer, seq integer, question integer, answer json,
        flagged boolean, answered_at timestamptz, received_at timestamptz,
        answered_delta integer)
    WHERE w.n BETWEEN 0 AND 2147483647
),
stored AS (
    INSERT INTO responses
        (attempt_id, paper_question_id, seq, answer, flagged, answered_at, received_at)
    SELECT attempt_id, paper_question_id, seq, answer, flagged, answered_at, received_at
    FROM wanted
),
counted AS (
    UPDATE attempts
    SET last_seq = CASE WHEN attempts.last_seq < w.seq THEN w.seq ELSE attempts.last_seq END,
        answered = attempts.answered + w.answered_delta,
        last_save_at = w.received_at
    FROM wanted AS w
    WHERE attempts.id = w.attempt_id
    RETURNING attempts.id, attempts.answered
),
numbered AS (
    UPDATE exam_rooms
    SET event_seq = exam_rooms.event_seq + r.events
    FROM (
        SELECT exam_id, room_id, count(*) AS events
        FROM wanted WHERE room_id IS NOT NULL GROUP BY exam_id, room_id
    ) AS r
    WHERE exam_rooms.exam_id = r.exam_id AND exam_rooms.room_id = r.room_id
    RETURNING exam_rooms.exam_id, exam_rooms.room_id, exam_rooms.event_seq - r.events AS before
),
told AS (
    INSERT INTO room_events (exam_id, room_id, kind, attempt_id, payload, created_at, seq)
    SELECT w.exam_id, w.room_id, 'saved', w.attempt_id,
           json_build_object('question', w.question, 'answered', c.answered),
           w.received_at,
           n.before + row_number() OVER (PARTITION BY w.exam_id, w.room_id ORDER BY w.n)
    FROM wanted AS w
    JOIN counted AS c ON c.id = w.attempt_id
    JOIN numbered AS n ON n.exam_id = w.exam_id AND n.room_id = w.room_id
    RETURNING attempt_id, id, seq
)
SELECT c.id, c.answered, t.id, t.seq FROM counted AS c LEFT JOIN told AS t ON t.attempt_id = c.id
"""
)


@dataclass(frozen=True)
class SaveWrite:
    """A save's writes on PostgreSQL, left behind for its run (``store_saves``)."""

    attempt_id: int
    exam_id: int
    room_id: int | None
    paper_question_id: int
    seq: int
    question: int
    answer: StoredAnswer
    flagged: bool
    answered_at: datetime
    received_at: datetime
    answered_delta: int


def store_saves(db: Session, writes: list[SaveWrite]) -> None:
    """PostgreSQL: the writes of saves, one of an attempt each, in one statement; the rooms'
    events published after the commit, as ``emit`` does."""
    if len({write.attempt_id for write in writes}) != len(writes):
        raise ValueError("a run holds one save of an attempt")
    document = json.dumps(
        [
            {
                **asdict(write),
                "n": n,
                "answered_at": write.answered_at.isoformat(),
                "received_at": write.received_at.isoformat(),
            }
            for n, write in enumerate(writes)
        ]
    )
    rows: Sequence[Any] = columns(db, _STORE_SAVES, {"saves": document}).all()
    stored = {attempt_id: (answered, event_id, seq) for attempt_id, answered, event_id, seq in rows}
    for write in writes:
        answered, event_id, seq = stored[write.attempt_id]
        if write.room_id is None:
            continue
        if event_id is None:  # the room no longer holds the exam
            raise LookupError(f"no event counter for room {write.room_id}")
        stored_event(
            db,
            event_id=event_id,
            seq=seq,
            exam_id=write.exam_id,
            room_id=write.room_id,
            kind="saved",
            attempt_id=write.attempt_id,
            payload={"question": write.question, "answered": answered},
            now=write.received_at,
        )


@dataclass(frozen=True)
class PaperPlace:
    """The question at the save's place on the paper."""

    id: int
    item_version_id: int
    option_order: list[int]
    type: ItemType


@dataclass(frozen=True)
class StoredSave:
    seq: int
    paper_question_id: int
    answer: Any
    flagged: bool


@dataclass(frozen=True)
class SaveFacts:
    """What storing a save checks, read before anything is written: the question at its place
    (None: the paper has no such place), the save already stored under its number, and the
    question's newest save. ``server.seat.api`` reads them with the attempt, in one statement."""

    question: PaperPlace | None
    stored: StoredSave | None
    newest: StoredSave | None


_place, _stored, _newest = (
    _paper.alias("place"),
    _responses.alias("stored"),
    _responses.alias("newest"),
)
_newest_seq = (
    select(func.max(_responses.c.seq))
    .where(_responses.c.paper_question_id == _place.c.id)
    .correlate(_place)
    .scalar_subquery()
)
_PLACE_COLUMNS = len(PaperPlace.__dataclass_fields__)


def with_facts(
    statement: Select[Any],
    *,
    position: ColumnElement[Any] | None = None,
    seq: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """``statement``, a read of rows of ``attempts``, with the save's facts as its last columns
    (``facts_of``): the place at ``position`` (by default the parameter of that name), the save
    under ``seq``, the place's newest save, each by an outer join."""
    position = bindparam("position") if position is None else position
    seq = bindparam("seq") if seq is None else seq
    return (
        statement.add_columns(
            _place.c.id,
            _place.c.item_version_id,
            _place.c.option_order,
            _versions.c.type,
            *(_stored.c[name] for name in StoredSave.__dataclass_fields__),
            *(_newest.c[name] for name in StoredSave.__dataclass_fields__),
        )
        .outerjoin(
            _place,
            and_(_place.c.attempt_id == _attempts.c.id, _place.c.position == position),
        )
        .outerjoin(_versions, _versions.c.id == _place.c.item_version_id)
        .outerjoin(
            _stored,
            and_(_stored.c.attempt_id == _attempts.c.id, _stored.c.seq == seq),
        )
        .outerjoin(
            _newest,
            and_(_newest.c.paper_question_id == _place.c.id, _newest.c.seq == _newest_seq),
        )
    )


FACT_COLUMNS = _PLACE_COLUMNS + 2 * len(StoredSave.__dataclass_fields__)


def facts_of(columns: Sequence[Any]) -> SaveFacts:
    """The ``SaveFacts`` of the last ``FACT_COLUMNS`` columns of a ``with_facts`` row."""
    place, saves = columns[:_PLACE_COLUMNS], columns[_PLACE_COLUMNS:]
    half = len(saves) // 2
    stored, newest = saves[:half], saves[half:]
    return SaveFacts(
        question=PaperPlace(*place) if place[0] is not None else None,
        stored=StoredSave(*stored) if stored[0] is not None else None,
        newest=StoredSave(*newest) if newest[0] is not None else None,
    )


_FACTS = with_facts(select(_attempts.c.id).where(_attempts.c.id == bindparam("attempt_id")))


def save_facts(db: Session, *, attempt_id: int, save: Save) -> SaveFacts:
    """``SaveFacts`` in a statement of their own (``server.seat.api`` reads them with the
    attempt, in the statement that locks it)."""
    row = db.execute(
        _FACTS, {"attempt_id": attempt_id, "position": save.question, "seq": save.seq}
    ).one()
    return facts_of(row[1:])


def _check_answer(
    db: Session, attempt: SavingAttempt, question: PaperPlace, answer: RawAnswer
) -> StoredAnswer:
    """The answer as it will be stored; an answer of the wrong shape or ids is refused."""
    stems = 0
    if question.type is ItemType.MATCHING:
        content = db.execute(
            select(ItemVersion.content).where(ItemVersion.id == question.item_version_id)
        ).scalar_one()
        stems = len(matching_stems(content or {}, attempt.language))
    return checked_answer(question.type, answer, option_order=question.option_order, stems=stems)


def _same(stored: StoredSave, question: PaperPlace, answer: StoredAnswer, save: Save) -> bool:
    return (
        stored.paper_question_id == question.id
        and same_answer(stored.answer, answer)
        and stored.flagged == save.flagged
    )


def _answered_at(attempt: SavingAttempt, save: Save, *, now: datetime) -> datetime:
    claimed = save.answered_at
    began = attempt.started_at or attempt.admitted_at or attempt.signed_in_at
    if claimed > now + CLOCK_TOLERANCE or claimed < began - CLOCK_TOLERANCE:
        raise TamperedClock()
    return min(claimed, now)


def save_answer(
    db: Session,
    settings: Settings,
    *,
    attempt: SavingAttempt,
    start: datetime,
    save: Save,
    now: datetime,
    facts: SaveFacts | None = None,
) -> SaveReceipt:
    """Store one save or refuse it; a refusal changes nothing.

    ``attempt`` was read with its row lock (``saving_attempt_of_claim``): the saves of one
    attempt are stored one at a time. ``facts``: read with it (``server.seat.api``), or here.
    ``behind``: they were read ahead with the writer's run of saves, and the save's writes are
    left to be written with the run's (``store_saves``).
    """
    if facts is None:
        facts = save_facts(db, attempt_id=attempt.id, save=save)
    require_sitting(attempt, start=start, now=now)
    if attempt.client_token is None or save.client != attempt.client_token:
        raise WindowReplaced()
    question = facts.question
    if question is None:
        raise UnknownQuestion()
    answer = _check_answer(db, attempt, question, save.answer)
    answered_at = _answered_at(attempt, save, now=now)
    if not save_accepted(
        answered_at=answered_at,
        received_at=now,
        deadline=attempt.deadline,
        transport_grace=timedelta(seconds=settings.transport_grace_seconds),
    ):
        raise TimeOver()

    # Saves of one attempt queue for its row lock, taken when the caller read the attempt
    # (``saving_attempt_of_claim``) or before the facts were read, so the facts (this number's
    # save, the question's newest) and the answered count are read and written by one save at a
    # time, on every database. On SQLite the write lock has done so already.
    stored, newest = facts.stored, facts.newest
    receipt = SaveReceipt(
        status=SaveStatus.ALREADY_SAVED,
        seq=save.seq,
        question=save.question,
        received_at=now,
        deadline=attempt.deadline,
    )
    if stored is not None:
        if _same(stored, question, answer, save):
            return receipt  # a retry of a save already stored
        raise ReplayedSequence()
    if newest is not None and newest.seq > save.seq:
        raise StaleSequence()

    was_answered = newest is not None and is_answered(newest.answer)
    answered_delta = int(is_answered(answer)) - int(was_answered)
    if db.get_bind().dialect.name == "postgresql":
        write = SaveWrite(
            attempt_id=attempt.id,
            exam_id=attempt.exam_id,
            room_id=attempt.room_id,
            paper_question_id=question.id,
            seq=save.seq,
            question=save.question,
            answer=answer,
            flagged=save.flagged,
            answered_at=answered_at,
            received_at=now,
            answered_delta=answered_delta,
        )
        write_behind(db, store_saves, write)
        return replace(receipt, status=SaveStatus.SAVED)
    response = {
        "response_attempt_id": attempt.id,
        "response_paper_question_id": question.id,
        "response_seq": save.seq,
        "response_answer": answer,
        "response_flagged": save.flagged,
        "response_answered_at": answered_at,
        "now": now,
    }
    counted = {
        "of_attempt": attempt.id,
        "save_seq": save.seq,
        "answered_delta": answered_delta,
        "now": now,
    }
    columns(db, _INSERT_RESPONSE, response)
    answered = columns(db, _COUNT_SAVE, counted).scalar_one()
    if attempt.room_id is not None:
        emit(
            db,
            exam_id=attempt.exam_id,
            room_id=attempt.room_id,
            kind="saved",
            attempt_id=attempt.id,
            payload={"question": save.question, "answered": answered},
            now=now,
        )
    return replace(receipt, status=SaveStatus.SAVED)
