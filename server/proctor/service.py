"""The room as the proctor runs it: the sittings around now, opening the room, admitting by ID card.

The live console (``console.py``) and its actions (``actions.py``) build on these.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.config import Settings
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


def admit(
    db: Session,
    settings: Settings,
    *,
    sitting: Sitting,
    attempt_id: int,
    proctor: User,
    late_entry_permitted: bool,
    now: datetime,
) -> Attempt:
    """R 4.3, R 4.10: the proctor has checked the student's ID card and lets them in."""
    attempt = db.get(Attempt, attempt_id)
    if (
        attempt is None
        or attempt.exam_id != sitting.exam.id
        or attempt.room_id != sitting.exam_room.room_id
    ):
        raise NotFound()
    if attempt.state != AttemptState.WAITING:
        raise AlreadyAdmitted()
    entry = decide_entry(
        scheduled_start=sitting.start, now=now, late_entry_permitted=late_entry_permitted
    )
    if entry.reason is not None:
        raise _ENTRY_REFUSALS[entry.reason]()
    late = now > sitting.start
    attempt.state = AttemptState.ADMITTED
    attempt.admitted_at = now
    attempt.admitted_by_id = proctor.id
    if late:
        attempt.late_entry_permitted_by_id = proctor.id
    record(
        db,
        actor=proctor,
        action="attempt.admitted",
        subject=f"attempt:{attempt.id}",
        details={"late_entry": late},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "admitted",
        attempt_id=attempt.id,
        actor=proctor,
        payload={"late": late},
        now=now,
    )
    return attempt
