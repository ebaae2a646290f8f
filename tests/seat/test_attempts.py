"""The attempt the seat shows: an open one first, with its sitting, seat and room."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Attempt, AttemptState, User
from server.seat.attempts import SeatAttempt, seat_view
from server.seat.errors import AttemptClosed
from tests import factories
from tests.seat.conftest import waiting
from tests.seat.factories import World, create_world
from tests.support.statements import statements


def _shown(db: Session, world: World) -> SeatAttempt | None:
    """The attempt the seat shows the world's student."""
    return seat_view(db, _user(world).id).attempt()


def _user(world: World) -> User:
    user = world.student.user
    assert user is not None
    return user


def _closed_attempt_of_another_exam(db: Session, world: World, attempt: Attempt) -> Attempt:
    """The same student's submitted attempt at a later exam in the same room."""
    later = factories.create_exam(
        db,
        session=world.exam.exam_session,
        disciplines=[world.discipline],
        groups=[world.group],
        rooms=[world.room],
        start=world.start + timedelta(days=1),
    )
    closed = Attempt(
        exam_id=later.id,
        student_id=attempt.student_id,
        room_id=world.room.id,
        seat_id=world.seats[2].id,
        state=AttemptState.SUBMITTED,
        language=attempt.language,
        signed_in_at=attempt.signed_in_at + timedelta(days=1),
        deadline=attempt.deadline + timedelta(days=1),
    )
    db.add(closed)
    db.flush()
    return closed


def test_a_student_without_an_attempt_sees_none(db: Session) -> None:
    world = create_world(db)
    assert _shown(db, world) is None


def test_the_account_and_its_open_attempt_come_with_sitting_seat_and_room_in_one_statement(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    attempt = waiting(db, settings, world, seat=1)
    user = _user(world)
    with statements(db) as sent:
        seen = seat_view(db, user.id)
        shown = seen.attempt()
    assert len(sent) == 1
    assert seen.user is user
    assert shown is not None
    assert shown.attempt.id == attempt.id
    assert (shown.sitting.exam.id, shown.sitting.exam_room.room_id) == (
        world.exam.id,
        world.room.id,
    )
    assert shown.seat is not None
    assert shown.seat.id == world.seats[1].id
    assert shown.room is not None
    assert shown.room.id == world.room.id


def test_an_open_attempt_is_shown_before_a_newer_closed_one(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    attempt = waiting(db, settings, world)
    _closed_attempt_of_another_exam(db, world, attempt)
    shown = _shown(db, world)
    assert shown is not None
    assert shown.attempt.id == attempt.id


def test_without_an_open_attempt_the_newest_closed_one_is_shown(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    attempt = waiting(db, settings, world)
    attempt.state = AttemptState.TIMED_OUT
    closed = _closed_attempt_of_another_exam(db, world, attempt)
    shown = _shown(db, world)
    assert shown is not None
    assert shown.attempt.id == closed.id
    assert shown.seat is not None
    assert shown.seat.id == world.seats[2].id


def test_an_attempt_in_a_room_the_exam_no_longer_holds_is_closed(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    attempt = waiting(db, settings, world)
    attempt.room_id = factories.create_room(db).id
    db.flush()
    with pytest.raises(AttemptClosed):
        _shown(db, world)


def test_an_account_without_a_student_or_an_attempt_is_still_read(db: Session) -> None:
    proctor = factories.create_user(db)
    seen = seat_view(db, proctor.id)
    assert seen.user is proctor
    assert seen.attempt() is None


def test_an_unknown_account_is_none(db: Session) -> None:
    seen = seat_view(db, 10**9)
    assert (seen.user, seen.attempt()) == (None, None)
