"""The seat's start page read in one statement: its seat, room and the room's sittings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import Exam, ExamStatus, Room
from server.seat.seb import SebKeys
from server.seat.sittings import current_sitting, next_sitting
from server.seat.start_page import StartPage, start_page
from tests import factories
from tests.support.statements import statements


def _room_with_exams(db: Session, starts: dict[str, datetime]) -> tuple[Room, dict[str, Exam]]:
    session = factories.create_exam_session(db)
    discipline = factories.create_discipline(db)
    group = factories.create_group(db)
    room = factories.create_room(db, seats=2)
    exams = {
        title: factories.create_exam(
            db,
            session=session,
            disciplines=[discipline],
            groups=[group],
            rooms=[room],
            start=start,
            title=title,
        )
        for title, start in starts.items()
    }
    return room, exams


def _page(db: Session, room: Room, now: datetime) -> StartPage:
    page = start_page(db, seat_id=room.seats[0].id, now=now)
    assert page is not None
    return page


def test_the_seat_room_and_sittings_in_one_statement(db: Session) -> None:
    now = utcnow()
    room, exams = _room_with_exams(
        db, {"later": now + timedelta(hours=3), "sooner": now + timedelta(minutes=5)}
    )
    exams["sooner"].seb_config_keys = ["ABC "]
    db.flush()
    with statements(db) as sent:
        page = _page(db, room, now)
    assert len(sent) == 1
    assert (page.seat_id, page.seat_label, page.room_code) == (
        room.seats[0].id,
        room.seats[0].label,
        room.code,
    )
    assert [s.title for s in page.sittings] == ["sooner", "later"]
    assert page.sittings[0].keys == SebKeys(config_keys=("abc",), browser_exam_keys=())
    assert page.sittings[1].keys == SebKeys()


def test_a_room_without_exams_still_shows_its_seat(db: Session) -> None:
    room = factories.create_room(db, seats=1)
    page = _page(db, room, utcnow())
    assert (page.seat_label, page.room_code, page.sittings) == (
        room.seats[0].label,
        room.code,
        (),
    )


def test_an_unknown_seat_has_no_page(db: Session) -> None:
    room = factories.create_room(db, seats=1)
    assert start_page(db, seat_id=room.seats[0].id + 10_000, now=utcnow()) is None


@pytest.mark.parametrize(
    ("offset", "status", "shown"),
    [
        (timedelta(hours=24), ExamStatus.SCHEDULED, True),  # a day ahead: the edge, included
        (timedelta(hours=24, seconds=1), ExamStatus.SCHEDULED, False),
        (-timedelta(hours=24), ExamStatus.ACTIVE, True),
        (-timedelta(hours=24, seconds=1), ExamStatus.ACTIVE, False),
        (timedelta(minutes=5), ExamStatus.CLOSED, False),
        (timedelta(minutes=5), ExamStatus.CANCELLED, False),
    ],
)
def test_which_sittings_are_near(
    db: Session, offset: timedelta, status: ExamStatus, shown: bool
) -> None:
    now = utcnow()
    room, exams = _room_with_exams(db, {"exam": now + offset})
    exams["exam"].status = status
    db.flush()
    assert [s.title for s in _page(db, room, now).sittings] == (["exam"] if shown else [])


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(minutes=16),  # before the room's preparation: upcoming
        timedelta(minutes=15),  # preparation begins: current
        timedelta(minutes=-60),  # the hour's deadline
        timedelta(minutes=-61),  # after the deadline and the transport grace: neither
        timedelta(hours=20),
    ],
)
def test_current_and_upcoming_as_the_room_sittings_say(
    db: Session, settings: Settings, offset: timedelta
) -> None:
    """The page's current and upcoming sittings are the ones ``current_sitting`` and
    ``next_sitting`` give, at every boundary of the room's clock."""
    now = utcnow()
    room, _ = _room_with_exams(db, {"exam": now + offset})
    page = _page(db, room, now)
    current = current_sitting(db, settings, room_id=room.id, now=now)
    upcoming = next_sitting(db, settings, room_id=room.id, now=now)
    shown_current = page.current(settings, now)
    shown_upcoming = page.upcoming(now)
    assert (shown_current.title if shown_current else None) == (
        current.exam.title if current else None
    )
    assert (shown_upcoming.title if shown_upcoming else None) == (
        upcoming.exam.title if upcoming else None
    )
    assert (shown_current or shown_upcoming or page.sittings[0]).start == now + offset
