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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from server.db import table_of
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
        # ``_value_``, not enum's ``value`` descriptor: the consoles' summary line reads this for
        # every card of the room at each sign-in, admission and start of the room.
        if self.online is False and self.state is AttemptState.IN_PROGRESS:
            return "disconnected"
        return self.state._value_


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
        return Counter([a.shown_state for a in self.attempts.values()])

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


# The cards' statements, built once and on the tables: at an exam's start every room's hub
# reloads the cards of its sign-ins, admissions and windows, a hundred times a second across the
# rooms of a university, and building the statements and the mapped objects cost more than
# running them (``load_cards``: 1.2 ms a call before).
_attempts, _students = table_of(Attempt), table_of(Student)
_paper, _signals, _events = table_of(PaperQuestion), table_of(AttemptSignal), table_of(RoomEvent)
_question_count = (
    select(func.count())
    .where(_paper.c.attempt_id == _attempts.c.id)
    .correlate(_attempts)
    .scalar_subquery()
)
_CARD_COLUMNS = select(
    _attempts.c.id,
    _attempts.c.seat_id,
    _students.c.full_name,
    _students.c.id_code,
    _attempts.c.state,
    _attempts.c.signed_in_at,
    _attempts.c.answered,
    _question_count,
    _attempts.c.deadline,
    _attempts.c.last_save_at,
    _attempts.c.refused_reason,
).join(_students, _students.c.id == _attempts.c.student_id)
_CARDS = _CARD_COLUMNS.where(_attempts.c.id.in_(bindparam("ids", expanding=True)))
_ROOM_CARDS = _CARD_COLUMNS.where(
    _attempts.c.exam_id == bindparam("exam_id"), _attempts.c.room_id == bindparam("room_id")
)
_SIGNALS = (
    select(_signals.c.attempt_id, _signals.c.kind, func.count())
    .where(_signals.c.attempt_id.in_(bindparam("ids", expanding=True)))
    .group_by(_signals.c.attempt_id, _signals.c.kind)
)
_PRESENCE = select(_events.c.attempt_id, _events.c.payload).where(
    _events.c.id.in_(
        select(func.max(_events.c.id))
        .where(
            _events.c.attempt_id.in_(bindparam("ids", expanding=True)),
            _events.c.kind == "presence",
        )
        .group_by(_events.c.attempt_id)
    )
)


def _cards(db: Session, rows: Sequence[Any], start: datetime) -> list[AttemptCard]:
    """The cards of ``_CARD_COLUMNS``'s rows, with their signals and presence."""
    ids = [row[0] for row in rows]
    if not ids:
        return []
    signals: dict[int, Counter[str]] = {attempt_id: Counter() for attempt_id in ids}
    for attempt_id, kind, count in db.execute(_SIGNALS, {"ids": ids}):
        signals[attempt_id][kind] = count
    presence = {
        attempt_id: bool(payload.get("online"))
        for attempt_id, payload in db.execute(_PRESENCE, {"ids": ids})
        if attempt_id is not None
    }
    return [
        AttemptCard(
            attempt_id=attempt_id,
            seat_id=seat_id,
            student_name=student_name,
            id_code=id_code,
            state=state,
            signed_in_ms=_ms(signed_in_at) or 0,
            answered=answered,
            question_count=question_count,
            deadline_ms=_ms(deadline) or 0,
            late=signed_in_at > start,
            last_save_ms=_ms(last_save_at),
            refused_reason=refused_reason,
            online=presence.get(attempt_id),
            signals=signals[attempt_id],
        )
        for (
            attempt_id,
            seat_id,
            student_name,
            id_code,
            state,
            signed_in_at,
            answered,
            question_count,
            deadline,
            last_save_at,
            refused_reason,
        ) in rows
    ]


def load_grid(db: Session, *, exam_id: int, room_id: int, start: datetime) -> RoomGrid:
    """The room as stored now, with the number of the last event it includes."""
    seq = db.execute(
        select(ExamRoom.event_seq).where(ExamRoom.exam_id == exam_id, ExamRoom.room_id == room_id)
    ).scalar_one()
    seats = dict(db.execute(select(Seat.id, Seat.label).where(Seat.room_id == room_id)).all())
    rows = db.execute(_ROOM_CARDS, {"exam_id": exam_id, "room_id": room_id}).all()
    cards = _cards(db, rows, start)
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
    rows = db.execute(_CARDS, {"ids": list(attempt_ids)}).all()
    cards = _cards(db, rows, start)
    return {card.attempt_id: card for card in cards}
