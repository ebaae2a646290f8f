"""Room preparation over HTTP: a workstation's enrolment, its heartbeat, the room's seats page.

Workstation (public): ``/rooms/{room_code}/enrol`` asks for a code and shows it, its script polls
``…/enrol/status`` until a proctor confirms, then opens ``/seat`` with the seat cookie set.
``POST /seat/heartbeat`` comes from the seat's pages every 15 s. Proctor: the seats page
``/proctor/rooms/{room_id}/seats`` (readiness, waiting codes, confirmation).

This router is included before the seat router: ``POST /seat/heartbeat`` would otherwise be
taken by ``POST /seat/{token}``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from server.auth.dependencies import ProctorUser, Public
from server.db import DbSession, utcnow
from server.errors import ExamError, NotFound
from server.models import Room
from server.seat import enrolment as service
from server.seat.enrolment import SeatAlreadyEnrolled
from server.seat.errors import NotEnrolled, UnknownSeat
from server.seat.links import seat_from_token
from server.seat.seb import headers_of
from server.web import render

router = APIRouter()

_NO_STORE = {"Cache-Control": "no-store"}


def _enrol_url(request: Request, room: Room) -> str:
    settings = request.app.state.settings
    base = settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/rooms/{room.code}/enrol"


def _hand_over_seat(response: Response, request: Request, claim: service.SeatClaim) -> None:
    settings = request.app.state.settings
    service.write_seat_cookie(response, settings, claim)
    service.clear_enrol_cookie(response, settings)


# --- the workstation ------------------------------------------------------------------------


@router.get("/rooms/{room_code}/enrol", dependencies=[Public])
def enrol_page(request: Request, db: DbSession, room_code: str) -> Response:
    settings = request.app.state.settings
    room = service.room_by_code(db, room_code)
    now = utcnow()
    status = service.enrolment_status(
        db,
        enrolment_id=service.read_enrol_cookie(settings, request.cookies.get(service.ENROL_COOKIE)),
        room=room,
        now=now,
    )
    if status.claim is not None:
        redirect = RedirectResponse("/seat", status_code=303)
        _hand_over_seat(redirect, request, status.claim)
        return redirect
    return render(
        request,
        "seat/enrol.html",
        room=room,
        state=status.state.value,
        enrolment=status.enrolment,
        timezone=settings.timezone,
    )


@router.post("/rooms/{room_code}/enrol", dependencies=[Public])
def request_code(request: Request, db: DbSession, room_code: str) -> Response:
    settings = request.app.state.settings
    room = service.room_by_code(db, room_code)
    enrolment = service.request_enrolment(
        db, room=room, user_agent=request.headers.get("user-agent", ""), now=utcnow()
    )
    response = RedirectResponse(f"/rooms/{room.code}/enrol", status_code=303)
    service.write_enrol_cookie(response, settings, enrolment.id)
    return response


@router.get("/rooms/{room_code}/enrol/status", dependencies=[Public])
def enrol_status(request: Request, db: DbSession, room_code: str) -> JSONResponse:
    """Polled by the enrolment page; once confirmed, the answer carries the seat cookie."""
    settings = request.app.state.settings
    room = service.room_by_code(db, room_code)
    status = service.enrolment_status(
        db,
        enrolment_id=service.read_enrol_cookie(settings, request.cookies.get(service.ENROL_COOKIE)),
        room=room,
        now=utcnow(),
    )
    if status.claim is None:
        return JSONResponse({"state": status.state.value}, headers=_NO_STORE)
    answer = JSONResponse({"state": status.state.value, "redirect": "/seat"}, headers=_NO_STORE)
    _hand_over_seat(answer, request, status.claim)
    return answer


class HeartbeatRequest(BaseModel):
    # The seat link's token when the page was opened by it; otherwise the seat cookie counts.
    token: str = Field(default="", max_length=200)


@router.post("/seat/heartbeat", dependencies=[Public], status_code=204)
def seat_heartbeat(request: Request, db: DbSession, body: HeartbeatRequest) -> Response:
    settings = request.app.state.settings
    generation: int | None = None
    if body.token:
        seat_id = seat_from_token(settings, body.token)
        if seat_id is None:
            raise UnknownSeat()
    else:
        claim = service.read_seat_cookie(settings, request.cookies.get(service.SEAT_COOKIE))
        if claim is None:
            raise NotEnrolled()
        seat_id, generation = claim.seat_id, claim.generation
    service.heartbeat(
        db,
        settings,
        seat_id=seat_id,
        generation=generation,
        user_agent=request.headers.get("user-agent", ""),
        seb=headers_of(request, settings),
        now=utcnow(),
    )
    return Response(status_code=204, headers=_NO_STORE)


# --- the proctor ----------------------------------------------------------------------------


def _room(db: DbSession, room_id: int) -> Room:
    room = db.get(Room, room_id)
    if room is None:
        raise NotFound()
    return room


def _seats_page(
    request: Request,
    db: DbSession,
    room: Room,
    *,
    block: str | None = None,
    status_code: int = 200,
    **form: Any,
) -> Response:
    settings = request.app.state.settings
    now = utcnow()
    exam = service.readiness_exam(db, settings, room_id=room.id, now=now)
    context: dict[str, Any] = {
        "error": None,
        "code": "",
        "seat_label": "",
        "needs_replace": False,
        "enrolled": None,
        **form,
    }
    return render(
        request,
        "proctor/seats.html",
        block=block,
        status_code=status_code,
        room=room,
        seats=list(room.seats),
        exam=exam,
        readiness=service.room_readiness(db, settings, room_id=room.id, exam=exam, now=now),
        pending=[
            (enrolment, service.browser_summary(enrolment.browser))
            for enrolment in service.pending_enrolments(db, room_id=room.id, now=now)
        ],
        seb_names=service.SEB_STATUS_NAMES,
        enrol_url=_enrol_url(request, room),
        url=f"/proctor/rooms/{room.id}/seats",
        timezone=settings.timezone,
        **context,
    )


@router.get("/proctor/rooms/{room_id}/seats")
def seats(
    request: Request, db: DbSession, user: ProctorUser, room_id: int, enrolled: str = ""
) -> Response:
    """Room preparation: each seat's readiness; htmx polls the ``readiness`` block."""
    room = _room(db, room_id)
    labels = {seat.label for seat in room.seats}
    return _seats_page(
        request, db, room, block="readiness", enrolled=enrolled if enrolled in labels else None
    )


@router.get("/proctor/rooms/{room_id}/seats/pending")
def pending(request: Request, db: DbSession, user: ProctorUser, room_id: int) -> Response:
    """The codes waiting for confirmation: the ``pending`` block, polled by the seats page."""
    return _seats_page(request, db, _room(db, room_id), block="pending")


@router.post("/proctor/rooms/{room_id}/seats/confirm")
def confirm(
    request: Request,
    db: DbSession,
    user: ProctorUser,
    room_id: int,
    code: Annotated[str, Form(max_length=32)],
    seat_label: Annotated[str, Form(min_length=1, max_length=32)],
    replace: Annotated[bool, Form()] = False,
) -> Response:
    room = _room(db, room_id)
    try:
        seat = service.confirm_enrolment(
            db,
            room=room,
            code=code,
            seat_label=seat_label,
            replace=replace,
            proctor=user,
            now=utcnow(),
        )
    except ExamError as refusal:
        db.rollback()  # nothing of a refused confirmation is kept
        return _seats_page(
            request,
            db,
            _room(db, room_id),
            status_code=refusal.status_code,
            error=refusal.translated(),
            code=code,
            seat_label=seat_label,
            needs_replace=isinstance(refusal, SeatAlreadyEnrolled),
        )
    return RedirectResponse(
        f"/proctor/rooms/{room.id}/seats?enrolled={quote(seat.label, safe='')}", status_code=303
    )
