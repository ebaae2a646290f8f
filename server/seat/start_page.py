"""What the seat's start page shows: the seat, its room, and the exam the room holds, in one read.

Every workstation of the university opens its start page within the same minutes before an
exam. Read as objects (the seat, then its room, then the room's sittings as exam and room rows)
the page's reads were a third of its cost in the sign-in minute (docs/BENCHMARKS.md); here they
are the columns it shows, in one statement built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, join, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.session import columns
from server.models import Exam, ExamRoom, Room, Seat
from server.seat.seb import SebKeys
from server.seat.sittings import NEAR, SittingClock, near_now


@dataclass(frozen=True)
class ShownSitting:
    """An exam in the seat's room, as the start page shows it and checks its keys."""

    title: str
    clock: SittingClock
    keys: SebKeys

    @property
    def start(self) -> datetime:
        return self.clock.start


@dataclass(frozen=True)
class StartPage:
    """The seat, its room, and the room's scheduled or running exams within a day, earliest
    first."""

    seat_id: int
    seat_label: str
    room_code: str
    sittings: tuple[ShownSitting, ...]

    def current(self, settings: Settings, now: datetime) -> ShownSitting | None:
        """The sitting the room holds at ``now`` (``Sitting.holds``), if any."""
        return next((s for s in self.sittings if s.clock.holds(settings, now)), None)

    def upcoming(self, now: datetime) -> ShownSitting | None:
        """The next sitting that has not begun its preparation, to tell a student who is
        early."""
        return next((s for s in self.sittings if s.clock.before_preparation(now)), None)


# The room's sittings near now, joined to the seat by an outer join: a room with none still
# gives the seat's one row, its exam columns null.
_SITTINGS = join(ExamRoom, Exam, (Exam.id == ExamRoom.exam_id) & NEAR)
_START_PAGE = (
    select(
        Seat.label,
        Room.code,
        Exam.title,
        Exam.scheduled_start,
        Exam.duration_minutes,
        ExamRoom.extra_minutes,
        Exam.seb_config_keys,
        Exam.seb_browser_exam_keys,
    )
    .select_from(Seat)
    .join(Room, Room.id == Seat.room_id)
    .outerjoin(_SITTINGS, ExamRoom.room_id == Seat.room_id)
    .where(Seat.id == bindparam("seat_id"))
    .order_by(Exam.scheduled_start)
)


def start_page(db: Session, *, seat_id: int, now: datetime) -> StartPage | None:
    """The start page's seat, room and sittings; None for a seat that does not exist."""
    rows = columns(db, _START_PAGE, {"seat_id": seat_id, **near_now(now)}).all()
    if not rows:
        return None
    sittings = tuple(
        ShownSitting(
            title=row.title,
            clock=SittingClock(row.scheduled_start, row.duration_minutes, row.extra_minutes),
            keys=SebKeys.of(row.seb_config_keys, row.seb_browser_exam_keys),
        )
        for row in rows
        if row.title is not None
    )
    return StartPage(
        seat_id=seat_id, seat_label=rows[0].label, room_code=rows[0].code, sittings=sittings
    )
