"""Closing an attempt and scoring it: finished by the student (R 4.6) or by the server's clock.

The server closes attempts by itself at the deadline (plus the transport grace), whatever the
browser does. Closing is a conditional update, so two server processes sweeping at once, or a
student finishing while the sweep runs, close an attempt exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.audit.service import record
from server.config import Settings
from server.models import (
    Attempt,
    AttemptState,
    Enrolment,
    Exam,
    ItemOption,
    ItemType,
    ItemVersion,
    PaperQuestion,
    Response,
    Result,
    ResultBasis,
    User,
    Violation,
)
from server.rules.grading import exam_result
from server.rules.scoring import QuestionKind, exam_percent, question_credit

SITTING_STATES = (AttemptState.ADMITTED, AttemptState.IN_PROGRESS)
CLOSED_STATES = frozenset({AttemptState.SUBMITTED, AttemptState.TIMED_OUT, AttemptState.REMOVED})

_KINDS: dict[ItemType, QuestionKind] = {
    ItemType.SINGLE_CHOICE: QuestionKind.SINGLE_CHOICE,
    ItemType.MULTIPLE_RESPONSE: QuestionKind.MULTIPLE_RESPONSE,
    ItemType.TRUE_FALSE: QuestionKind.TRUE_FALSE,
}


def current_answers(db: Session, attempt_id: int) -> dict[int, Response]:
    """The answer to each question: its save with the highest sequence number."""
    rows = db.execute(
        select(Response).where(Response.attempt_id == attempt_id).order_by(Response.seq)
    ).scalars()
    latest: dict[int, Response] = {}
    for response in rows:
        latest[response.paper_question_id] = response
    return latest


def _fractions(db: Session, version_ids: list[int]) -> dict[int, dict[int, Decimal]]:
    rows = db.execute(
        select(ItemOption.item_version_id, ItemOption.id, ItemOption.fraction).where(
            ItemOption.item_version_id.in_(version_ids)
        )
    ).all()
    fractions: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for version_id, option_id, fraction in rows:
        fractions[version_id][option_id] = Decimal(fraction)
    return fractions


def _violation_stands(db: Session, attempt_id: int) -> bool:
    return (
        db.execute(
            select(Violation.id).where(
                Violation.attempt_id == attempt_id, Violation.revoked_at.is_(None)
            )
        ).first()
        is not None
    )


def score(db: Session, settings: Settings, attempt: Attempt, *, now: datetime) -> list[Result]:
    """Store the attempt's result for each discipline of the exam (R 4.12)."""
    exam = db.get_one(Exam, attempt.exam_id)
    paper = list(
        db.execute(select(PaperQuestion).where(PaperQuestion.attempt_id == attempt.id)).scalars()
    )
    version_ids = [q.item_version_id for q in paper]
    kinds = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.type).where(ItemVersion.id.in_(version_ids))
        ).all()
    )
    fractions = _fractions(db, version_ids)
    answers = current_answers(db, attempt.id)
    violation = _violation_stands(db, attempt.id)
    enrolments = {
        e.discipline_id: e
        for e in db.execute(
            select(Enrolment).where(
                Enrolment.student_id == attempt.student_id,
                Enrolment.term_id == exam.exam_session.term_id,
            )
        ).scalars()
    }
    results = []
    for exam_discipline in exam.disciplines:
        questions = [q for q in paper if q.discipline_id == exam_discipline.discipline_id]
        credits = []
        for question in questions:
            response = answers.get(question.id)
            chosen = frozenset(response.answer) if response else frozenset()
            credits.append(
                question_credit(
                    kind=_KINDS[kinds[question.item_version_id]],
                    chosen=chosen,
                    fractions=fractions[question.item_version_id],
                )
            )
        enrolment = enrolments.get(exam_discipline.discipline_id)
        outcome = exam_result(
            r1=enrolment.r1 if enrolment else None,
            r2=enrolment.r2 if enrolment else None,
            exam_percent=exam_percent(credits, max(len(questions), 1)),
            violation=violation,
            rounding=settings.grade_rounding,
        )
        result = Result(
            exam_id=exam.id,
            student_id=attempt.student_id,
            discipline_id=exam_discipline.discipline_id,
            attempt_id=attempt.id,
            basis=ResultBasis.VIOLATION if outcome.violation else ResultBasis.SCORED,
            exam_percent=outcome.exam_percent,
            final_percent=outcome.final_percent,
            letter=outcome.grade.letter if outcome.grade else None,
            points=outcome.grade.points if outcome.grade else None,
            rounding=settings.grade_rounding.value,
            computed_at=now,
        )
        db.add(result)
        results.append(result)
    db.flush()
    return results


def close(
    db: Session,
    settings: Settings,
    attempt: Attempt,
    *,
    state: AttemptState,
    now: datetime,
    actor: User | None,
) -> bool:
    """Close a sitting attempt and score it; False when someone else closed it first."""
    closed = db.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state.in_(SITTING_STATES))
        .values(state=state, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        db.refresh(attempt)
        return False
    db.refresh(attempt)
    results = score(db, settings, attempt, now=now)
    record(
        db,
        actor=actor,
        action=f"attempt.{state.value}",
        subject=f"attempt:{attempt.id}",
        details={
            "exam_percent": {str(r.discipline_id): str(r.exam_percent) for r in results},
            "last_seq": attempt.last_seq,
        },
        at=now,
    )
    return True


def expired(db: Session, settings: Settings, *, now: datetime) -> list[int]:
    """Sitting attempts whose deadline plus the transport grace has passed."""
    cutoff = now - timedelta(seconds=settings.transport_grace_seconds)
    return list(
        db.execute(
            select(Attempt.id).where(Attempt.state.in_(SITTING_STATES), Attempt.deadline < cutoff)
        ).scalars()
    )


def close_expired(db: Session, settings: Settings, *, now: datetime) -> int:
    """Close every attempt past its deadline; the number closed by this call."""
    count = 0
    for attempt_id in expired(db, settings, now=now):
        attempt = db.get_one(Attempt, attempt_id)
        if close(db, settings, attempt, state=AttemptState.TIMED_OUT, now=now, actor=None):
            count += 1
    return count
