"""The seat's pages and the small JSON API the exam page talks to.

Pages: ``/seat/{token}`` (the workstation's start page and sign-in), ``/exam`` (whatever the
student's attempt is at: waiting, admitted, the paper, the result) and finishing. The JSON the
exam page talks to is ``server.seat.api``. Every refusal is an ``ExamError`` with a translated
message and, for the page's script, a ``code``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.admission.service import reason_texts
from server.auth.cookies import SessionClaim, write_session
from server.auth.dependencies import (
    STUDENT_ROLES,
    MaybeUser,
    Public,
    StudentClaim,
    checked_account,
    claimed_student,
    claimed_user,
)
from server.auth.passwords import in_argon2_thread
from server.auth.router import remember_language
from server.auth.service import (
    CheckedPassword,
    StoredCredentials,
    key_derivation,
    read_credentials,
    verify_credentials,
    verify_key_credentials,
)
from server.config import Settings
from server.db import DbSession, utcnow
from server.db.reader import in_reader
from server.db.writer import write_job
from server.errors import ExamError
from server.i18n import set_locale
from server.lane import form_body, query_body
from server.middleware import content_security_policy
from server.models import Attempt, Discipline, Exam, Language, Result, User
from server.seat import attempts as seat_attempts
from server.seat.api import attempt_of_claim, lane
from server.seat.checkin import SeatCheckIn, check_in_at_seat
from server.seat.enrolment import SEAT_COOKIE, SeatClaim, enrolled_seat, write_seat_cookie
from server.seat.errors import AttemptNotFound, UnknownSeat
from server.seat.links import seat_from_token, seat_token
from server.seat.questions import questions_html
from server.seat.saves import attempt_for
from server.seat.seb import (
    SebHeaders,
    SebKeys,
    enforce,
    enforce_for_sitting,
    headers_of,
    keys_for_seat,
)
from server.seat.start_page import StartPage, start_page
from server.seat.views import unanswered_positions
from server.web import render

router = APIRouter()


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _start_page(request: Request, db: Session, token: str, now: datetime) -> StartPage:
    seat_id = seat_from_token(request.app.state.settings, token)
    page = start_page(db, seat_id=seat_id, now=now) if seat_id is not None else None
    if page is None:
        raise UnknownSeat()
    return page


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_form(request: Request, *, status_code: int = 200, **context: Any) -> Response:
    """The start page's form. Its script derives the password's key with WebAssembly."""
    response = render(request, "seat/sign_in.html", status_code=status_code, **context)
    response.headers["content-security-policy"] = content_security_policy(webassembly=True)
    return response


def _sign_in_page(
    request: Request,
    *,
    page: StartPage,
    token: str,
    user: User | None,
    seat_via_cookie: bool = False,
) -> Response:
    """The start page, behind the Safe Exam Browser check of the exam the room holds now."""
    settings = request.app.state.settings
    now = utcnow()
    sitting = page.current(settings, now)
    enforce(request, sitting.keys if sitting else SebKeys())
    return _sign_in_form(
        request,
        page=page,
        sitting=sitting,
        upcoming=None if sitting else page.upcoming(now),
        token=token,
        error=None,
        id_code="",
        signed_in_student=user is not None and user.role.value == "student",
        timezone=settings.timezone,
        seat_via_cookie=seat_via_cookie,
    )


# The pages every seat of the university opens within the same minutes (the start page, the
# waiting page, the paper, finishing) are read and rendered in one reader job each
# (``server.db.reader``), not in dependencies and a handler that each take a thread job.


# The seat's sign-in (its start page, the password's key, the sign-in itself) is answered by the
# lane (``server.lane``), before FastAPI's router: every examinee of the university sends all
# three within the same minute, and the router's matching and dependency solving cost a form
# POST 460 µs and a page 160 µs before its own work (docs/BENCHMARKS.md).


@lane.route("GET", "/seat/{token}", public=True)
async def seat_page(request: Request, claim: SessionClaim | None, token: str) -> Response:
    return await in_reader(request, partial(_seat_page, request, token))


def _seat_page(request: Request, token: str, db: Session) -> Response:
    page = _start_page(request, db, token, utcnow())
    return _sign_in_page(request, page=page, token=token, user=claimed_user(request, db))


@router.get("/seat", dependencies=[Public])
def enrolled_seat_page(request: Request, db: DbSession, user: MaybeUser) -> Response:
    """An enrolled workstation's start page: the seat cookie names the seat (room preparation)."""
    settings = request.app.state.settings
    seat = enrolled_seat(db, settings, request.cookies.get(SEAT_COOKIE))
    # The sign-in form posts to the seat link, which the seat cookie stands in for.
    page = start_page(db, seat_id=seat.id, now=utcnow())
    assert page is not None  # the seat was read in the same session
    response = _sign_in_page(
        request,
        page=page,
        token=seat_token(settings, seat.id),
        user=user,
        seat_via_cookie=True,
    )
    # Renewed on every visit: browsers cap a cookie's lifetime (Chromium: 400 days).
    write_seat_cookie(response, settings, SeatClaim(seat.id, seat.enrolment_generation))
    return response


def _read_credentials(
    request: Request, db: Session, *, seat_id: int, id_code: str, address: str, now: datetime
) -> StoredCredentials | ExamError:
    """The seat's SEB check, then the sign-in's reads: a reader job, before argon2 runs.

    An unknown seat has no keys here; the check-in refuses it.
    """
    settings = request.app.state.settings
    enforce(request, keys_for_seat(db, settings, seat_id, now))
    try:
        return read_credentials(db, settings, login=id_code, address=address, now=now)
    except ExamError as refusal:  # too many failed attempts
        return refusal


def _key(text: str) -> bytes | None:
    """The password's key as the page sends it (standard base64), or None without one. A key
    that is not 32 bytes of base64 is no key of any password: it is checked, and fails."""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return b""


class PasswordKeyQuery(BaseModel):
    id_code: str = Field(min_length=1, max_length=64)


@lane.route("GET", "/seat/{token}/password-key", public=True)
async def seat_password_key(request: Request, claim: SessionClaim | None, token: str) -> Response:
    """How the sign-in page derives the key of ``id_code``'s password: argon2id's salt and costs.

    A login that does not exist gets an answer of the same shape, made up and the same at every
    ask (``passwords.derivation_for``). Nothing here is secret: a guess still costs a full
    argon2id, on the guesser's own machine, and the sign-in's rate limit counts it.
    """
    id_code = query_body(request, PasswordKeyQuery).id_code
    if seat_from_token(request.app.state.settings, token) is None:
        raise UnknownSeat()
    derivation = await in_reader(
        request,
        lambda db: key_derivation(db, request.app.state.settings, login=id_code),
    )
    return JSONResponse(derivation.as_json(), headers={"cache-control": "no-store"})


class SignInForm(BaseModel):
    id_code: str = Field(min_length=1, max_length=64)
    language: Language
    password: str = Field("", max_length=256)
    password_key: str = Field("", max_length=64)


# The router's POST /seat/heartbeat (``server.seat.enrol_router``) is not a seat's link.
@lane.route("POST", "/seat/{token}", public=True, not_tokens=frozenset({"heartbeat"}))
async def seat_sign_in(request: Request, claim: SessionClaim | None, token: str) -> Response:
    """Sign in at the seat: the password's key or the password first, then the check-in in one
    write.

    At an exam's start a whole university signs in within a minute. The page's script derives
    the password's key on the workstation (``seat_password_key``), so the server checks one
    SHA-256. Without it (no script, no WebAssembly) the page sends the password and argon2 runs
    here, on its own threads, one per core, which do nothing else: there the sign-ins queue,
    not in the threads the other pages share, and never while holding the write lock. The SEB
    check and the stored hash are read in a reader job first.
    """
    form = await form_body(request, SignInForm)
    id_code, language, password_key = form.id_code, form.language, form.password_key
    seat_id = seat_from_token(request.app.state.settings, token)
    if seat_id is None:
        raise UnknownSeat()
    now = utcnow()
    address = _address(request)
    stored = await in_reader(
        request,
        partial(
            _read_credentials, request, seat_id=seat_id, id_code=id_code, address=address, now=now
        ),
    )
    key = _key(password_key)
    checked: CheckedPassword | ExamError
    if isinstance(stored, ExamError):
        checked = stored
    elif key is not None:
        checked = verify_key_credentials(stored, key)
    else:
        checked = await in_argon2_thread(partial(verify_credentials, stored, form.password))
    outcome: SeatCheckIn | None = None
    # Too many failed attempts: refused before anything is written.
    refusal = checked if isinstance(checked, ExamError) else None
    if not isinstance(checked, ExamError):
        try:
            outcome = await request.app.state.writer.run(
                check_in_at_seat,
                seat_id=seat_id,
                checked=checked,
                language=language,
                address=address,
                now=now,
            )
        except ExamError as raised:  # nothing of this sign-in was kept
            refusal = raised
        else:  # a wrong password: its failure was kept, for the rate limit
            refusal = outcome.wrong_credentials
    if refusal is not None:
        return await in_reader(
            request,
            partial(
                _sign_in_again,
                request,
                token=token,
                id_code=id_code,
                language=language,
                error=refusal,
            ),
        )
    assert outcome is not None
    if outcome.refused_reasons is not None:
        return await in_reader(
            request,
            partial(_refused_by_gates, request, token=token, language=language, outcome=outcome),
        )
    assert outcome.user_id is not None
    assert outcome.password_hash is not None
    response = RedirectResponse("/exam", status_code=303)
    write_session(
        response,
        request.app.state.settings,
        user_id=outcome.user_id,
        pwd_hash=outcome.password_hash,
    )
    remember_language(response, request, language.value)
    return response


def _sign_in_again(
    request: Request,
    db: Session,
    *,
    token: str,
    id_code: str,
    language: Language,
    error: ExamError,
) -> Response:
    """The sign-in form again, with why the sign-in was refused."""
    settings = request.app.state.settings
    set_locale(language.value)
    now = utcnow()
    page = _start_page(request, db, token, now)
    return _sign_in_form(
        request,
        status_code=error.status_code,
        page=page,
        sitting=page.current(settings, now),
        upcoming=None,
        token=token,
        error=error.translated(),
        id_code=id_code,
        signed_in_student=False,
        timezone=settings.timezone,
    )


def _refused_by_gates(
    request: Request, db: Session, *, token: str, language: Language, outcome: SeatCheckIn
) -> Response:
    set_locale(language.value)
    return render(
        request,
        "seat/refused.html",
        status_code=403,
        page=_start_page(request, db, token, utcnow()),
        reasons=reason_texts(outcome.refused_reasons or ()),
        token=token,
    )


@lane.route("GET", "/exam", roles=STUDENT_ROLES)
async def exam_page(request: Request, claim: SessionClaim) -> Response:
    """Whatever the student's attempt is at: waiting, admitted, the paper, the result.

    Every student opens it twice in the exam's first minutes (waiting, then the paper): it is
    answered by the lane (``server.lane``), not FastAPI's router, which cost it 160 µs of
    dependency solving and route matching a request (docs/BENCHMARKS.md).
    """
    return await in_reader(request, partial(_exam_page, request, claim))


def _exam_page(request: Request, claim: SessionClaim, db: Session) -> Response:
    settings = request.app.state.settings
    seen = seat_attempts.seat_view(db, claim.user_id)
    request.state.user = checked_account(seen.user, claim, STUDENT_ROLES)
    shown = seen.attempt()
    if shown is None:
        return render(request, "seat/no_attempt.html")
    attempt, sitting = shown.attempt, shown.sitting
    enforce_for_sitting(request, sitting)
    now = utcnow()
    phase = seat_attempts.phase(attempt, start=sitting.start, now=now)
    context: dict[str, Any] = {
        "attempt": attempt,
        "exam": sitting.exam,
        "seat": shown.seat,
        "room": shown.room,
        "start": sitting.start,
        "phase": phase.value,
        "timezone": settings.timezone,
        "start_ms": _ms(sitting.start),
        "deadline_ms": _ms(attempt.deadline),
        "server_ms": _ms(now),
    }
    if phase == seat_attempts.Phase.CLOSED:
        results = list(db.execute(select(Result).where(Result.attempt_id == attempt.id)).scalars())
        disciplines = dict(
            db.execute(
                select(Discipline.id, Discipline.name).where(
                    Discipline.id.in_([r.discipline_id for r in results])
                )
            ).all()
        )
        return render(
            request, "seat/result.html", results=results, disciplines=disciplines, **context
        )
    if phase == seat_attempts.Phase.SITTING:
        return render(
            request, "seat/paper.html", questions_html=questions_html(db, attempt), **context
        )
    return render(request, "seat/waiting.html", **context)


def _own_attempt(db: Session, claim: SessionClaim, attempt_id: int) -> tuple[User, Attempt]:
    """The student's own attempt (someone else's is not found) and the student's account."""
    user = claimed_student(db, claim)
    student = seat_attempts.student_of(db, user)
    if student is None:
        raise AttemptNotFound()
    return user, attempt_for(db, attempt_id=attempt_id, student=student)


@router.get("/exam/attempts/{attempt_id}/finish")
async def finish_page(request: Request, claim: StudentClaim, attempt_id: int) -> Response:
    return await in_reader(request, partial(_finish_page, request, claim, attempt_id))


def _finish_page(request: Request, claim: SessionClaim, attempt_id: int, db: Session) -> Response:
    user, attempt = _own_attempt(db, claim, attempt_id)
    request.state.user = user
    enforce(request, SebKeys.of_exam(db.get(Exam, attempt.exam_id)))
    unanswered, total = unanswered_positions(db, attempt.id)
    return render(request, "seat/finish.html", attempt=attempt, unanswered=unanswered, total=total)


@router.post("/exam/attempts/{attempt_id}/finish")
async def finish(request: Request, claim: StudentClaim, attempt_id: int) -> Response:
    """Finish before time. At the end of an exam every room finishes within a minute, so the
    closing and scoring are the writer's job (``server.db.writer``)."""
    await request.app.state.writer.run(
        finish_attempt,
        claim=claim,
        attempt_id=attempt_id,
        seb=headers_of(request, request.app.state.settings),
        now=utcnow(),
    )
    return RedirectResponse("/exam", status_code=303)


@write_job(heavy=True)
def finish_attempt(
    db: Session,
    settings: Settings,
    *,
    claim: SessionClaim,
    attempt_id: int,
    seb: SebHeaders,
    now: datetime,
) -> None:
    # The attempt with the claim's and the room's checks in one statement, as a save reads it:
    # every finish of the finish minute runs in the writer, between the saves.
    attempt, start = attempt_of_claim(db, claim=claim, attempt_id=attempt_id, seb=seb)
    seat_attempts.finish(db, settings, attempt=attempt, user=claim.user_id, start=start, now=now)
