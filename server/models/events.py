"""The room's event log: every change a proctor's console shows, stored before it is published.

Events are numbered per room (``seq``) under a row lock on the room's sitting, so within one room
the numbers are given in commit order with no gaps: a console that has seen ``seq`` N and then
receives N + 2 knows it missed one and reads it from here, and a console that reconnects asks
for everything after the last number it saw. The log is also what the room protocol is made of.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class RoomEvent(Base):
    __tablename__ = "room_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("exam_id", "room_id", "seq"),)


class SeatEnrolment(Base):
    """A workstation asking to be registered as a seat of a room, with its one-time code.

    IT opens the room's enrolment page on the PC; the page shows a short code; a proctor or IT
    confirms the code on the console and picks the seat. The PC then holds a signed seat cookie.
    """

    __tablename__ = "seat_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    browser: Mapped[str] = mapped_column(String(300), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
