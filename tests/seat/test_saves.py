"""Saves: idempotent, last write wins by sequence, refused with a reason and no change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Response
from server.seat.closing import current_answers
from server.seat.errors import (
    AttemptClosed,
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
from server.seat.saves import SaveStatus, save_answer
from tests.seat.conftest import Sitting


def _save(db: Session, settings: Settings, sitting: Sitting, save, *, now=None):  # type: ignore[no-untyped-def]
    return save_answer(
        db,
        settings,
        attempt=sitting.attempt,
        start=sitting.start,
        save=save,
        now=now or sitting.start + timedelta(minutes=1, seconds=1),
    )


def _count(db: Session, sitting: Sitting) -> int:
    return db.execute(
        select(func.count()).where(Response.attempt_id == sitting.attempt.id)
    ).scalar_one()


def test_a_save_is_stored_and_acknowledged(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    option = sitting.options(1)[2]
    receipt = _save(db, settings, sitting, sitting.save(1, 1, (option,), flagged=True))
    assert receipt.status == SaveStatus.SAVED
    answer = current_answers(db, sitting.attempt.id)[sitting.attempt.paper[0].id]
    assert answer.answer == [option]
    assert answer.flagged
    db.refresh(sitting.attempt)
    assert sitting.attempt.last_seq == 1


def test_a_retry_is_acknowledged_without_a_second_row(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    save = sitting.save(1, 1, (sitting.options(1)[0],))
    _save(db, settings, sitting, save)
    assert _save(db, settings, sitting, save).status == SaveStatus.ALREADY_SAVED
    assert _count(db, sitting) == 1


def test_the_highest_sequence_wins_whatever_the_arrival_order(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    first, second = sitting.options(2)[:2]
    _save(db, settings, sitting, sitting.save(5, 2, (second,)))
    with pytest.raises(StaleSequence):
        _save(db, settings, sitting, sitting.save(4, 2, (first,)))
    # A lower number for another question is fine: saves of different questions may cross.
    _save(db, settings, sitting, sitting.save(3, 1, (sitting.options(1)[0],)))
    answers = current_answers(db, sitting.attempt.id)
    assert answers[sitting.attempt.paper[1].id].answer == [second]
    assert _count(db, sitting) == 2


def _refused(db: Session, settings: Settings, sitting: Sitting, save, error, **kw) -> None:  # type: ignore[no-untyped-def]
    before = _count(db, sitting)
    with pytest.raises(error):
        _save(db, settings, sitting, save, **kw)
    assert _count(db, sitting) == before


def test_a_replayed_number_with_another_answer_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    a, b = sitting.options(1)[:2]
    _save(db, settings, sitting, sitting.save(1, 1, (a,)))
    _refused(db, settings, sitting, sitting.save(1, 1, (b,)), ReplayedSequence)


def test_a_question_not_on_the_paper_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(db, settings, sitting, sitting.save(1, 26, ()), UnknownQuestion)


def test_an_option_of_another_question_is_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(db, settings, sitting, sitting.save(1, 1, (sitting.options(2)[0],)), UnknownOption)
    _refused(db, settings, sitting, sitting.save(1, 1, (999_999,)), UnknownOption)
    a = sitting.options(1)[0]
    _refused(db, settings, sitting, sitting.save(1, 1, (a, a)), UnknownOption)


def test_two_options_for_a_single_choice_question_are_refused(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    _refused(
        db, settings, sitting, sitting.save(1, 1, tuple(sitting.options(1)[:2])), OneOptionOnly
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
    option = sitting.options(1)[0]
    # Made exactly at the deadline, delivered at the end of the grace: counts.
    made = sitting.save(1, 1, (option,), answered_at=deadline)
    assert _save(db, settings, sitting, made, now=deadline + grace).status == SaveStatus.SAVED
    # Made before the deadline but delivered after the grace: refused.
    late = sitting.save(2, 2, (sitting.options(2)[0],), answered_at=deadline)
    _refused(
        db, settings, sitting, late, TimeOver, now=deadline + grace + timedelta(microseconds=1)
    )
    # Made after the deadline: refused even if it arrives at once.
    after = sitting.save(
        3, 3, (sitting.options(3)[0],), answered_at=deadline + timedelta(milliseconds=1)
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
