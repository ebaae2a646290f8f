"""Closing: finishing early, the server's own close at the deadline, scoring into results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.auth.cookies import SessionClaim, password_fingerprint
from server.config import Settings
from server.models import (
    AttemptState,
    Enrolment,
    ItemOption,
    ItemType,
    Language,
    Result,
    ResultBasis,
    Role,
    Violation,
)
from server.seat.answers import RawAnswer
from server.seat.attempts import finish
from server.seat.closing import close, close_expired
from server.seat.errors import AttemptClosed
from server.seat.router import finish_attempt
from server.seat.saves import save_answer
from server.seat.seb import SebHeaders
from server.seat.views import paper_view
from tests import factories
from tests.seat.conftest import Sitting, sit
from tests.seat.factories import NEW_KINDS, create_world
from tests.support.statements import statements


def _correct(db: Session, sitting: Sitting, question: int) -> int:
    """The page's number of the question's right option."""
    ids = sitting.options(question)
    right = db.execute(
        select(ItemOption.id).where(ItemOption.id.in_(ids), ItemOption.fraction == 1)
    ).scalar_one()
    return sitting.number_of(question, right)


def _answer(
    db: Session, settings: Settings, sitting: Sitting, seq: int, q: int, number: int
) -> None:
    sitting.store(db, settings, seq, q, (number,), minutes=2)


def _result(db: Session, sitting: Sitting) -> Result:
    return db.execute(select(Result).where(Result.attempt_id == sitting.attempt.id)).scalar_one()


def test_finishing_early_scores_the_latest_answers(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    for q in range(1, 11):  # ten right answers
        _answer(db, settings, sitting, q, q, _correct(db, sitting, q))
    wrong = next(n for n in sitting.numbers(11) if n != _correct(db, sitting, 11))
    _answer(db, settings, sitting, 11, 11, _correct(db, sitting, 11))
    _answer(db, settings, sitting, 12, 11, wrong)  # changed their mind: the later one counts
    finish(
        db,
        settings,
        attempt=sitting.attempt,
        user=sitting.world.student.user,  # type: ignore[arg-type]
        start=sitting.start,
        now=sitting.start + timedelta(minutes=20),
    )
    assert sitting.attempt.state == AttemptState.SUBMITTED
    result = _result(db, sitting)
    assert result.exam_percent == Decimal("40.00")  # 10 of 25
    # R1 = R2 = 70: B = 70 × 0.6 + 40 × 0.4 = 58 → D+
    assert result.final_percent == Decimal("58.00")
    assert result.letter == "D+"
    assert result.points == Decimal("1.33")
    assert result.basis == ResultBasis.SCORED


def test_the_server_closes_at_the_deadline_after_the_grace(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    deadline = sitting.attempt.deadline
    grace = timedelta(seconds=settings.transport_grace_seconds)
    assert close_expired(db, settings, now=deadline + grace) == 0
    assert close_expired(db, settings, now=deadline + grace + timedelta(milliseconds=1)) == 1
    assert sitting.attempt.state == AttemptState.TIMED_OUT
    assert _result(db, sitting).exam_percent == 0
    assert close_expired(db, settings, now=deadline + grace * 2) == 0


def test_an_attempt_is_closed_once(db: Session, settings: Settings, sitting: Sitting) -> None:
    now = sitting.attempt.deadline + timedelta(minutes=1)
    assert close(db, settings, sitting.attempt, state=AttemptState.TIMED_OUT, now=now, actor=None)
    assert not close(
        db, settings, sitting.attempt, state=AttemptState.SUBMITTED, now=now, actor=None
    )
    with pytest.raises(AttemptClosed):
        finish(
            db,
            settings,
            attempt=sitting.attempt,
            user=sitting.world.student.user,  # type: ignore[arg-type]
            start=sitting.start,
            now=now,
        )
    assert len(db.execute(select(Result)).scalars().all()) == 1


def test_a_standing_violation_gives_zero_and_f(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _answer(db, settings, sitting, 1, 1, _correct(db, sitting, 1))
    proctor = factories.create_user(db, role=Role.PROCTOR)
    db.add(Violation(attempt_id=sitting.attempt.id, kind="gadget", recorded_by_id=proctor.id))
    db.flush()
    close_expired(db, settings, now=sitting.attempt.deadline + timedelta(minutes=1))
    result = _result(db, sitting)
    assert result.basis == ResultBasis.VIOLATION
    assert result.exam_percent == 0
    assert result.letter == "F"
    assert result.final_percent is None


def test_a_revoked_violation_does_not_count(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _answer(db, settings, sitting, 1, 1, _correct(db, sitting, 1))
    proctor = factories.create_user(db, role=Role.PROCTOR)
    db.add(
        Violation(
            attempt_id=sitting.attempt.id,
            kind="gadget",
            recorded_by_id=proctor.id,
            revoked_at=sitting.start + timedelta(minutes=3),
            revoked_by_id=proctor.id,
        )
    )
    db.flush()
    result = _finish(db, settings, sitting)
    assert result.basis == ResultBasis.SCORED
    assert result.exam_percent == Decimal("4.00")  # 1 of 25


def test_without_midterm_marks_the_result_has_no_final_grade(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    """Scored all the same, the final grade left to whoever enters the marks (R 4.12)."""
    db.execute(delete(Enrolment).where(Enrolment.student_id == sitting.world.student.id))
    _answer(db, settings, sitting, 1, 1, _correct(db, sitting, 1))
    result = _finish(db, settings, sitting)
    assert result.basis == ResultBasis.SCORED
    assert result.exam_percent == Decimal("4.00")
    assert (result.final_percent, result.letter, result.points) == (None, None, None)


def test_the_finish_job_reads_the_attempt_once_and_never_back(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    """Every finish of the finish minute is a job of the one writer, between the saves; on
    PostgreSQL each statement is a round trip it waits through (docs/BENCHMARKS.md)."""
    for q in range(1, 4):
        _answer(db, settings, sitting, q, q, _correct(db, sitting, q))
    db.flush()
    user = sitting.world.student.user
    with statements(db) as seen:
        finish_attempt(
            db,
            settings,
            claim=SessionClaim(user.id, password_fingerprint(user.password_hash)),
            attempt_id=sitting.attempt.id,
            seb=SebHeaders(url=""),
            now=sitting.start + timedelta(minutes=20),
        )
    reads = [s for s in seen if s.startswith("SELECT")]
    assert sum(" attempts" in s.split(" WHERE ")[0] for s in reads) == 1, seen
    # The attempt with its checks; its update; the paper with its fractions, the answers, the
    # disciplines with the marks and the violation; the result; the audit log's entry (and its
    # tail, unless the transaction appended already, as here); the room's event (on SQLite its
    # number first, then the event).
    postgresql = db.get_bind().dialect.name == "postgresql"
    assert len(seen) == (8 if postgresql else 9), seen
    assert _result(db, sitting).exam_percent == Decimal("12.00")
    assert sitting.attempt.state == AttemptState.SUBMITTED


# -- the kinds beyond choice -----------------------------------------------------------------------


def _choice_ids(db: Session, sitting: Sitting, kind: ItemType) -> dict[str, int]:
    """The paper's ids of a matching item's choices or an ordering item's entries, by text."""
    position = sitting.position_of(db, kind)
    views = {q.position: q for q in paper_view(db, sitting.attempt)}
    return {str(option.text): option.id for option in views[position].options}


def _answer_each(
    db: Session, settings: Settings, sitting: Sitting, answers: dict[ItemType, RawAnswer]
) -> None:
    for seq, (kind, answer) in enumerate(answers.items(), start=1):
        save_answer(
            db,
            settings,
            attempt=sitting.attempt,
            start=sitting.start,
            save=sitting.save(seq, sitting.position_of(db, kind), answer),
            now=sitting.start + timedelta(minutes=2),
        )


def _finish(db: Session, settings: Settings, sitting: Sitting) -> Result:
    finish(
        db,
        settings,
        attempt=sitting.attempt,
        user=sitting.world.student.user,  # type: ignore[arg-type]
        start=sitting.start,
        now=sitting.start + timedelta(minutes=20),
    )
    return _result(db, sitting)


def test_every_new_kind_scores_full_marks_when_right(
    db: Session, settings: Settings, mixed: Sitting
) -> None:
    units = _choice_ids(db, mixed, ItemType.MATCHING)
    colours = _choice_ids(db, mixed, ItemType.ORDERING)
    _answer_each(
        db,
        settings,
        mixed,
        {
            ItemType.SHORT_ANSWER: {"text": "  astana "},
            ItemType.NUMERICAL: {"text": "9,86"},  # exactly at +tolerance, decimal comma
            # Stems in the item's order: force, energy, power.
            ItemType.MATCHING: {
                "pairs": [[1, units["newton"]], [2, units["joule"]], [3, units["watt"]]]
            },
            ItemType.ORDERING: {"order": [colours[c] for c in ("violet", "blue", "green", "red")]},
        },
    )
    assert _finish(db, settings, mixed).exam_percent == Decimal("16.00")  # 4 of 25


def test_partial_credit_of_the_new_kinds(db: Session, settings: Settings, mixed: Sitting) -> None:
    units = _choice_ids(db, mixed, ItemType.MATCHING)
    colours = _choice_ids(db, mixed, ItemType.ORDERING)
    _answer_each(
        db,
        settings,
        mixed,
        {
            ItemType.SHORT_ANSWER: {"text": "Nur-Sultan"},  # 0.5
            ItemType.NUMERICAL: {"text": "9.8601"},  # outside ± 0.05 of 9.81: 0
            # Two of three stems right; the distractor given to the third: 2/3.
            ItemType.MATCHING: {
                "pairs": [[1, units["newton"]], [2, units["joule"]], [3, units["pascal"]]]
            },
            # Two entries swapped: two of four in place, 0.5.
            ItemType.ORDERING: {"order": [colours[c] for c in ("blue", "violet", "green", "red")]},
        },
    )
    # (0.5 + 0 + 2/3 + 0.5) / 25 = 6.666…%, stored with two decimals.
    assert _finish(db, settings, mixed).exam_percent == Decimal("6.67")


def test_blank_and_cleared_answers_score_nothing(
    db: Session, settings: Settings, mixed: Sitting
) -> None:
    _answer_each(
        db,
        settings,
        mixed,
        {
            ItemType.SHORT_ANSWER: {"text": "   "},
            ItemType.NUMERICAL: {"text": ""},
            ItemType.MATCHING: {"pairs": []},
            ItemType.ORDERING: {"order": []},
        },
    )
    assert _finish(db, settings, mixed).exam_percent == 0


def test_a_kazakh_paper_is_scored_with_the_kazakh_key(db: Session, settings: Settings) -> None:
    sitting = sit(
        db,
        settings,
        create_world(db, bank_size=25 - len(NEW_KINDS), kinds=NEW_KINDS),
        language=Language.KK,
    )
    units = _choice_ids(db, sitting, ItemType.MATCHING)
    colours = _choice_ids(db, sitting, ItemType.ORDERING)
    assert set(units) == {"ньютон", "джоуль", "ватт", "паскаль"}
    _answer_each(
        db,
        settings,
        sitting,
        {
            ItemType.SHORT_ANSWER: {"text": "АСТАНА"},  # Kazakh answer, other case
            ItemType.NUMERICAL: {"text": "9,81"},
            ItemType.MATCHING: {
                "pairs": [[1, units["ньютон"]], [2, units["джоуль"]], [3, units["ватт"]]]
            },
            ItemType.ORDERING: {"order": [colours[c] for c in ("күлгін", "көк", "жасыл", "қызыл")]},
        },
    )
    assert _finish(db, settings, sitting).exam_percent == Decimal("16.00")


def test_the_server_close_scores_the_new_kinds_too(
    db: Session, settings: Settings, mixed: Sitting
) -> None:
    _answer_each(db, settings, mixed, {ItemType.SHORT_ANSWER: {"text": "Astana"}})
    close_expired(db, settings, now=mixed.attempt.deadline + timedelta(minutes=1))
    assert _result(db, mixed).exam_percent == Decimal("4.00")
