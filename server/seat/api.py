"""The exam page's JSON API: status and clock, taking the window, saves, signals.

These are the requests of the exam itself: every student's page sends one every few seconds,
and at the start all of them at once. So they are routes of the lane (``server.lane``), not of
FastAPI's router, and none of them is a thread job: the status is one job of the reader threads
(``server.db.reader``), the writes are jobs of the writer (``server.db.writer``), and the
session claim is read without a query. Each job's first query reads the attempt together with
the account it belongs to (the student role is checked there), the exam's start and Safe Exam
Browser keys and whether the room still holds the exam.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.auth.cookies import SessionClaim
from server.auth.dependencies import STUDENT_ROLES, account_valid
from server.config import Settings
from server.db import utcnow
from server.db.reader import in_reader
from server.db.writer import write_job
from server.errors import Forbidden, NotSignedIn
from server.lane import Lane, json_body
from server.models import Attempt, Exam, ExamRoom, Role, Student, User
from server.seat import attempts as seat_attempts
from server.seat.errors import AttemptClosed, AttemptNotFound
from server.seat.saves import Save, SaveReceipt, save_answer
from server.seat.seb import SebHeaders, SebKeys, enforce_headers, headers_of

lane = Lane()

NO_STORE = {"Cache-Control": "no-store"}


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


# Built once: building a statement costs more than running it on this path.
_OWN_ATTEMPT = (
    select(
        Attempt,
        User.id,
        User.password_hash,
        User.is_active,
        User.role,
        Exam.scheduled_start,
        Exam.seb_config_keys,
        Exam.seb_browser_exam_keys,
        ExamRoom.id,
    )
    .join(Student, Student.id == Attempt.student_id)
    .join(User, User.id == Student.user_id)
    .join(Exam, Exam.id == Attempt.exam_id)
    .outerjoin(
        ExamRoom,
        and_(ExamRoom.exam_id == Attempt.exam_id, ExamRoom.room_id == Attempt.room_id),
    )
    .where(Attempt.id == bindparam("attempt_id"))
)
# The same read for a save: it takes the attempt's row lock (PostgreSQL; on SQLite the write
# lock already serialises), so the save's later reads and writes see no other save of the
# attempt in between (``server.seat.saves.save_answer``). Locking at the first read spares the
# save a statement of its own for the lock.
_OWN_ATTEMPT_LOCKED = _OWN_ATTEMPT.with_for_update(of=Attempt)


def attempt_of_claim(
    db: Session, *, claim: SessionClaim, attempt_id: int, seb: SebHeaders, lock: bool = False
) -> tuple[Attempt, datetime]:
    """The signed-in student's attempt and its exam's start, in one query, or a refusal.

    Someone else's attempt is reported as not found, not as forbidden. The request's SEB
    headers are read beforehand (``headers_of``), as the job may run in the writer process.
    ``lock``: take the attempt's row lock with the read, until the transaction ends.
    """
    statement = _OWN_ATTEMPT_LOCKED if lock else _OWN_ATTEMPT
    row = db.execute(statement, {"attempt_id": attempt_id}).first()
    if row is None or row[1] != claim.user_id:
        raise AttemptNotFound()
    attempt, user_id, password_hash, active, role, start, config_keys, browser_keys, held = row
    if not account_valid(claim, user_id=user_id, password_hash=password_hash, active=active):
        raise NotSignedIn()
    if role != Role.STUDENT:
        raise Forbidden()
    enforce_headers(SebKeys.of(config_keys, browser_keys), seb)
    if held is None:  # the room was taken off the exam after sign-in
        raise AttemptClosed()
    return attempt, start


@lane.route("GET", "/exam/attempts/{attempt_id}/status", roles=STUDENT_ROLES)
async def attempt_status(request: Request, claim: SessionClaim, attempt_id: int) -> Response:
    """Phase and clock: the page polls it while waiting and measures its clock offset with it.

    2,000 waiting pages poll 400 times a second: read in the reader threads
    (``server.db.reader``), not as a thread job each.
    """
    seb = headers_of(request, request.app.state.settings)
    body = await in_reader(request, partial(_status, claim=claim, attempt_id=attempt_id, seb=seb))
    return JSONResponse(body, headers=NO_STORE)


def _status(
    db: Session, *, claim: SessionClaim, attempt_id: int, seb: SebHeaders
) -> dict[str, Any]:
    attempt, start = attempt_of_claim(db, claim=claim, attempt_id=attempt_id, seb=seb)
    now = utcnow()
    return {
        "phase": seat_attempts.phase(attempt, start=start, now=now).value,
        "server_ms": _ms(now),
        "start_ms": _ms(start),
        "deadline_ms": _ms(attempt.deadline),
    }


@lane.route("POST", "/exam/attempts/{attempt_id}/window", roles=STUDENT_ROLES)
async def take_window(request: Request, claim: SessionClaim, attempt_id: int) -> Response:
    """Give this browser window the attempt: every page of the room asks at the exam's start."""
    body = await request.app.state.writer.run(
        claim_window,
        claim=claim,
        attempt_id=attempt_id,
        seb=headers_of(request, request.app.state.settings),
        now=utcnow(),
    )
    return JSONResponse(body, headers=NO_STORE)


@write_job
def claim_window(
    db: Session,
    settings: Settings,
    *,
    claim: SessionClaim,
    attempt_id: int,
    seb: SebHeaders,
    now: datetime,
) -> dict[str, Any]:
    attempt, start = attempt_of_claim(db, claim=claim, attempt_id=attempt_id, seb=seb)
    window = seat_attempts.open_window(db, attempt=attempt, start=start, now=now)
    return {
        "client": window.client,
        "last_seq": window.last_seq,
        "server_ms": _ms(now),
        "deadline_ms": _ms(attempt.deadline),
    }


class SaveRequest(BaseModel):
    client: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, le=1_000_000_000)
    question: int = Field(ge=1, le=10_000)
    # Option numbers, or an object for the other types ({"text"}, {"pairs"}, {"order"}): the
    # service checks it against the question's type (server.seat.answers).
    answer: Annotated[list[int], Field(max_length=64)] | dict[str, Any]
    flagged: bool = False
    answered_at_ms: int = Field(ge=0, le=10**14)


@lane.route("POST", "/exam/attempts/{attempt_id}/saves", roles=STUDENT_ROLES)
async def save(request: Request, claim: SessionClaim, attempt_id: int) -> Response:
    """Store one save in the process's next group (``server.db.group_commit``).

    The answer is sent only after the group has committed. The save counts as received when it
    arrived, not when its group was written.
    """
    received_at = utcnow()
    body = await json_body(request, SaveRequest)
    receipt = await request.app.state.writer.run(
        store_save,
        claim=claim,
        attempt_id=attempt_id,
        seb=headers_of(request, request.app.state.settings),
        save=Save(
            client=body.client,
            seq=body.seq,
            question=body.question,
            answer=body.answer,
            flagged=body.flagged,
            answered_at=datetime.fromtimestamp(body.answered_at_ms / 1000, tz=UTC),
        ),
        received_at=received_at,
    )
    return JSONResponse(
        {
            "status": receipt.status.value,
            "seq": receipt.seq,
            "question": receipt.question,
            "server_ms": _ms(receipt.received_at),
            "deadline_ms": _ms(receipt.deadline),
        },
        headers=NO_STORE,
    )


@write_job
def store_save(
    db: Session,
    settings: Settings,
    *,
    claim: SessionClaim,
    attempt_id: int,
    seb: SebHeaders,
    save: Save,
    received_at: datetime,
) -> SaveReceipt:
    attempt, start = attempt_of_claim(db, claim=claim, attempt_id=attempt_id, seb=seb, lock=True)
    return save_answer(db, settings, attempt=attempt, start=start, save=save, now=received_at)


class SignalRequest(BaseModel):
    client: str = Field(default="", max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    detail: str = Field(default="", max_length=500)


@lane.route("POST", "/exam/attempts/{attempt_id}/signals", roles=STUDENT_ROLES)
async def signal(request: Request, claim: SessionClaim, attempt_id: int) -> Response:
    """An integrity signal (the page lost focus, left full screen...): a write like the saves,
    so the writer's job. Written from this process instead, it waited for SQLite's write turn,
    which the busy writer process hardly ever leaves free, holding a thread of the shared
    limiter for up to 30 s; four such waits stopped every sign-in (docs/BENCHMARKS.md)."""
    body = await json_body(request, SignalRequest)
    await request.app.state.writer.run(
        store_signal,
        claim=claim,
        attempt_id=attempt_id,
        seb=headers_of(request, request.app.state.settings),
        client=body.client,
        kind=body.kind,
        detail=body.detail,
        now=utcnow(),
    )
    return Response(status_code=204)


@write_job
def store_signal(
    db: Session,
    settings: Settings,
    *,
    claim: SessionClaim,
    attempt_id: int,
    seb: SebHeaders,
    client: str,
    kind: str,
    detail: str,
    now: datetime,
) -> None:
    attempt, _start = attempt_of_claim(db, claim=claim, attempt_id=attempt_id, seb=seb)
    seat_attempts.report_signal(
        db, attempt=attempt, client=client, kind=kind, detail=detail, now=now
    )
