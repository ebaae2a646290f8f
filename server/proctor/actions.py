"""What the proctor does from the live console, and the registrar's undoing of a violation.

Every action is checked against the stored state, refused with a translated reason when it does
not apply (nothing changes then), audited, and emitted as a room event in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.config import Settings
from server.db import table_of
from server.db.session import columns
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.events.store import emit
from server.i18n import N_
from server.models import (
    Attempt,
    AttemptState,
    Result,
    RoomIncident,
    RoomProctor,
    Seat,
    User,
    Violation,
)
from server.models.enums import Role
from server.proctor.service import sitting_event
from server.rules.conduct import ViolationKind
from server.seat.closing import CLOSED_STATES, SITTING_STATES, close, score
from server.seat.sittings import Sitting

# Extra time is for a room-wide incident, not a second exam: an hour at most per grant.
MAX_EXTRA_MINUTES = 60
NOTE_LIMIT = 1000


class NotYourRoom(Forbidden):
    message = N_("You are not assigned to this room for this exam.")


class NotWaiting(Conflict):
    message = N_("Only a student waiting for the ID check can be refused.")


class NotSitting(Conflict):
    message = N_("This student is not sitting the exam now.")


class ViolationAlreadyRecorded(Conflict):
    message = N_("A violation is already recorded for this student; the attempt is closed.")


class SeatTaken(Conflict):
    message = N_("Workstation %(seat)s is taken by another student.")


class SameSeat(Conflict):
    message = N_("The student is already at this workstation.")


class ViolationAlreadyRevoked(Conflict):
    message = N_("This violation has already been revoked.")


# Built once and run past the ORM (``server.db.session.columns``): every admission of the
# sign-in minute asks it in the writer, and building the statement cost more than running it.
_room_proctors = table_of(RoomProctor)
_ASSIGNED = select(_room_proctors.c.id).where(
    _room_proctors.c.exam_id == bindparam("exam_id"),
    _room_proctors.c.room_id == bindparam("room_id"),
    _room_proctors.c.user_id == bindparam("user_id"),
)


def may_watch(db: Session, user: User, *, exam_id: int, room_id: int) -> bool:
    """Proctors assigned to the room, and administrators, run its console (R 4.13)."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.PROCTOR:
        return False
    assigned = {"exam_id": exam_id, "room_id": room_id, "user_id": user.id}
    return columns(db, _ASSIGNED, assigned).first() is not None


def require_room(db: Session, user: User, sitting: Sitting) -> None:
    if not may_watch(db, user, exam_id=sitting.exam.id, room_id=sitting.exam_room.room_id):
        raise NotYourRoom()


def _attempt_in(db: Session, sitting: Sitting, attempt_id: int) -> Attempt:
    attempt = db.get(Attempt, attempt_id)
    if (
        attempt is None
        or attempt.exam_id != sitting.exam.id
        or attempt.room_id != sitting.exam_room.room_id
    ):
        raise NotFound()
    return attempt


def _note(text: str, field: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(field_errors={field: N_("Write what happened.")})
    if len(cleaned) > NOTE_LIMIT:
        raise InvalidInput(field_errors={field: N_("At most 1000 characters.")})
    return cleaned


def refuse(
    db: Session, *, sitting: Sitting, attempt_id: int, reason: str, proctor: User, now: datetime
) -> Attempt:
    """R 4.3: the ID card does not match, or the student is not who signed in; they leave."""
    attempt = _attempt_in(db, sitting, attempt_id)
    if attempt.state != AttemptState.WAITING:
        raise NotWaiting()
    attempt.state = AttemptState.REFUSED
    attempt.refused_reason = _note(reason, "reason")
    attempt.closed_at = now
    record(
        db,
        actor=proctor,
        action="attempt.refused",
        subject=f"attempt:{attempt.id}",
        details={"reason": attempt.refused_reason},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "refused",
        attempt_id=attempt.id,
        actor=proctor,
        payload={"reason": attempt.refused_reason},
        now=now,
    )
    return attempt


def record_violation(
    db: Session,
    settings: Settings,
    *,
    sitting: Sitting,
    attempt_id: int,
    kind: ViolationKind,
    note: str,
    proctor: User,
    now: datetime,
) -> Violation:
    """R 4.9: the student is removed; the attempt closes at once with E = 0 and final F."""
    attempt = _attempt_in(db, sitting, attempt_id)
    if attempt.state == AttemptState.REMOVED:
        raise ViolationAlreadyRecorded()
    if attempt.state not in SITTING_STATES:
        raise NotSitting()
    cleaned = " ".join(note.split())[:NOTE_LIMIT]
    if kind == ViolationKind.OTHER and not cleaned:
        raise InvalidInput(field_errors={"note": N_("Write what happened.")})
    violation = Violation(
        attempt_id=attempt.id,
        kind=kind.value,
        note=cleaned,
        recorded_by_id=proctor.id,
        recorded_at=now,
    )
    db.add(violation)
    db.flush()
    # The violation is stored first, so scoring at close sees it and imposes 0 and F.
    if not close(db, settings, attempt, state=AttemptState.REMOVED, now=now, actor=proctor):
        raise NotSitting()
    record(
        db,
        actor=proctor,
        action="violation.recorded",
        subject=f"attempt:{attempt.id}",
        details={"violation": violation.id, "kind": kind.value, "note": cleaned},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "violation",
        attempt_id=attempt.id,
        actor=proctor,
        payload={"violation_id": violation.id, "kind": kind.value, "note": cleaned},
        now=now,
    )
    return violation


def move_seat(
    db: Session, *, sitting: Sitting, attempt_id: int, seat_id: int, proctor: User, now: datetime
) -> Attempt:
    """A workstation failed: the student carries on at another one, answers and deadline kept."""
    attempt = _attempt_in(db, sitting, attempt_id)
    if attempt.state in CLOSED_STATES or attempt.state == AttemptState.REFUSED:
        raise NotSitting()
    seat = db.get(Seat, seat_id)
    if seat is None or seat.room_id != sitting.exam_room.room_id:
        raise NotFound()
    if attempt.seat_id == seat.id:
        raise SameSeat()
    occupant = db.execute(
        select(Attempt.id).where(
            Attempt.exam_id == sitting.exam.id,
            Attempt.seat_id == seat.id,
            Attempt.state.not_in([*CLOSED_STATES, AttemptState.REFUSED]),
        )
    ).first()
    if occupant is not None:
        raise SeatTaken(seat=seat.label)
    previous = attempt.seat_id
    attempt.seat_id = seat.id
    record(
        db,
        actor=proctor,
        action="attempt.seat_moved",
        subject=f"attempt:{attempt.id}",
        details={"from": previous, "to": seat.id},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "seat_moved",
        attempt_id=attempt.id,
        actor=proctor,
        payload={"from_seat_id": previous, "to_seat_id": seat.id},
        now=now,
    )
    return attempt


def add_incident(
    db: Session,
    settings: Settings,
    *,
    sitting: Sitting,
    note: str,
    extra_minutes: int,
    proctor: User,
    now: datetime,
) -> RoomIncident:
    """A note for the room; with extra minutes, every open deadline of the room moves by them.

    Extra time is the only way a deadline moves (R 4.4 reading in ``rules.timing``) and it moves
    for the whole room at once, so nobody in the room gains on anybody else.
    """
    cleaned = _note(note, "note")
    if not 0 <= extra_minutes <= MAX_EXTRA_MINUTES:
        raise InvalidInput(
            field_errors={"extra_minutes": N_("Extra time is from 0 to 60 minutes.")}
        )
    if extra_minutes and now > sitting.deadline(settings):
        raise Conflict(N_("The room's time is over: extra time can no longer be given."))
    incident = RoomIncident(
        exam_id=sitting.exam.id,
        room_id=sitting.exam_room.room_id,
        note=cleaned,
        extra_minutes=extra_minutes,
        recorded_by_id=proctor.id,
        recorded_at=now,
    )
    db.add(incident)
    if extra_minutes:
        sitting.exam_room.extra_minutes += extra_minutes
        open_attempts = db.execute(
            select(Attempt).where(
                Attempt.exam_id == sitting.exam.id,
                Attempt.room_id == sitting.exam_room.room_id,
                Attempt.state.not_in([*CLOSED_STATES, AttemptState.REFUSED]),
            )
        ).scalars()
        for attempt in open_attempts:
            attempt.deadline += timedelta(minutes=extra_minutes)
    db.flush()
    record(
        db,
        actor=proctor,
        action="room.incident",
        subject=f"exam:{sitting.exam.id}:room:{sitting.exam_room.room_id}",
        details={"incident": incident.id, "note": cleaned, "extra_minutes": extra_minutes},
        at=now,
    )
    sitting_event(
        db,
        sitting,
        "incident",
        actor=proctor,
        payload={"incident_id": incident.id, "note": cleaned, "extra_minutes": extra_minutes},
        now=now,
    )
    return incident


def revoke_violation(
    db: Session,
    settings: Settings,
    *,
    violation_id: int,
    reason: str,
    registrar: User,
    now: datetime,
) -> Violation:
    """The registrar undoes a violation, with a reason: the attempt is scored on its answers."""
    violation = db.get(Violation, violation_id)
    if violation is None:
        raise NotFound()
    if violation.revoked_at is not None:
        raise ViolationAlreadyRevoked()
    violation.revoked_at = now
    violation.revoked_by_id = registrar.id
    violation.revoke_reason = _note(reason, "reason")
    attempt = db.get_one(Attempt, violation.attempt_id)
    db.flush()
    # The stored result was the violation's 0 and F: replace it with the answers' score.
    for result in db.execute(select(Result).where(Result.attempt_id == attempt.id)).scalars():
        db.delete(result)
    db.flush()
    score(db, settings, attempt, now=now)
    record(
        db,
        actor=registrar,
        action="violation.revoked",
        subject=f"attempt:{attempt.id}",
        details={"violation": violation.id, "reason": violation.revoke_reason},
        at=now,
    )
    if attempt.room_id is not None:
        emit(
            db,
            exam_id=attempt.exam_id,
            room_id=attempt.room_id,
            kind="violation_revoked",
            attempt_id=attempt.id,
            actor_id=registrar.id,
            payload={"violation_id": violation.id, "reason": violation.revoke_reason},
            now=now,
        )
    return violation
