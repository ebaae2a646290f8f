"""Which exam a room holds now, and the clock of that sitting (R 4.2–4.4, R 4.10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Exam, ExamRoom, ExamStatus
from server.rules.timing import ROOM_PREPARATION_BEFORE, attempt_deadline

# Sittings further away than this are not looked at when a workstation asks what its room holds.
_LOOKAHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class SittingClock:
    """The times of one exam in one room: its start, its length, the room's extra time."""

    start: datetime
    duration_minutes: int
    extra_minutes: int

    def duration(self, settings: Settings) -> timedelta:
        if settings.exam_duration_override_seconds is not None:
            return timedelta(seconds=settings.exam_duration_override_seconds)
        return timedelta(minutes=self.duration_minutes)

    def deadline(self, settings: Settings) -> datetime:
        """The same for every student in the room; only room-wide extra time moves it."""
        return attempt_deadline(
            scheduled_start=self.start,
            duration=self.duration(settings),
            room_extra_time=timedelta(minutes=self.extra_minutes),
        )

    def holds(self, settings: Settings, now: datetime) -> bool:
        """From room preparation (start − 15 min) until the deadline plus the transport grace."""
        grace = timedelta(seconds=settings.transport_grace_seconds)
        return self.start - ROOM_PREPARATION_BEFORE <= now <= self.deadline(settings) + grace

    def before_preparation(self, now: datetime) -> bool:
        """The room's preparation (start − 15 min) has not begun at ``now``."""
        return self.start - ROOM_PREPARATION_BEFORE > now


@dataclass(frozen=True)
class Sitting:
    """One exam in one room."""

    exam: Exam
    exam_room: ExamRoom

    @property
    def start(self) -> datetime:
        return self.exam.scheduled_start

    @property
    def clock(self) -> SittingClock:
        return SittingClock(
            self.exam.scheduled_start, self.exam.duration_minutes, self.exam_room.extra_minutes
        )

    def duration(self, settings: Settings) -> timedelta:
        return self.clock.duration(settings)

    def deadline(self, settings: Settings) -> datetime:
        """The same for every student in the room; only room-wide extra time moves it."""
        return self.clock.deadline(settings)

    def holds(self, settings: Settings, now: datetime) -> bool:
        """From room preparation (start − 15 min) until the deadline plus the transport grace."""
        return self.clock.holds(settings, now)


# The scheduled or running exams within a day of the parameter ``now`` (``near_now(now)``).
NEAR = and_(
    Exam.status.in_([ExamStatus.SCHEDULED, ExamStatus.ACTIVE]),
    Exam.scheduled_start >= bindparam("earliest"),
    Exam.scheduled_start <= bindparam("latest"),
)


def near_now(now: datetime) -> dict[str, datetime]:
    """The parameters of ``NEAR``."""
    return {"earliest": now - _LOOKAHEAD, "latest": now + _LOOKAHEAD}


# Built once: each sign-in reads the room's sittings (the start page, the check-in).
_SITTINGS = select(Exam, ExamRoom).join(ExamRoom, ExamRoom.exam_id == Exam.id)
_IN_ROOM = _SITTINGS.where(ExamRoom.room_id == bindparam("room_id"), NEAR).order_by(
    Exam.scheduled_start
)


def sittings_in_room(
    db: Session, settings: Settings, *, room_id: int, now: datetime
) -> list[Sitting]:
    """The room's scheduled or running exams within a day of ``now``, earliest first."""
    rows = db.execute(_IN_ROOM, {"room_id": room_id, **near_now(now)}).all()
    return [Sitting(exam=exam, exam_room=exam_room) for exam, exam_room in rows]


def current_sitting(
    db: Session, settings: Settings, *, room_id: int, now: datetime
) -> Sitting | None:
    """The sitting the room holds at ``now``, if any."""
    for sitting in sittings_in_room(db, settings, room_id=room_id, now=now):
        if sitting.holds(settings, now):
            return sitting
    return None


def next_sitting(db: Session, settings: Settings, *, room_id: int, now: datetime) -> Sitting | None:
    """The next sitting that has not begun its preparation, to tell a student who is early."""
    for sitting in sittings_in_room(db, settings, room_id=room_id, now=now):
        if sitting.clock.before_preparation(now):
            return sitting
    return None


# Built once: every admission and finish reads its sitting, and building the statement was
# half of the read (py-spy, the writer in the sign-in minute of 2,000).
_OF_EXAM_IN_ROOM = _SITTINGS.where(
    Exam.id == bindparam("exam_id"), ExamRoom.room_id == bindparam("room_id")
)


def sitting_for(db: Session, *, exam_id: int, room_id: int) -> Sitting | None:
    row = db.execute(_OF_EXAM_IN_ROOM, {"exam_id": exam_id, "room_id": room_id}).first()
    return Sitting(exam=row[0], exam_room=row[1]) if row else None
