"""The student's attempt seen from the seat: its phase, the window that holds it, finishing.

The phase is read from the stored state and the server's clock, never from the browser.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.events.store import emit
from server.models import (
    Attempt,
    AttemptSignal,
    AttemptState,
    Exam,
    ExamRoom,
    Room,
    Seat,
    Student,
    User,
)
from server.seat.closing import CLOSED_STATES, close
from server.seat.errors import AttemptClosed, NotStarted
from server.seat.sittings import Sitting

SIGNAL_KINDS = frozenset(
    {
        "focus_lost",
        "fullscreen_left",
        "copy",
        "paste",
        "second_tab",
        "window_replaced",
        "seat_changed",
        "offline",
    }
)


class Phase(StrEnum):
    WAITING = "waiting"  # on the proctor's list, ID not yet checked
    ADMITTED = "admitted"  # ID checked, the exam has not started
    SITTING = "sitting"  # answering
    CLOSED = "closed"


def phase(attempt: Attempt, *, start: datetime, now: datetime) -> Phase:
    if attempt.state in CLOSED_STATES:
        return Phase.CLOSED
    if attempt.state == AttemptState.WAITING:
        return Phase.WAITING
    if now < start:
        return Phase.ADMITTED
    return Phase.SITTING


@dataclass(frozen=True)
class SeatAttempt:
    """The attempt the seat shows, with its sitting, seat and room."""

    attempt: Attempt
    sitting: Sitting
    seat: Seat | None
    room: Room | None


# Built once: every waiting page and paper asks for it at an exam's start, and constructing
# the join was a quarter of the read. The account comes in the same statement: its own read
# (an ORM ``Session.get``) was another quarter of the page's reads.
_ACCOUNT_AND_ATTEMPTS = (
    select(User, Attempt, Exam, ExamRoom, Seat, Room)
    .outerjoin(Student, Student.user_id == User.id)
    .outerjoin(Attempt, Attempt.student_id == Student.id)
    .outerjoin(Exam, Exam.id == Attempt.exam_id)
    .outerjoin(
        ExamRoom,
        and_(ExamRoom.exam_id == Attempt.exam_id, ExamRoom.room_id == Attempt.room_id),
    )
    .outerjoin(Seat, Seat.id == Attempt.seat_id)
    .outerjoin(Room, Room.id == Attempt.room_id)
    .where(User.id == bindparam("user_id"))
    .order_by(Attempt.signed_in_at.desc())
)


@dataclass(frozen=True)
class SeatView:
    """An account and the attempt the seat would show it, read together; the caller checks
    the account before it looks at the attempt (``attempt``)."""

    user: User | None
    _chosen: tuple[Attempt, Exam, ExamRoom | None, Seat | None, Room | None] | None

    def attempt(self) -> SeatAttempt | None:
        """An open attempt first, else the most recently closed.

        Raises ``AttemptClosed`` when the attempt's room was taken off the exam after sign-in.
        """
        if self._chosen is None:
            return None
        attempt, exam, exam_room, seat, room = self._chosen
        if exam_room is None:
            raise AttemptClosed()
        return SeatAttempt(attempt, Sitting(exam=exam, exam_room=exam_room), seat, room)


def seat_view(db: Session, user_id: int) -> SeatView:
    """The account ``user_id`` and its attempts, in one statement."""
    rows = db.execute(_ACCOUNT_AND_ATTEMPTS, {"user_id": user_id}).all()
    if not rows:
        return SeatView(None, None)
    user = rows[0][0]
    with_attempt = [row for row in rows if row[1] is not None]
    if not with_attempt:
        return SeatView(user, None)
    chosen = next((row for row in with_attempt if row[1].state not in CLOSED_STATES), None)
    _, attempt, exam, exam_room, seat, room = chosen or with_attempt[0]
    return SeatView(user, (attempt, exam, exam_room, seat, room))


def student_of(db: Session, user: User) -> Student | None:
    return db.execute(select(Student).where(Student.user_id == user.id)).scalar_one_or_none()


@dataclass(frozen=True)
class Window:
    client: str
    last_seq: int


def open_window(db: Session, *, attempt: Attempt, start: datetime, now: datetime) -> Window:
    """Give this browser window the attempt; a window that held it before stops saving.

    The newest window wins so a student whose workstation died can carry on at another one
    without waiting for anybody; the proctor sees the replacement as a signal.
    """
    if phase(attempt, start=start, now=now) != Phase.SITTING:
        raise NotStarted() if attempt.state not in CLOSED_STATES else AttemptClosed()
    kind = None
    if attempt.client_token is not None:
        db.add(AttemptSignal(attempt_id=attempt.id, kind="window_replaced", received_at=now))
        kind = "window_replaced"
    attempt.client_token = secrets.token_urlsafe(24)
    attempt.client_claimed_at = now
    if attempt.state == AttemptState.ADMITTED:
        attempt.state = AttemptState.IN_PROGRESS
        attempt.started_at = now
        kind = "started"
    if kind is not None:
        _emit(db, attempt, kind=kind, now=now)
    return Window(client=attempt.client_token, last_seq=attempt.last_seq)


def report_signal(
    db: Session, *, attempt: Attempt, client: str, kind: str, detail: str, now: datetime
) -> None:
    """Store what the page noticed, for the proctor; unknown kinds are stored as "other"."""
    if attempt.state in CLOSED_STATES:
        raise AttemptClosed()
    known = kind if kind in SIGNAL_KINDS else "other"
    if client != attempt.client_token and known != "second_tab":
        detail = f"{detail} (from a replaced window)".strip()
    db.add(AttemptSignal(attempt_id=attempt.id, kind=known, detail=detail[:500], received_at=now))
    _emit(db, attempt, kind="signal", now=now, payload={"kind": known})


def _emit(
    db: Session,
    attempt: Attempt,
    *,
    kind: str,
    now: datetime,
    payload: dict[str, object] | None = None,
) -> None:
    if attempt.room_id is not None:
        emit(
            db,
            exam_id=attempt.exam_id,
            room_id=attempt.room_id,
            kind=kind,
            attempt_id=attempt.id,
            payload=dict(payload or {}),
            now=now,
        )


def finish(
    db: Session,
    settings: Settings,
    *,
    attempt: Attempt,
    user: User | int,
    start: datetime,
    now: datetime,
) -> None:
    """The student finishes before time (R 4.6): the attempt closes and is scored. ``user``:
    the student's account, or its id."""
    if phase(attempt, start=start, now=now) != Phase.SITTING:
        raise AttemptClosed() if attempt.state in CLOSED_STATES else NotStarted()
    # Past the deadline the attempt ends by time, whoever pressed the button first.
    state = AttemptState.TIMED_OUT if now > attempt.deadline else AttemptState.SUBMITTED
    if not close(db, settings, attempt, state=state, now=now, actor=user):
        raise AttemptClosed()
