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

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.config import Settings
from server.events.store import emit
from server.models import (
    Attempt,
    AttemptState,
    ItemType,
    ItemVersion,
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


@dataclass(frozen=True)
class SaveReceipt:
    status: SaveStatus
    seq: int
    question: int
    received_at: datetime


def attempt_for(db: Session, *, attempt_id: int, student: Student) -> Attempt:
    """The student's own attempt; someone else's is reported as not found, not as forbidden."""
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or attempt.student_id != student.id:
        raise AttemptNotFound()
    return attempt


def require_sitting(attempt: Attempt, *, start: datetime, now: datetime) -> None:
    if attempt.state in CLOSED_STATES:
        raise AttemptClosed()
    if attempt.state == AttemptState.WAITING or now < start:
        raise NotStarted()


def _check_answer(
    db: Session, attempt: Attempt, question: PaperQuestion, answer: RawAnswer
) -> StoredAnswer:
    """The answer as it will be stored; an answer of the wrong shape or ids is refused."""
    item_type = db.execute(
        select(ItemVersion.type).where(ItemVersion.id == question.item_version_id)
    ).scalar_one()
    stems = 0
    if item_type is ItemType.MATCHING:
        content = db.execute(
            select(ItemVersion.content).where(ItemVersion.id == question.item_version_id)
        ).scalar_one()
        stems = len(matching_stems(content or {}, attempt.language))
    return checked_answer(item_type, answer, option_order=question.option_order, stems=stems)


def _same(response: Response, question: PaperQuestion, answer: StoredAnswer, save: Save) -> bool:
    return (
        response.paper_question_id == question.id
        and same_answer(response.answer, answer)
        and response.flagged == save.flagged
    )


def _answered_at(attempt: Attempt, save: Save, *, now: datetime) -> datetime:
    claimed = save.answered_at
    began = attempt.started_at or attempt.admitted_at or attempt.signed_in_at
    if claimed > now + CLOCK_TOLERANCE or claimed < began - CLOCK_TOLERANCE:
        raise TamperedClock()
    return min(claimed, now)


def save_answer(
    db: Session,
    settings: Settings,
    *,
    attempt: Attempt,
    start: datetime,
    save: Save,
    now: datetime,
) -> SaveReceipt:
    """Store one save or refuse it; a refusal changes nothing."""
    require_sitting(attempt, start=start, now=now)
    if attempt.client_token is None or save.client != attempt.client_token:
        raise WindowReplaced()
    question = db.execute(
        select(PaperQuestion).where(
            PaperQuestion.attempt_id == attempt.id, PaperQuestion.position == save.question
        )
    ).scalar_one_or_none()
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

    receipt = SaveReceipt(
        status=SaveStatus.ALREADY_SAVED, seq=save.seq, question=save.question, received_at=now
    )
    stored = db.execute(
        select(Response).where(Response.attempt_id == attempt.id, Response.seq == save.seq)
    ).scalar_one_or_none()
    if stored is not None:
        if _same(stored, question, answer, save):
            return receipt
        raise ReplayedSequence()
    # Saves of one attempt queue here for its row lock, so the answered count below is read
    # and written by one save at a time, on every database.
    db.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(last_save_at=now)
        .execution_options(synchronize_session=False)
    )
    newest = db.execute(
        select(Response.seq, Response.answer)
        .where(Response.paper_question_id == question.id)
        .order_by(Response.seq.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.seq > save.seq:
        raise StaleSequence()

    try:
        with db.begin_nested():
            db.add(
                Response(
                    attempt_id=attempt.id,
                    paper_question_id=question.id,
                    seq=save.seq,
                    answer=answer,
                    flagged=save.flagged,
                    answered_at=answered_at,
                    received_at=now,
                )
            )
    except IntegrityError:
        # The same number arrived twice at once: the other request stored it first.
        stored = db.execute(
            select(Response).where(Response.attempt_id == attempt.id, Response.seq == save.seq)
        ).scalar_one()
        if _same(stored, question, answer, save):
            return receipt
        raise ReplayedSequence() from None
    was_answered = newest is not None and is_answered(newest.answer)
    answered = db.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(
            # In SQL, not in Python: two saves committing at once must leave the larger number.
            last_seq=case((Attempt.last_seq < save.seq, save.seq), else_=Attempt.last_seq),
            answered=Attempt.answered + int(is_answered(answer)) - int(was_answered),
        )
        .returning(Attempt.answered)
        .execution_options(synchronize_session=False)
    ).scalar_one()
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
    return SaveReceipt(
        status=SaveStatus.SAVED, seq=save.seq, question=save.question, received_at=now
    )
