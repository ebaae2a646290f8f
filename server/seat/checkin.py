"""Signing in at the seat: the student's ID code and password, the gates, the frozen paper.

R 4.3: the proctor admits students one by one against their ID card. Signing in at the
workstation only puts the student on the proctor's list; the gates (R 4.1, H) are applied and
stored here, so the page can say at once whether, and why not, the student may sit the exam.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from server.admission.service import decide_for_exam
from server.audit.service import record
from server.auth.service import CheckedPassword, WrongCredentials, record_sign_in
from server.config import Settings
from server.db import table_of
from server.db.session import columns
from server.db.writer import write_job
from server.events.store import emit
from server.models import (
    AdmissionDecision,
    Attempt,
    AttemptSignal,
    AttemptState,
    Language,
    Role,
    Seat,
    Student,
    User,
)
from server.rules.timing import EntryState, check_in_opens_at, entry_state
from server.seat.closing import CLOSED_STATES
from server.seat.errors import (
    CheckInNotOpen,
    EntryClosed,
    NoExamInRoom,
    NotAStudent,
    RoomNotOpen,
    UnknownSeat,
)
from server.seat.paper import draw_paper
from server.seat.sittings import Sitting, current_sitting


@dataclass(frozen=True)
class CheckIn:
    """What signing in at the seat led to: an attempt, or a refusal by the gates."""

    user: User | None
    attempt: Attempt | None = None
    refused: AdmissionDecision | None = None
    wrong_credentials: WrongCredentials | None = None


@dataclass(frozen=True)
class SeatCheckIn:
    """``CheckIn`` as it comes back from the writer: identifiers and reasons, not rows."""

    user_id: int | None = None
    password_hash: str | None = None
    refused_reasons: tuple[str, ...] | None = None
    wrong_credentials: WrongCredentials | None = None


# Built once: every sign-in runs them.
_attempts = table_of(Attempt)
_NEW_ATTEMPT = insert(_attempts).returning(_attempts.c.id)
# The account, its student and the student's attempt at the exam (at an exam's start nearly
# every sign-in has none), in one read instead of three: each was a round trip of the
# writer's on PostgreSQL, and the check-in is the heaviest job of the sign-in minute.
_ACCOUNT = (
    select(User, Student, _attempts.c.id)
    .outerjoin(Student, Student.user_id == User.id)
    .outerjoin(
        _attempts,
        and_(_attempts.c.student_id == Student.id, _attempts.c.exam_id == bindparam("exam_id")),
    )
    .where(User.id == bindparam("user_id"))
)


def _new_attempt(db: Session, **values: Any) -> Attempt:
    """Insert an attempt with a Core statement and give the session its object as if loaded.

    The ORM's flush of one new attempt was a tenth of a sign-in in the writer; the row is the
    same. The columns not given (all empty until admission) are read if ever asked for.
    """
    values = {"last_seq": 0, "answered": 0, **values}
    attempt = Attempt(id=columns(db, _NEW_ATTEMPT, values).scalar_one(), **values)
    make_transient_to_detached(attempt)
    db.add(attempt)
    return attempt


def _require_open_door(settings: Settings, sitting: Sitting, now: datetime) -> None:
    if sitting.exam_room.activated_at is None:
        raise RoomNotOpen()
    match entry_state(scheduled_start=sitting.start, now=now):
        case EntryState.TOO_EARLY:
            opens = check_in_opens_at(scheduled_start=sitting.start)
            local = opens.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
            raise CheckInNotOpen(time=local)
        case EntryState.CLOSED:
            raise EntryClosed()
        case EntryState.OPEN | EntryState.NEEDS_LATE_PERMISSION:
            # A latecomer may sign in; the proctor's explicit permission is asked at admission.
            return


def _move_to_seat(db: Session, attempt: Attempt, seat: Seat, now: datetime) -> None:
    if attempt.seat_id == seat.id:
        return
    previous = attempt.seat_id
    db.add(
        AttemptSignal(
            attempt_id=attempt.id,
            kind="seat_changed",
            detail=f"{attempt.seat_id} -> {seat.id}",
            received_at=now,
        )
    )
    attempt.seat_id = seat.id
    attempt.room_id = seat.room_id
    emit(
        db,
        exam_id=attempt.exam_id,
        room_id=seat.room_id,
        kind="seat_changed",
        attempt_id=attempt.id,
        payload={"from_seat_id": previous, "to_seat_id": seat.id},
        now=now,
    )


def paper_rng() -> random.Random:
    """The generator of one paper's draw, seeded with 256 bits from the operating system.

    Not ``random.SystemRandom``, which asks the operating system for every number: a paper's
    sample and thirty shuffles cost 348 µs with it against 61 µs, a twentieth of a sign-in in
    the writer (docs/BENCHMARKS.md). The seed is as unguessable; no two papers share a
    generator, and a paper's orders show far too few of its outputs to recover its state.
    """
    return random.Random(secrets.randbits(256))  # noqa: S311 - seeded per paper, above


def check_in(
    db: Session,
    settings: Settings,
    *,
    seat: Seat,
    checked: CheckedPassword,
    language: Language,
    address: str,
    now: datetime,
    rng: random.Random | None = None,
) -> CheckIn:
    """Sign a student in at ``seat`` for the exam its room holds now, with the password
    ``check_password`` checked before this write began.

    Wrong credentials are returned, not raised, so the failure is committed for the rate limit.
    A student who already has an attempt resumes it, at this seat, with the same paper.
    """
    sitting = current_sitting(db, settings, room_id=seat.room_id, now=now)
    if sitting is None:
        raise NoExamInRoom()
    account = None
    if checked.user_id is not None:
        # Read first, so that ``record_sign_in`` finds the account in the session.
        parameters = {"user_id": checked.user_id, "exam_id": sitting.exam.id}
        account = db.execute(_ACCOUNT, parameters).first()
    signed = record_sign_in(db, checked, address=address, now=now)
    if signed.user is None:
        return CheckIn(user=None, wrong_credentials=signed.refusal)
    user = signed.user
    student, attempt_id = (None, None) if account is None else (account[1], account[2])
    if user.role != Role.STUDENT or student is None:
        raise NotAStudent()
    if user.locale != language:
        # Only when it changes: set even to the same value, the user joins the next flush's
        # work (SQLAlchemy compares the values only there).
        user.locale = language

    existing = None if attempt_id is None else db.get_one(Attempt, attempt_id)
    if existing is not None:
        if existing.state not in CLOSED_STATES:
            _move_to_seat(db, existing, seat, now)
            existing.language = language
        return CheckIn(user=user, attempt=existing)

    _require_open_door(settings, sitting, now)
    decision = decide_for_exam(db, exam=sitting.exam, student=student, now=now)
    if not decision.admitted:
        record(
            db,
            actor=user,
            action="seat.refused_by_gates",
            subject=f"exam:{sitting.exam.id}",
            details={"reasons": decision.reasons, "seat": seat.id},
            at=now,
        )
        return CheckIn(user=user, refused=decision)

    attempt = _new_attempt(
        db,
        exam_id=sitting.exam.id,
        student_id=student.id,
        room_id=seat.room_id,
        seat_id=seat.id,
        admission_id=decision.id,
        state=AttemptState.WAITING,
        language=language,
        signed_in_at=now,
        deadline=sitting.deadline(settings),
    )
    draw_paper(db, attempt=attempt, exam=sitting.exam, rng=rng or paper_rng())
    record(
        db,
        actor=user,
        action="seat.signed_in",
        subject=f"attempt:{attempt.id}",
        details={"exam": sitting.exam.id, "seat": seat.id, "language": language.value},
        at=now,
    )
    emit(
        db,
        exam_id=sitting.exam.id,
        room_id=seat.room_id,
        kind="signed_in",
        attempt_id=attempt.id,
        payload={"seat_id": seat.id},
        now=now,
    )
    return CheckIn(user=user, attempt=attempt)


@write_job(heavy=True)
def check_in_at_seat(
    db: Session,
    settings: Settings,
    *,
    seat_id: int,
    checked: CheckedPassword,
    language: Language,
    address: str,
    now: datetime,
) -> SeatCheckIn:
    """``check_in`` at the seat ``seat_id``, as the writer's job (``server.db.writer``).

    A raised refusal rolls back everything of this sign-in; a wrong password is returned, so its
    failure is committed for the rate limit.
    """
    seat = db.get(Seat, seat_id)
    if seat is None:
        raise UnknownSeat()
    outcome = check_in(
        db, settings, seat=seat, checked=checked, language=language, address=address, now=now
    )
    if outcome.wrong_credentials is not None:
        return SeatCheckIn(wrong_credentials=outcome.wrong_credentials)
    assert outcome.user is not None
    return SeatCheckIn(
        user_id=outcome.user.id,
        password_hash=outcome.user.password_hash,
        refused_reasons=None if outcome.refused is None else tuple(outcome.refused.reasons),
    )
