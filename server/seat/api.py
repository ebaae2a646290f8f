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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, FromClause, Select, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.auth.cookies import SessionClaim
from server.auth.dependencies import STUDENT_ROLES, account_valid
from server.config import Settings
from server.db import table_of, utcnow
from server.db.group_commit import ReadAhead, taken_ahead
from server.db.reader import in_reader
from server.db.session import columns
from server.db.writer import write_job
from server.errors import Forbidden, NotSignedIn
from server.lane import Lane, json_body
from server.models import (
    Attempt,
    AttemptState,
    Exam,
    ExamRoom,
    Language,
    Role,
    Student,
    User,
)
from server.seat import attempts as seat_attempts
from server.seat.errors import AttemptClosed, AttemptNotFound
from server.seat.saves import (
    FACT_COLUMNS,
    Save,
    SaveFacts,
    SaveReceipt,
    facts_of,
    save_answer,
    with_facts,
)
from server.seat.seb import SebHeaders, SebKeys, enforce_headers, headers_of

lane = Lane()

NO_STORE = {"Cache-Control": "no-store"}


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


_attempts, _students, _users = table_of(Attempt), table_of(Student), table_of(User)
_exams, _exam_rooms = table_of(Exam), table_of(ExamRoom)


def _own_attempt(*attempt: Any, wanted: FromClause | None = None) -> Select[Any]:
    """``attempt`` (the mapped class, or columns of its table) with what ``_claim_holds``
    checks: the account it belongs to, the exam's start and SEB keys, whether the room holds the
    exam. Of the attempt whose id is the ``attempt_id`` parameter, or of each row of ``wanted``
    (its ``attempt_id`` column). Core tables in the joins: on this path the ORM's part in a
    statement cost more than the statement."""
    statement = select(
        *attempt,
        _users.c.id,
        _users.c.password_hash,
        _users.c.is_active,
        _users.c.role,
        _exams.c.scheduled_start,
        _exams.c.seb_config_keys,
        _exams.c.seb_browser_exam_keys,
        _exam_rooms.c.id,
    )
    if wanted is None:
        statement = statement.select_from(_attempts).where(
            _attempts.c.id == bindparam("attempt_id")
        )
    else:
        statement = statement.select_from(wanted).join(
            _attempts, _attempts.c.id == wanted.c.attempt_id
        )
    return (
        statement.join(_students, _students.c.id == _attempts.c.student_id)
        .join(_users, _users.c.id == _students.c.user_id)
        .join(_exams, _exams.c.id == _attempts.c.exam_id)
        .outerjoin(
            _exam_rooms,
            and_(
                _exam_rooms.c.exam_id == _attempts.c.exam_id,
                _exam_rooms.c.room_id == _attempts.c.room_id,
            ),
        )
    )


# Built once: building a statement costs more than running it on this path.
_OWN_ATTEMPT = _own_attempt(Attempt)


def attempt_of_claim(
    db: Session, *, claim: SessionClaim, attempt_id: int, seb: SebHeaders
) -> tuple[Attempt, datetime]:
    """The signed-in student's attempt and its exam's start, in one query, or a refusal.

    Someone else's attempt is reported as not found, not as forbidden. The request's SEB
    headers are read beforehand (``headers_of``), as the job may run in the writer process.
    """
    row = db.execute(_OWN_ATTEMPT, {"attempt_id": attempt_id}).first()
    if row is None:
        raise AttemptNotFound()
    attempt, *checked = row
    return attempt, _claim_holds(claim, seb, *checked)


def _claim_holds(
    claim: SessionClaim,
    seb: SebHeaders,
    user_id: int,
    password_hash: str,
    active: bool,
    role: Role,
    start: datetime,
    config_keys: Any,
    browser_keys: Any,
    held: int | None,
) -> datetime:
    """Refuse unless the claim speaks for the attempt's student and the room still holds the
    exam; the exam's start."""
    if user_id != claim.user_id:
        raise AttemptNotFound()
    if not account_valid(claim, user_id=user_id, password_hash=password_hash, active=active):
        raise NotSignedIn()
    if role != Role.STUDENT:
        raise Forbidden()
    enforce_headers(SebKeys.of(config_keys, browser_keys), seb)
    if held is None:  # the room was taken off the exam after sign-in
        raise AttemptClosed()
    return start


@dataclass(frozen=True, slots=True)
class _SavingAttempt:
    """The columns of an attempt a save reads (``server.seat.saves.SavingAttempt``)."""

    id: int
    exam_id: int
    room_id: int | None
    state: AttemptState
    language: Language
    client_token: str | None
    signed_in_at: datetime
    admitted_at: datetime | None
    started_at: datetime | None
    deadline: datetime


# A save reads the attempt's columns, not the mapped object, and with them everything it
# checks (``SaveFacts``): the question at its place, the save already stored under its number,
# the question's newest save. One statement instead of three: 400 saves a second at an exam of
# 2,000, each statement a round trip on PostgreSQL, and building an ``Attempt`` for each was a
# sixth of a save's time in the writer (``emtihan bench-check-in --saves-each``). It takes the
# attempt's row lock (PostgreSQL; on SQLite the write lock already serialises), so the save's
# writes see no other save of the attempt in between (``server.seat.saves.save_answer``);
# locking at the first read spares the save a statement of its own for the lock.
_SAVING_COLUMNS = len(_SavingAttempt.__dataclass_fields__)
_SAVE_FACTS = with_facts(
    _own_attempt(*(_attempts.c[name] for name in _SavingAttempt.__dataclass_fields__))
).with_for_update(of=_attempts)


# On PostgreSQL the saves of a group read all that at once, ahead (``read_saves_ahead``): one
# round trip for them all instead of one each. The attempts' ids, places and numbers arrive as
# three arrays, so the statement is the same whatever their number (and prepared once); bigint,
# as a path's id may be larger than the column's integer (such an attempt is simply not found).
_WANTED = (
    func.unnest(
        *(bindparam(name, type_=ARRAY(BigInteger)) for name in ("attempt_ids", "positions", "seqs"))
    )
    .table_valued("attempt_id", "position", "seq")
    .render_derived(name="wanted")
)
_SAVES_FACTS = (
    with_facts(
        _own_attempt(
            _WANTED.c.position,
            _WANTED.c.seq,
            *(_attempts.c[name] for name in _SavingAttempt.__dataclass_fields__),
            wanted=_WANTED,
        ),
        position=_WANTED.c.position,
        seq=_WANTED.c.seq,
    )
    # The rows locked in the order of their ids, as another writer's group locks them too.
    .order_by(_attempts.c.id)
    .with_for_update(of=_attempts)
)


def read_saves_ahead(db: Session, saves: list[Mapping[str, Any]]) -> dict[int, dict[Any, Any]]:
    """What ``saving_attempt_of_claim`` reads, for a run of saves in one group: by attempt, a
    ``_SAVE_FACTS`` row for each (place, number). PostgreSQL only: on SQLite a statement is a
    call within the process, not a round trip, and reading ahead would gain nothing."""
    if len(saves) < 2 or db.get_bind().dialect.name != "postgresql":
        return {}
    wanted = [(save["attempt_id"], save["save"].question, save["save"].seq) for save in saves]
    attempt_ids, positions, seqs = (list(values) for values in zip(*wanted, strict=True))
    ahead: dict[int, dict[Any, Any]] = {}
    rows: Sequence[Any] = columns(
        db, _SAVES_FACTS, {"attempt_ids": attempt_ids, "positions": positions, "seqs": seqs}
    ).all()
    for position, seq, *row in rows:
        ahead.setdefault(row[0], {})[position, seq] = row
    return ahead


# A run of saves holds one save of an attempt: a second save of it reads what the first wrote.
SAVES_AHEAD = ReadAhead(read=read_saves_ahead, key=lambda arguments: arguments["attempt_id"])


def saving_attempt_of_claim(
    db: Session, *, claim: SessionClaim, attempt_id: int, seb: SebHeaders, save: Save
) -> tuple[_SavingAttempt, datetime, SaveFacts]:
    """``attempt_of_claim`` for a save, and the save's facts: the attempt's columns, its row
    locked until the end of the transaction. Read ahead with the group's other saves
    (``read_saves_ahead``), or here."""
    ahead = taken_ahead(db, attempt_id)
    row = ahead.get((save.question, save.seq)) if ahead else None
    if row is None:
        row = columns(
            db,
            _SAVE_FACTS,
            {"attempt_id": attempt_id, "position": save.question, "seq": save.seq},
        ).first()
    if row is None:
        raise AttemptNotFound()
    attempt = _SavingAttempt(*row[:_SAVING_COLUMNS])
    start = _claim_holds(claim, seb, *row[_SAVING_COLUMNS:-FACT_COLUMNS])
    return attempt, start, facts_of(row[-FACT_COLUMNS:])


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


@write_job(ahead=SAVES_AHEAD)
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
    attempt, start, facts = saving_attempt_of_claim(
        db, claim=claim, attempt_id=attempt_id, seb=seb, save=save
    )
    return save_answer(
        db, settings, attempt=attempt, start=start, save=save, now=received_at, facts=facts
    )


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
