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

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

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
) -> RoomEvent:
    """Store one event of the room in the caller's transaction and publish it after commit."""
    seq = db.execute(
        update(ExamRoom)
        .where(ExamRoom.exam_id == exam_id, ExamRoom.room_id == room_id)
        .values(event_seq=ExamRoom.event_seq + 1)
        .returning(ExamRoom.event_seq)
        # "fetch": a loaded ExamRoom learns the new number, so no later flush can write back a
        # stale one.
        .execution_options(synchronize_session="fetch")
    ).scalar_one()
    row = RoomEvent(
        exam_id=exam_id,
        room_id=room_id,
        seq=seq,
        kind=kind,
        attempt_id=attempt_id,
        actor_id=actor_id,
        payload=payload or {},
        created_at=now,
    )
    db.add(row)
    db.flush()
    db.info.setdefault(_PENDING, []).append(Envelope.of(row))
    return row


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
    pending: list[Envelope] = session.info.pop(_PENDING, [])
    if _publisher is None:
        return
    for envelope in pending:
        _publisher(envelope)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
