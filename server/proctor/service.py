"""The room as the proctor runs it: the sittings around now, opening the room, admitting by ID card.

The live console (``console.py``) and its actions (``actions.py``) build on these.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server.audit.service import record
from server.config import Settings
from server.db import table_of
from server.db.session import columns, forget_loaded
from server.errors import Conflict, NotFound
from server.events.store import emit
from server.i18n import N_
from server.models import (
    Attempt,
    AttemptState,
    Exam,
    ExamRoom,
    ExamStatus,
    User,
)
from server.rules.timing import EntryRefusal, decide_entry
from server.seat.sittings import Sitting, sitting_for


class AlreadyAdmitted(Conflict):
    message = N_("This student has already been admitted.")


class AdmitTooEarly(Conflict):
    message = N_("Check-in opens ten minutes before the start.")


class LateEntryNeedsPermission(Conflict):
    message = N_(
        "The exam has started: admitting this student needs your explicit late-entry permission."
    )


class LateEntryClosed(Conflict):
    message = N_("Entry is closed: more than 30 minutes have passed since the start.")


_ENTRY_REFUSALS: dict[EntryRefusal, type[Conflict]] = {
    EntryRefusal.TOO_EARLY: AdmitTooEarly,
    EntryRefusal.LATE_ENTRY_NEEDS_PERMISSION: LateEntryNeedsPermission,
    EntryRefusal.LATE_ENTRY_CLOSED: LateEntryClosed,
}


STATE_NAMES: dict[str, str] = {
    AttemptState.WAITING.value: N_("waiting for admission"),
    AttemptState.ADMITTED.value: N_("admitted"),
    AttemptState.IN_PROGRESS.value: N_("answering"),
    AttemptState.SUBMITTED.value: N_("finished"),
    AttemptState.TIMED_OUT.value: N_("closed at the deadline"),
    AttemptState.REMOVED.value: N_("removed"),
    AttemptState.REFUSED.value: N_("refused at the ID check"),
}


def sitting_or_404(db: Session, *, exam_id: int, room_id: int) -> Sitting:
    sitting = sitting_for(db, exam_id=exam_id, room_id=room_id)
    if sitting is None:
        raise NotFound()
    return sitting


def sittings_around(db: Session, *, now: datetime) -> list[Sitting]:
    """Scheduled or running sittings from yesterday to tomorrow, for the proctor's index."""
    rows = db.execute(
        select(Exam, ExamRoom)
        .join(ExamRoom, ExamRoom.exam_id == Exam.id)
        .where(
            Exam.status.in_([ExamStatus.SCHEDULED, ExamStatus.ACTIVE]),
            Exam.scheduled_start >= now - timedelta(days=1),
            Exam.scheduled_start <= now + timedelta(days=1),
        )
        .order_by(Exam.scheduled_start, ExamRoom.room_id)
    ).all()
    return [Sitting(exam=exam, exam_room=exam_room) for exam, exam_room in rows]


def sitting_event(
    db: Session,
    sitting: Sitting,
    kind: str,
    *,
    now: datetime,
    actor: User | None = None,
    attempt_id: int | None = None,
    payload: dict[str, object] | None = None,
) -> None:
    """One event of the sitting's room (docs/EVENTS.md), in the caller's transaction."""
    emit(
        db,
        exam_id=sitting.exam.id,
        room_id=sitting.exam_room.room_id,
        kind=kind,
        attempt_id=attempt_id,
        actor_id=actor.id if actor else None,
        payload=dict(payload or {}),
        now=now,
    )


def open_room(db: Session, *, sitting: Sitting, proctor: User, now: datetime) -> None:
    """R 4.2: the proctor has checked the workstations and opens the room for sign-in."""
    if sitting.exam_room.activated_at is not None:
        return
    sitting.exam_room.activated_at = now
    sitting.exam_room.activated_by_id = proctor.id
    record(
        db,
        actor=proctor,
        action="room.opened",
        subject=f"exam:{sitting.exam.id}:room:{sitting.exam_room.room_id}",
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "room_opened",
        actor=proctor,
        now=now,
    )


# The admission on the attempts table, past the ORM (``server.db.session.columns``): 40 proctors
# admit 2,000 students in the sign-in minute, each admission a job of the busy writer, and
# loading the attempt and flushing its change was a third of the job.
_attempts = table_of(Attempt)
_WAITING_IN_ROOM = select(_attempts.c.state).where(
    _attempts.c.id == bindparam("attempt_id"),
    _attempts.c.exam_id == bindparam("exam_id"),
    _attempts.c.room_id == bindparam("room_id"),
)
# Still waiting: of two proctors admitting the same student at once, the second is refused.
_ADMIT = (
    update(_attempts)
    .where(
        _attempts.c.id == bindparam("attempt_id"),
        _attempts.c.state == AttemptState.WAITING,
    )
    .values(
        state=AttemptState.ADMITTED,
        admitted_at=bindparam("now"),
        admitted_by_id=bindparam("proctor_id"),
        late_entry_permitted_by_id=bindparam("late_by_id"),
    )
    .returning(_attempts.c.id)
)


def admit(
    db: Session,
    settings: Settings,
    *,
    sitting: Sitting,
    attempt_id: int,
    proctor: User,
    late_entry_permitted: bool,
    now: datetime,
) -> None:
    """R 4.3, R 4.10: the proctor has checked the student's ID card and lets them in."""
    where = {
        "attempt_id": attempt_id,
        "exam_id": sitting.exam.id,
        "room_id": sitting.exam_room.room_id,
    }
    state = columns(db, _WAITING_IN_ROOM, where).scalar_one_or_none()
    if state is None:
        raise NotFound()
    if state != AttemptState.WAITING:
        raise AlreadyAdmitted()
    entry = decide_entry(
        scheduled_start=sitting.start, now=now, late_entry_permitted=late_entry_permitted
    )
    if entry.reason is not None:
        raise _ENTRY_REFUSALS[entry.reason]()
    late = now > sitting.start
    admitted = columns(
        db,
        _ADMIT,
        {
            "attempt_id": attempt_id,
            "now": now,
            "proctor_id": proctor.id,
            "late_by_id": proctor.id if late else None,
        },
    ).first()
    if admitted is None:
        raise AlreadyAdmitted()
    forget_loaded(db, Attempt, attempt_id)
    record(
        db,
        actor=proctor,
        action="attempt.admitted",
        subject=f"attempt:{attempt_id}",
        details={"late_entry": late},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "admitted",
        attempt_id=attempt_id,
        actor=proctor,
        payload={"late": late},
        now=now,
    )
