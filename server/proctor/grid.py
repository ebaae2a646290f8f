"""The room as the live console shows it: one card per seat, kept current by the room's events.

``load_grid`` reads the whole room from the database; ``RoomGrid.apply`` moves it forward by one
event. The frequent events (a save, the student's page coming and going) carry what the card
needs in their payload as absolute values, so applying them costs no query and applying one twice
changes nothing; the rarer ones (admission, a signal, a violation, a move) reload that attempt.

The grid is read with its sequence number first and the rows after, so it is never older than
the number says; events it already includes may be applied again, which is harmless.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.events.store import Envelope
from server.models import (
    Attempt,
    AttemptSignal,
    AttemptState,
    ExamRoom,
    PaperQuestion,
    RoomEvent,
    Seat,
    Student,
)
from server.seat.closing import CLOSED_STATES

# Events whose payload is enough to update the card; every other attempt event reloads it.
PAYLOAD_EVENTS = frozenset({"saved", "presence"})


def _ms(instant: datetime | None) -> int | None:
    return int(instant.timestamp() * 1000) if instant is not None else None


@dataclass
class AttemptCard:
    attempt_id: int
    seat_id: int | None
    student_name: str
    id_code: str
    state: AttemptState
    signed_in_ms: int
    answered: int
    question_count: int
    deadline_ms: int
    late: bool
    last_save_ms: int | None = None
    refused_reason: str | None = None
    online: bool | None = None
    signals: Counter[str] = field(default_factory=Counter)

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES or self.state == AttemptState.REFUSED

    @property
    def disconnected(self) -> bool:
        """Answering, but the student's page is not connected to the server."""
        return self.state == AttemptState.IN_PROGRESS and self.online is False

    @property
    def shown_state(self) -> str:
        """The state the card shows: the stored one, or "disconnected" while answering."""
        return "disconnected" if self.disconnected else self.state.value


@dataclass(frozen=True)
class SeatCard:
    seat_id: int
    label: str
    room_id: int
    attempt: AttemptCard | None

    @property
    def shown_state(self) -> str:
        return self.attempt.shown_state if self.attempt else "empty"


@dataclass
class RoomGrid:
    exam_id: int
    room_id: int
    start_ms: int
    seq: int
    seats: dict[int, str]
    attempts: dict[int, AttemptCard]

    def card(self, seat_id: int) -> SeatCard:
        here = [a for a in self.attempts.values() if a.seat_id == seat_id]
        # An open attempt before a closed one, then the latest sign-in: who sits there now.
        here.sort(key=lambda a: (not a.closed, a.signed_in_ms))
        return SeatCard(
            seat_id=seat_id,
            label=self.seats[seat_id],
            room_id=self.room_id,
            attempt=here[-1] if here else None,
        )

    def cards(self) -> list[SeatCard]:
        return [self.card(seat_id) for seat_id in sorted(self.seats, key=self.seats.__getitem__)]

    def counts(self) -> Counter[str]:
        """How many students are in each state, for the console's summary line."""
        return Counter(a.shown_state for a in self.attempts.values())

    def apply(self, envelope: Envelope, reload: AttemptCard | None) -> list[int]:
        """Move the grid forward by one event; the seats whose card changed.

        ``reload`` is the attempt as stored now, for the events that need it.
        """
        self.seq = envelope.seq
        attempt_id = envelope.attempt_id
        if attempt_id is None:
            return []
        before = self.attempts.get(attempt_id)
        if envelope.kind in PAYLOAD_EVENTS and before is not None:
            payload = envelope.payload
            if envelope.kind == "saved":
                before.answered = int(payload.get("answered", before.answered))
                before.last_save_ms = envelope.at_ms
            else:
                before.online = bool(payload.get("online"))
            return [before.seat_id] if before.seat_id is not None else []
        if reload is None:
            return []
        if before is not None:
            reload.online = before.online if reload.online is None else reload.online
        self.attempts[attempt_id] = reload
        touched = {reload.seat_id}
        if before is not None:
            touched.add(before.seat_id)
        return sorted(seat for seat in touched if seat is not None and seat in self.seats)


def _cards(
    db: Session, attempts: list[tuple[Attempt, Student]], start: datetime
) -> list[AttemptCard]:
    ids = [attempt.id for attempt, _ in attempts]
    if not ids:
        return []
    sizes = dict(
        db.execute(
            select(PaperQuestion.attempt_id, func.count())
            .where(PaperQuestion.attempt_id.in_(ids))
            .group_by(PaperQuestion.attempt_id)
        ).all()
    )
    signals: dict[int, Counter[str]] = {attempt_id: Counter() for attempt_id in ids}
    for attempt_id, kind, count in db.execute(
        select(AttemptSignal.attempt_id, AttemptSignal.kind, func.count())
        .where(AttemptSignal.attempt_id.in_(ids))
        .group_by(AttemptSignal.attempt_id, AttemptSignal.kind)
    ):
        signals[attempt_id][kind] = count
    presence = _presence(db, ids)
    return [
        AttemptCard(
            attempt_id=attempt.id,
            seat_id=attempt.seat_id,
            student_name=student.full_name,
            id_code=student.id_code,
            state=attempt.state,
            signed_in_ms=_ms(attempt.signed_in_at) or 0,
            answered=attempt.answered,
            question_count=sizes.get(attempt.id, 0),
            deadline_ms=_ms(attempt.deadline) or 0,
            late=attempt.signed_in_at > start,
            last_save_ms=_ms(attempt.last_save_at),
            refused_reason=attempt.refused_reason,
            online=presence.get(attempt.id),
            signals=signals[attempt.id],
        )
        for attempt, student in attempts
    ]


def _presence(db: Session, attempt_ids: list[int]) -> dict[int, bool]:
    latest = (
        select(func.max(RoomEvent.id))
        .where(RoomEvent.attempt_id.in_(attempt_ids), RoomEvent.kind == "presence")
        .group_by(RoomEvent.attempt_id)
    )
    return {
        attempt_id: bool(payload.get("online"))
        for attempt_id, payload in db.execute(
            select(RoomEvent.attempt_id, RoomEvent.payload).where(RoomEvent.id.in_(latest))
        )
        if attempt_id is not None
    }


def load_grid(db: Session, *, exam_id: int, room_id: int, start: datetime) -> RoomGrid:
    """The room as stored now, with the number of the last event it includes."""
    seq = db.execute(
        select(ExamRoom.event_seq).where(ExamRoom.exam_id == exam_id, ExamRoom.room_id == room_id)
    ).scalar_one()
    seats = dict(db.execute(select(Seat.id, Seat.label).where(Seat.room_id == room_id)).all())
    rows = db.execute(
        select(Attempt, Student)
        .join(Student, Student.id == Attempt.student_id)
        .where(Attempt.exam_id == exam_id, Attempt.room_id == room_id)
    ).all()
    cards = _cards(db, [(attempt, student) for attempt, student in rows], start)
    return RoomGrid(
        exam_id=exam_id,
        room_id=room_id,
        start_ms=_ms(start) or 0,
        seq=seq,
        seats=seats,
        attempts={card.attempt_id: card for card in cards},
    )


def load_cards(
    db: Session, *, attempt_ids: Collection[int], start: datetime
) -> dict[int, AttemptCard]:
    """The cards of these attempts as stored now, in four statements however many they are."""
    if not attempt_ids:
        return {}
    rows = db.execute(
        select(Attempt, Student)
        .join(Student, Student.id == Attempt.student_id)
        .where(Attempt.id.in_(attempt_ids))
    ).all()
    cards = _cards(db, [(attempt, student) for attempt, student in rows], start)
    return {card.attempt_id: card for card in cards}
