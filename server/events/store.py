"""Emitting a room event: one row in the same transaction as the change, published after commit.

``emit`` numbers the event within its room by incrementing ``exam_rooms.event_seq`` in SQL, which
takes the row's write lock until commit. Two transactions of the same room therefore commit in the
order of their numbers and a room's log has no gaps, which is what lets a console detect a missed
message and a reconnecting console ask "everything after N".

Publishing is the session's business, not the caller's: the process's publisher (the
application's broker, ``install_publisher``) receives every event of a transaction after it
commits, and nothing after a rollback. Without a publisher (the CLI) events are only stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from server.db import table_of
from server.db.session import columns
from server.models import ExamRoom, RoomEvent

_PENDING = "room_events_pending"


@dataclass(frozen=True)
class Envelope:
    """An event as it travels between processes and to the consoles."""

    id: int
    exam_id: int
    room_id: int
    seq: int
    kind: str
    attempt_id: int | None
    payload: dict[str, Any]
    at_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "exam_id": self.exam_id,
            "room_id": self.room_id,
            "seq": self.seq,
            "kind": self.kind,
            "attempt_id": self.attempt_id,
            "payload": self.payload,
            "at_ms": self.at_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        return cls(
            id=int(data["id"]),
            exam_id=int(data["exam_id"]),
            room_id=int(data["room_id"]),
            seq=int(data["seq"]),
            kind=str(data["kind"]),
            attempt_id=None if data.get("attempt_id") is None else int(data["attempt_id"]),
            payload=dict(data.get("payload") or {}),
            at_ms=int(data["at_ms"]),
        )

    @classmethod
    def of(cls, row: RoomEvent) -> Envelope:
        return cls(
            id=row.id,
            exam_id=row.exam_id,
            room_id=row.room_id,
            seq=row.seq,
            kind=row.kind,
            attempt_id=row.attempt_id,
            payload=dict(row.payload),
            at_ms=int(row.created_at.timestamp() * 1000),
        )


Publish = Callable[[Envelope], None]


# Built once: every save emits an event, and building a statement costs more than running it.
# Core statements on the tables: the ORM's bulk UPDATE and INSERT cost more than the statements.
_exam_rooms = table_of(ExamRoom)
_room_events = table_of(RoomEvent)
_NEXT_SEQ = (
    update(_exam_rooms)
    .where(
        _exam_rooms.c.exam_id == bindparam("of_exam"),
        _exam_rooms.c.room_id == bindparam("of_room"),
    )
    .values(event_seq=_exam_rooms.c.event_seq + 1)
    .returning(_exam_rooms.c.event_seq)
)
# The event's values, named apart from the columns: in the one statement below, a parameter
# named after a column of exam_rooms would become a value its UPDATE sets.
_EVENT_COLUMNS = ("exam_id", "room_id", "kind", "attempt_id", "actor_id", "payload", "created_at")
_EVENT_VALUES = {
    name: bindparam(f"new_{name}", type_=_room_events.c[name].type) for name in _EVENT_COLUMNS
}
_INSERT_EVENT = (
    insert(_room_events)
    .values(**_EVENT_VALUES, seq=bindparam("new_seq"))
    .returning(_room_events.c.id)
)
# On PostgreSQL both in one statement: the writer's statements are its round trips, six for a
# save with this (docs/BENCHMARKS.md). SQLite has no UPDATE in a WITH clause; there a statement
# is a call within the process.
_NEXT_SEQ_CTE = _NEXT_SEQ.cte("next_seq")
_INSERT_NUMBERED_EVENT = (
    insert(_room_events)
    .from_select(
        [*_EVENT_COLUMNS, "seq"],
        select(*_EVENT_VALUES.values(), _NEXT_SEQ_CTE.c.event_seq),
    )
    .add_cte(_NEXT_SEQ_CTE)
    .returning(_room_events.c.id, _room_events.c.seq)
)


def emit(
    db: Session,
    *,
    exam_id: int,
    room_id: int,
    kind: str,
    now: datetime,
    attempt_id: int | None = None,
    actor_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Envelope:
    """Store one event of the room in the caller's transaction and publish it after commit.

    Core statements, no ORM unit of work: every save emits one, so this is on the exam's
    hottest path.
    """
    body = dict(payload or {})
    values = {
        "of_exam": exam_id,
        "of_room": room_id,
        "new_exam_id": exam_id,
        "new_room_id": room_id,
        "new_kind": kind,
        "new_attempt_id": attempt_id,
        "new_actor_id": actor_id,
        "new_payload": body,
        "new_created_at": now,
    }
    if db.get_bind().dialect.name == "postgresql":
        event_id, seq = columns(db, _INSERT_NUMBERED_EVENT, values).one()
    else:
        seq = columns(db, _NEXT_SEQ, values).scalar_one()
        event_id = columns(db, _INSERT_EVENT, {**values, "new_seq": seq}).scalar_one()
    return stored_event(
        db,
        event_id=event_id,
        seq=seq,
        exam_id=exam_id,
        room_id=room_id,
        kind=kind,
        attempt_id=attempt_id,
        payload=body,
        now=now,
    )


def stored_event(
    db: Session,
    *,
    event_id: int,
    seq: int,
    exam_id: int,
    room_id: int,
    kind: str,
    attempt_id: int | None,
    payload: dict[str, Any],
    now: datetime,
) -> Envelope:
    """An event stored in the caller's transaction (by ``emit``, or by a statement of the
    caller's that numbered it: ``server.seat.saves.store_saves``): published after commit."""
    _forget_loaded_seq(db, exam_id=exam_id, room_id=room_id)
    envelope = Envelope(
        id=event_id,
        exam_id=exam_id,
        room_id=room_id,
        seq=seq,
        kind=kind,
        attempt_id=attempt_id,
        payload=payload,
        at_ms=int(now.timestamp() * 1000),
    )
    db.info.setdefault(_PENDING, []).append(envelope)
    return envelope


def _forget_loaded_seq(db: Session, *, exam_id: int, room_id: int) -> None:
    # An ExamRoom already loaded in this session would still hold the old number, and a later
    # flush of it could write that back: it reloads the number instead.
    for loaded in db.identity_map.values():
        if isinstance(loaded, ExamRoom) and (loaded.exam_id, loaded.room_id) == (exam_id, room_id):
            db.expire(loaded, ["event_seq"])


def events_after(
    db: Session, *, exam_id: int, room_id: int, after: int, limit: int = 1000
) -> list[Envelope]:
    """The room's events numbered above ``after``, oldest first."""
    rows = db.execute(
        select(RoomEvent)
        .where(RoomEvent.exam_id == exam_id, RoomEvent.room_id == room_id, RoomEvent.seq > after)
        .order_by(RoomEvent.seq)
        .limit(limit)
    ).scalars()
    return [Envelope.of(row) for row in rows]


_publisher: Publish | None = None


def install_publisher(publish: Publish | None) -> None:
    """Publish every session's events after its commit (``None``: only store them).

    One per process: the application installs its broker at start-up and removes it at shutdown.
    """
    global _publisher
    _publisher = publish


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # SQLAlchemy says "after_commit" for a released savepoint too: its events wait for the
    # transaction's own commit, which may yet fail or roll back and store none of them.
    if session.in_nested_transaction():
        return
    pending: list[Envelope] = session.info.pop(_PENDING, [])
    if _publisher is None:
        return
    for envelope in pending:
        _publisher(envelope)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A savepoint's rollback too: ``savepoint`` drops its own events, and the others wait.
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING, None)
