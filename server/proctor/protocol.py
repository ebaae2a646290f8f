"""The room protocol: what happened in one sitting, as the proctor signs it at the end.

Made from the attempts (who sat where, admission, closing), the violations and incidents (their
own tables, with revocations), and the room's event log for what only the log knows: seat moves,
refusals' time and proctor, and who opened the room. The result is plain frozen data in UTC and
untranslated; ``protocol_sheet`` turns it into the text both the page and the PDF print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.errors import NotFound
from server.models import (
    Attempt,
    AttemptState,
    Exam,
    ExamRoom,
    Room,
    RoomEvent,
    RoomIncident,
    Seat,
    Student,
    User,
    Violation,
)
from server.rules.timing import attempt_deadline

# The log's kinds the protocol reads (docs/EVENTS.md); the rest (saves, signals) are not recorded.
_LOG_KINDS = ("room_opened", "refused", "seat_moved", "seat_changed")


class Outcome(StrEnum):
    """How an attempt ended, or where it stands when the protocol is printed before the end."""

    WAITING = "waiting"  # signed in, never admitted
    ADMITTED = "admitted"  # admitted, paper not opened yet
    SITTING = "sitting"  # answering
    FINISHED = "finished"  # submitted by the student (R 4.6)
    TIMED_OUT = "timed_out"  # closed by the server at the deadline
    REMOVED = "removed"  # removed for a violation (R 4.9)
    REFUSED = "refused"  # turned away at the ID check (R 4.3)


_OUTCOMES: dict[AttemptState, Outcome] = {
    AttemptState.WAITING: Outcome.WAITING,
    AttemptState.ADMITTED: Outcome.ADMITTED,
    AttemptState.IN_PROGRESS: Outcome.SITTING,
    AttemptState.SUBMITTED: Outcome.FINISHED,
    AttemptState.TIMED_OUT: Outcome.TIMED_OUT,
    AttemptState.REMOVED: Outcome.REMOVED,
    AttemptState.REFUSED: Outcome.REFUSED,
}


class EventKind(StrEnum):
    VIOLATION = "violation"
    VIOLATION_REVOKED = "violation_revoked"
    INCIDENT = "incident"
    SEAT_MOVED = "seat_moved"  # the proctor moved the student
    SEAT_CHANGED = "seat_changed"  # the student signed in again at another workstation
    REFUSED = "refused"


@dataclass(frozen=True)
class ProtocolHeader:
    exam_id: int
    exam_title: str
    disciplines: tuple[str, ...]  # "CODE Name", in the exam's order
    room_id: int
    room_code: str
    room_name: str
    scheduled_start: datetime
    extra_minutes: int
    deadline: datetime  # start + duration + the room's extra time
    opened_at: datetime | None
    opened_by: tuple[str, ...]
    printed_at: datetime


@dataclass(frozen=True)
class ProtocolRow:
    """One attempt of the room."""

    attempt_id: int
    seat_label: str | None
    student_name: str
    id_code: str
    signed_in_at: datetime
    admitted_at: datetime | None
    admitted_by: str | None
    late_entry: bool
    late_entry_permitted_by: str | None
    started_at: datetime | None
    closed_at: datetime | None  # for a refusal: when the proctor refused
    outcome: Outcome
    refused_by: str | None
    refused_reason: str | None
    answered: int
    question_count: int


@dataclass(frozen=True)
class ProtocolEvent:
    """One notable moment of the sitting; ``student_name`` is None for the whole room."""

    at: datetime
    kind: EventKind
    attempt_id: int | None
    student_name: str | None
    id_code: str | None
    actor: str | None
    note: str = ""  # the violation's note, the incident's, the refusal's or revocation's reason
    violation_kind: str | None = None
    revoked: bool = False  # a violation that was revoked later
    revoke_reason: str | None = None
    extra_minutes: int = 0
    from_seat: str | None = None
    to_seat: str | None = None


@dataclass(frozen=True)
class RoomProtocol:
    header: ProtocolHeader
    rows: tuple[ProtocolRow, ...]
    events: tuple[ProtocolEvent, ...]
    # Everyone who acted as proctor in the room (opened it, admitted, refused, recorded, moved),
    # in the order they first did: the protocol has a signature line for each.
    proctors: tuple[str, ...]


def _natural(label: str) -> tuple[tuple[int, int | str], ...]:
    """PC-2 before PC-10."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", label)
        if part
    )


def _row_order(row: ProtocolRow) -> tuple[bool, tuple[tuple[int, int | str], ...], str]:
    return (row.seat_label is None, _natural(row.seat_label or ""), row.student_name.casefold())


_EVENT_ORDER = {kind: index for index, kind in enumerate(EventKind)}


def room_protocol(db: Session, *, exam_id: int, room_id: int, now: datetime) -> RoomProtocol:
    """The protocol of one exam in one room, as it stands at ``now``."""
    found = db.execute(
        select(Exam, ExamRoom, Room)
        .join(ExamRoom, ExamRoom.exam_id == Exam.id)
        .join(Room, Room.id == ExamRoom.room_id)
        .where(Exam.id == exam_id, ExamRoom.room_id == room_id)
    ).first()
    if found is None:
        raise NotFound()
    exam, exam_room, room = found

    attempts = db.execute(
        select(Attempt, Student)
        .join(Student, Student.id == Attempt.student_id)
        .where(Attempt.exam_id == exam_id, Attempt.room_id == room_id)
    ).all()
    by_id = {attempt.id: (attempt, student) for attempt, student in attempts}
    violations = (
        db.execute(
            select(Violation)
            .where(Violation.attempt_id.in_(by_id))
            .order_by(Violation.recorded_at, Violation.id)
        )
        .scalars()
        .all()
    )
    incidents = (
        db.execute(
            select(RoomIncident)
            .where(RoomIncident.exam_id == exam_id, RoomIncident.room_id == room_id)
            .order_by(RoomIncident.recorded_at, RoomIncident.id)
        )
        .scalars()
        .all()
    )
    log = (
        db.execute(
            select(RoomEvent)
            .where(
                RoomEvent.exam_id == exam_id,
                RoomEvent.room_id == room_id,
                RoomEvent.kind.in_(_LOG_KINDS),
            )
            .order_by(RoomEvent.seq)
        )
        .scalars()
        .all()
    )

    seat_ids = {seat_id for attempt, _ in attempts if (seat_id := attempt.seat_id) is not None}
    for event in log:
        for key in ("from_seat_id", "to_seat_id", "seat_id"):
            if isinstance(value := event.payload.get(key), int):
                seat_ids.add(value)
    seats = dict(db.execute(select(Seat.id, Seat.label).where(Seat.id.in_(seat_ids))).all())

    user_ids: set[int] = {
        uid
        for uid in (
            exam_room.activated_by_id,
            *(a.admitted_by_id for a, _ in attempts),
            *(a.late_entry_permitted_by_id for a, _ in attempts),
            *(v.recorded_by_id for v in violations),
            *(v.revoked_by_id for v in violations),
            *(i.recorded_by_id for i in incidents),
            *(e.actor_id for e in log),
        )
        if uid is not None
    }
    names = dict(db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids))).all())

    def name(user_id: int | None) -> str | None:
        return names.get(user_id) if user_id is not None else None

    # Who acted as proctor and when, for the signature lines.
    acts: list[tuple[datetime, int]] = []

    openers = [e for e in log if e.kind == "room_opened"]
    opened_at = exam_room.activated_at or (openers[0].created_at if openers else None)
    # dict.fromkeys: unique, in order.
    opener_ids = [
        uid
        for uid in dict.fromkeys([exam_room.activated_by_id, *(e.actor_id for e in openers)])
        if uid is not None
    ]
    if opened_at is not None:
        acts += [(opened_at, uid) for uid in opener_ids]

    refusals: dict[int, RoomEvent] = {}
    events: list[ProtocolEvent] = []
    for event in log:
        if event.attempt_id is None or event.attempt_id not in by_id:
            continue
        _, student = by_id[event.attempt_id]
        if event.kind == "refused":
            refusals[event.attempt_id] = event
        elif event.kind in ("seat_moved", "seat_changed"):
            from_id, to_id = event.payload.get("from_seat_id"), event.payload.get("to_seat_id")
            events.append(
                ProtocolEvent(
                    at=event.created_at,
                    kind=EventKind(event.kind),
                    attempt_id=event.attempt_id,
                    student_name=student.full_name,
                    id_code=student.id_code,
                    actor=name(event.actor_id),
                    from_seat=seats.get(from_id) if isinstance(from_id, int) else None,
                    to_seat=seats.get(to_id) if isinstance(to_id, int) else None,
                )
            )
            if event.kind == "seat_moved" and event.actor_id is not None:
                acts.append((event.created_at, event.actor_id))

    question_count = sum(d.question_count for d in exam.disciplines)
    rows: list[ProtocolRow] = []
    for attempt, student in attempts:
        outcome = _OUTCOMES[attempt.state]
        refusal = refusals.get(attempt.id)
        closed_at = attempt.closed_at
        refused_reason = None
        if outcome is Outcome.REFUSED:
            payload_reason = refusal.payload.get("reason") if refusal else None
            refused_reason = attempt.refused_reason or (
                str(payload_reason) if payload_reason else None
            )
            closed_at = refusal.created_at if refusal else attempt.closed_at
            events.append(
                ProtocolEvent(
                    at=closed_at or attempt.signed_in_at,
                    kind=EventKind.REFUSED,
                    attempt_id=attempt.id,
                    student_name=student.full_name,
                    id_code=student.id_code,
                    actor=name(refusal.actor_id) if refusal else None,
                    note=refused_reason or "",
                )
            )
            if refusal is not None and refusal.actor_id is not None:
                acts.append((refusal.created_at, refusal.actor_id))
        late = attempt.late_entry_permitted_by_id is not None or (
            attempt.admitted_at is not None and attempt.admitted_at > exam.scheduled_start
        )
        if attempt.admitted_at is not None:
            for uid in (attempt.admitted_by_id, attempt.late_entry_permitted_by_id):
                if uid is not None:
                    acts.append((attempt.admitted_at, uid))
        rows.append(
            ProtocolRow(
                attempt_id=attempt.id,
                seat_label=seats.get(attempt.seat_id) if attempt.seat_id is not None else None,
                student_name=student.full_name,
                id_code=student.id_code,
                signed_in_at=attempt.signed_in_at,
                admitted_at=attempt.admitted_at,
                admitted_by=name(attempt.admitted_by_id),
                late_entry=late,
                late_entry_permitted_by=name(attempt.late_entry_permitted_by_id),
                started_at=attempt.started_at,
                closed_at=closed_at,
                outcome=outcome,
                refused_by=name(refusal.actor_id) if refusal else None,
                refused_reason=refused_reason,
                answered=attempt.answered,
                question_count=question_count,
            )
        )

    for violation in violations:
        _, student = by_id[violation.attempt_id]
        revoked = violation.revoked_at is not None
        events.append(
            ProtocolEvent(
                at=violation.recorded_at,
                kind=EventKind.VIOLATION,
                attempt_id=violation.attempt_id,
                student_name=student.full_name,
                id_code=student.id_code,
                actor=name(violation.recorded_by_id),
                note=violation.note,
                violation_kind=violation.kind,
                revoked=revoked,
                revoke_reason=violation.revoke_reason if revoked else None,
            )
        )
        acts.append((violation.recorded_at, violation.recorded_by_id))
        if violation.revoked_at is not None:
            events.append(
                ProtocolEvent(
                    at=violation.revoked_at,
                    kind=EventKind.VIOLATION_REVOKED,
                    attempt_id=violation.attempt_id,
                    student_name=student.full_name,
                    id_code=student.id_code,
                    actor=name(violation.revoked_by_id),
                    note=violation.revoke_reason or "",
                    violation_kind=violation.kind,
                )
            )

    for incident in incidents:
        events.append(
            ProtocolEvent(
                at=incident.recorded_at,
                kind=EventKind.INCIDENT,
                attempt_id=None,
                student_name=None,
                id_code=None,
                actor=name(incident.recorded_by_id),
                note=incident.note,
                extra_minutes=incident.extra_minutes,
            )
        )
        acts.append((incident.recorded_at, incident.recorded_by_id))

    rows.sort(key=_row_order)
    events.sort(key=lambda e: (e.at, _EVENT_ORDER[e.kind], e.student_name or ""))
    proctor_ids = dict.fromkeys(uid for _, uid in sorted(acts, key=lambda act: act[0]))
    header = ProtocolHeader(
        exam_id=exam.id,
        exam_title=exam.title,
        disciplines=tuple(f"{d.discipline.code} {d.discipline.name}" for d in exam.disciplines),
        room_id=room.id,
        room_code=room.code,
        room_name=room.name,
        scheduled_start=exam.scheduled_start,
        extra_minutes=exam_room.extra_minutes,
        deadline=attempt_deadline(
            scheduled_start=exam.scheduled_start,
            duration=timedelta(minutes=exam.duration_minutes),
            room_extra_time=timedelta(minutes=exam_room.extra_minutes),
        ),
        opened_at=opened_at,
        opened_by=tuple(names[uid] for uid in opener_ids if uid in names),
        printed_at=now,
    )
    return RoomProtocol(
        header=header,
        rows=tuple(rows),
        events=tuple(events),
        proctors=tuple(names[uid] for uid in proctor_ids if uid in names),
    )


def record_download(db: Session, protocol: RoomProtocol, *, reader: User, now: datetime) -> None:
    """Audit one download of the protocol's PDF: it carries names, ID codes and violations."""
    header = protocol.header
    record(
        db,
        actor=reader,
        action="protocol.downloaded",
        subject=f"exam:{header.exam_id}:room:{header.room_id}",
        details={"attempts": len(protocol.rows), "events": len(protocol.events)},
        at=now,
    )
