"""Closing: finishing early, the server's own close at the deadline, scoring into results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import AttemptState, ItemOption, Result, ResultBasis, Role, Violation
from server.seat.attempts import finish
from server.seat.closing import close, close_expired
from server.seat.errors import AttemptClosed
from server.seat.saves import save_answer
from tests import factories
from tests.seat.conftest import Sitting


def _correct(db: Session, sitting: Sitting, question: int) -> int:
    ids = sitting.options(question)
    return db.execute(
        select(ItemOption.id).where(ItemOption.id.in_(ids), ItemOption.fraction == 1)
    ).scalar_one()


def _answer(
    db: Session, settings: Settings, sitting: Sitting, seq: int, q: int, option: int
) -> None:
    save_answer(
        db,
        settings,
        attempt=sitting.attempt,
        start=sitting.start,
        save=sitting.save(seq, q, (option,)),
        now=sitting.start + timedelta(minutes=2),
    )


def _result(db: Session, sitting: Sitting) -> Result:
    return db.execute(select(Result).where(Result.attempt_id == sitting.attempt.id)).scalar_one()


def test_finishing_early_scores_the_latest_answers(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    for q in range(1, 11):  # ten right answers
        _answer(db, settings, sitting, q, q, _correct(db, sitting, q))
    wrong = next(o for o in sitting.options(11) if o != _correct(db, sitting, 11))
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
