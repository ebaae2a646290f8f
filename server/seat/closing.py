"""Closing an attempt and scoring it: finished by the student (R 4.6) or by the server's clock.

The server closes attempts by itself at the deadline (plus the transport grace), whatever the
browser does. Closing is a conditional update, so two server processes sweeping at once, or a
student finishing while the sweep runs, close an attempt exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.audit.service import record
from server.config import Settings
from server.db import table_of
from server.db.session import columns
from server.events.store import emit
from server.models import (
    Attempt,
    AttemptState,
    Enrolment,
    Exam,
    ExamDiscipline,
    ExamSession,
    ItemOption,
    ItemOptionText,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
    Response,
    Result,
    ResultBasis,
    User,
    Violation,
)
from server.rules.grading import exam_result
from server.rules.scoring import (
    CHOICE_KINDS,
    AcceptedNumber,
    AcceptedText,
    QuestionKind,
    exam_percent,
    matching_credit,
    numerical_credit,
    ordering_credit,
    question_credit,
    short_answer_credit,
)
from server.seat.answers import (
    matching_choices,
    matching_right,
    ordering_entries,
    ordering_right,
    pick_text,
)

SITTING_STATES = (AttemptState.ADMITTED, AttemptState.IN_PROGRESS)
CLOSED_STATES = frozenset({AttemptState.SUBMITTED, AttemptState.TIMED_OUT, AttemptState.REMOVED})

_KINDS: dict[ItemType, QuestionKind] = {
    ItemType.SINGLE_CHOICE: QuestionKind.SINGLE_CHOICE,
    ItemType.MULTIPLE_RESPONSE: QuestionKind.MULTIPLE_RESPONSE,
    ItemType.TRUE_FALSE: QuestionKind.TRUE_FALSE,
    ItemType.SHORT_ANSWER: QuestionKind.SHORT_ANSWER,
    ItemType.NUMERICAL: QuestionKind.NUMERICAL,
    ItemType.MATCHING: QuestionKind.MATCHING,
    ItemType.ORDERING: QuestionKind.ORDERING,
}
# Accepted answers, in option order: (position, fraction, {language: text}).
_Accepted = list[tuple[int, Decimal, dict[str, str]]]


@dataclass(frozen=True)
class Saved:
    """A question's newest save: its answer and its flag."""

    answer: Any
    flagged: bool


# Built once: the paper page and the finish both read it.
_NEWEST_SAVES = (
    select(Response.paper_question_id, Response.answer, Response.flagged)
    .where(Response.attempt_id == bindparam("attempt_id"))
    .order_by(Response.seq)
)


def current_answers(db: Session, attempt_id: int) -> dict[int, Saved]:
    """The answer to each question: its save with the highest sequence number, by
    ``paper_questions.id``."""
    return {
        question_id: Saved(answer, flagged)
        for question_id, answer, flagged in columns(db, _NEWEST_SAVES, {"attempt_id": attempt_id})
    }


def _accepted(db: Session, version_ids: list[int]) -> dict[int, _Accepted]:
    """The accepted answers of short-answer and numerical versions (their options' texts)."""
    rows = db.execute(
        select(
            ItemOption.item_version_id,
            ItemOption.position,
            ItemOption.fraction,
            ItemOptionText.language,
            ItemOptionText.text,
        )
        .join(ItemOptionText, ItemOptionText.option_id == ItemOption.id)
        .where(ItemOption.item_version_id.in_(version_ids))
        .order_by(ItemOption.item_version_id, ItemOption.position)
    ).all()
    options: dict[int, dict[int, tuple[int, Decimal, dict[str, str]]]] = defaultdict(dict)
    for version_id, position, fraction, language, text in rows:
        option = options[version_id].setdefault(position, (position, Decimal(fraction), {}))
        option[2][language.value] = text
    return {version_id: list(by_position.values()) for version_id, by_position in options.items()}


def _typed(answer: Any) -> str:
    text = answer.get("text") if isinstance(answer, dict) else None
    return text if isinstance(text, str) else ""


def _listed(answer: Any, key: str) -> list[Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, list) else []


def question_score(
    kind: QuestionKind,
    answer: Any,
    *,
    fractions: dict[int, Decimal],
    accepted: _Accepted,
    content: dict[str, Any],
    language: Language,
) -> Decimal:
    """The credit of one stored answer (``None``: never answered), read with the item's key.

    Texts are read in the paper's language, the language the student saw and answered in.
    """
    if kind in CHOICE_KINDS:
        chosen = frozenset(answer) if isinstance(answer, list) else frozenset()
        return question_credit(kind=kind, chosen=chosen, fractions=fractions)
    if kind is QuestionKind.SHORT_ANSWER:
        return short_answer_credit(
            given=_typed(answer),
            accepted=[AcceptedText(pick_text(texts, language), f) for _, f, texts in accepted],
            case_sensitive=bool(content.get("case_sensitive", False)),
        )
    if kind is QuestionKind.NUMERICAL:
        # One tolerance per option, by position (a missing one is 0: the exact value only).
        tolerances = content.get("tolerances") or []

        def tolerance(position: int) -> Decimal:
            found = tolerances[position - 1] if 0 < position <= len(tolerances) else 0
            return Decimal(str(abs(float(found))))

        return numerical_credit(
            given=_typed(answer),
            accepted=[
                AcceptedNumber(pick_text(texts, language), tolerance(position), f)
                for position, f, texts in accepted
            ],
        )
    if kind is QuestionKind.MATCHING:
        choices = matching_choices(content, language)
        given = {
            stem: choices[choice - 1]
            for stem, choice in _listed(answer, "pairs")
            if 1 <= choice <= len(choices)
        }
        return matching_credit(given=given, right=matching_right(content, language))
    entries = ordering_entries(content, language)
    order = [entries[entry - 1] for entry in _listed(answer, "order") if 1 <= entry <= len(entries)]
    return ordering_credit(given=order, right=ordering_right(content, language))


# The finish's reads, built once: at the end of an exam every room finishes within a minute,
# each finish a job of the one writer that the saves still coming in wait behind.
#
# The paper's questions with their kinds and each option's fraction: a row per option (one
# with no option for a version that has none).
_PAPER = (
    select(
        PaperQuestion.id,
        PaperQuestion.item_version_id,
        PaperQuestion.discipline_id,
        ItemVersion.type,
        ItemOption.id,
        ItemOption.fraction,
    )
    .join(ItemVersion, ItemVersion.id == PaperQuestion.item_version_id)
    .outerjoin(ItemOption, ItemOption.item_version_id == PaperQuestion.item_version_id)
    .where(PaperQuestion.attempt_id == bindparam("attempt_id"))
    .order_by(PaperQuestion.position)
)
# The exam's disciplines in order, with the student's midterm marks in the exam's term (none
# when not enrolled) and whether a violation stands against the attempt.
_DISCIPLINES = (
    select(
        ExamDiscipline.discipline_id,
        Enrolment.r1,
        Enrolment.r2,
        exists()
        .where(Violation.attempt_id == bindparam("attempt_id"), Violation.revoked_at.is_(None))
        .label("violation"),
    )
    .join(Exam, Exam.id == ExamDiscipline.exam_id)
    .join(ExamSession, ExamSession.id == Exam.exam_session_id)
    .outerjoin(
        Enrolment,
        and_(
            Enrolment.term_id == ExamSession.term_id,
            Enrolment.discipline_id == ExamDiscipline.discipline_id,
            Enrolment.student_id == bindparam("student_id"),
        ),
    )
    .where(ExamDiscipline.exam_id == bindparam("exam_id"))
    .order_by(ExamDiscipline.position)
)


@dataclass(frozen=True)
class _Paper:
    """The attempt's paper as scoring needs it: (question, version, discipline) in order, each
    version's kind, and each version's option fractions by option."""

    questions: list[tuple[int, int, int]]
    kinds: dict[int, ItemType]
    fractions: dict[int, dict[int, Decimal]]


def _paper(db: Session, attempt_id: int) -> _Paper:
    questions: dict[int, tuple[int, int, int]] = {}
    kinds: dict[int, ItemType] = {}
    fractions: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for question, version, discipline, kind, option, fraction in columns(
        db, _PAPER, {"attempt_id": attempt_id}
    ):
        questions.setdefault(question, (question, version, discipline))
        kinds[version] = kind
        if option is not None:
            fractions[version][option] = Decimal(fraction)
    return _Paper(list(questions.values()), kinds, fractions)


def score(db: Session, settings: Settings, attempt: Attempt, *, now: datetime) -> list[Result]:
    """Store the attempt's result for each discipline of the exam (R 4.12).

    At the end of an exam every room finishes within a minute, each finish a job of the one
    writer, which the saves still coming in wait behind: the reads below are few and ask for
    columns, not objects (docs/BENCHMARKS.md, the finish minute).
    """
    # Six reads in three statements: on PostgreSQL each is a round trip of the writer's.
    paper = _paper(db, attempt.id)
    kinds, fractions = paper.kinds, paper.fractions
    keyed = [v for v, kind in kinds.items() if _KINDS[kind] not in CHOICE_KINDS]
    contents: dict[int, Any] = {}
    accepted: dict[int, _Accepted] = {}
    if keyed:  # papers of choice questions only need neither
        contents = dict(
            db.execute(
                select(ItemVersion.id, ItemVersion.content).where(ItemVersion.id.in_(keyed))
            ).all()
        )
        accepted = _accepted(
            db, [v for v in keyed if kinds[v] in (ItemType.SHORT_ANSWER, ItemType.NUMERICAL)]
        )
    answers = {q: saved.answer for q, saved in current_answers(db, attempt.id).items()}
    disciplines = columns(
        db,
        _DISCIPLINES,
        {"attempt_id": attempt.id, "exam_id": attempt.exam_id, "student_id": attempt.student_id},
    ).all()
    results = []
    for discipline_id, r1, r2, violation in disciplines:
        questions = [(q, v) for q, v, discipline in paper.questions if discipline == discipline_id]
        credits = []
        for question_id, version_id in questions:
            credits.append(
                question_score(
                    _KINDS[kinds[version_id]],
                    answers.get(question_id),
                    fractions=fractions[version_id],
                    accepted=accepted.get(version_id, []),
                    content=contents.get(version_id) or {},
                    language=attempt.language,
                )
            )
        outcome = exam_result(
            r1=r1,
            r2=r2,
            exam_percent=exam_percent(credits, max(len(questions), 1)),
            violation=bool(violation),
            rounding=settings.grade_rounding,
        )
        result = Result(
            exam_id=attempt.exam_id,
            student_id=attempt.student_id,
            discipline_id=discipline_id,
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


# Built once, run past the ORM: every finish of the finish minute closes its attempt in the
# writer. Only a sitting attempt closes: of a finish and the sweeper at once, one does.
_attempts = table_of(Attempt)
_CLOSE = (
    update(_attempts)
    .where(_attempts.c.id == bindparam("attempt_id"), _attempts.c.state.in_(SITTING_STATES))
    .values(state=bindparam("closed_state"), closed_at=bindparam("now"))
)


def close(
    db: Session,
    settings: Settings,
    attempt: Attempt,
    *,
    state: AttemptState,
    now: datetime,
    actor: User | int | None,
) -> bool:
    """Close a sitting attempt and score it; False when someone else closed it first.

    ``actor``: the account that closed it (a student finishing, a proctor removing), or its id,
    or None (the server's clock).
    """
    closed = columns(db, _CLOSE, {"attempt_id": attempt.id, "closed_state": state, "now": now})
    if closed.rowcount != 1:
        db.refresh(attempt)
        return False
    # What the update wrote, as loaded: no read of the row back (a round trip on PostgreSQL)
    # and no second write of it at the flush.
    set_committed_value(attempt, "state", state)
    set_committed_value(attempt, "closed_at", now)
    results = score(db, settings, attempt, now=now)
    actor_id = actor.id if isinstance(actor, User) else actor
    record(
        db,
        actor=actor_id,
        action=f"attempt.{state.value}",
        subject=f"attempt:{attempt.id}",
        details={
            "exam_percent": {str(r.discipline_id): str(r.exam_percent) for r in results},
            "last_seq": attempt.last_seq,
        },
        at=now,
    )
    if attempt.room_id is not None:
        emit(
            db,
            exam_id=attempt.exam_id,
            room_id=attempt.room_id,
            kind="closed",
            attempt_id=attempt.id,
            actor_id=actor_id,
            payload={"state": state.value},
            now=now,
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
