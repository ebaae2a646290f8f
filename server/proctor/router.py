"""The proctor's plain pages: the sittings, a room's list with "Admit", the seat links."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from server.auth.cookies import SessionClaim
from server.auth.dependencies import PROCTOR_ROLES, ProctorUser, claimed_account
from server.config import Settings
from server.db import DbSession, utcnow
from server.db.reader import in_reader
from server.db.writer import write_job
from server.errors import NotFound
from server.lane import form_body
from server.models import Room
from server.proctor import service
from server.proctor.actions import may_watch, require_room
from server.proctor.console import done
from server.seat.api import lane
from server.seat.links import seat_token
from server.seat.questions import prepare as prepare_questions
from server.web import render

router = APIRouter(prefix="/proctor")


def _room_url(exam_id: int, room_id: int) -> str:
    return f"/proctor/exams/{exam_id}/rooms/{room_id}"


@router.get("")
def sittings(request: Request, db: DbSession, user: ProctorUser) -> Response:
    return render(
        request,
        "proctor/sittings.html",
        sittings=[
            sitting
            for sitting in service.sittings_around(db, now=utcnow())
            if may_watch(db, user, exam_id=sitting.exam.id, room_id=sitting.exam_room.room_id)
        ],
        timezone=request.app.state.settings.timezone,
    )


@router.post("/exams/{exam_id}/rooms/{room_id}/open")
def open_room(db: DbSession, user: ProctorUser, exam_id: int, room_id: int) -> Response:
    sitting = service.sitting_or_404(db, exam_id=exam_id, room_id=room_id)
    require_room(db, user, sitting)
    service.open_room(db, sitting=sitting, proctor=user, now=utcnow())
    return RedirectResponse(_room_url(exam_id, room_id), status_code=303)


class AdmitForm(BaseModel):
    late: bool = False  # the proctor permits a late entry (R 4.4)


@lane.route(
    "POST", "/proctor/exams/{exam_id}/rooms/{room_id}/admit/{attempt_id}", roles=PROCTOR_ROLES
)
async def admit(
    request: Request, claim: SessionClaim, exam_id: int, room_id: int, attempt_id: int
) -> Response:
    """Admit one student: at an exam's start 40 proctors admit their rooms of 50 within minutes,
    so the admission (the proctor's account checked with it) is a job of the writer with the
    saves and sign-ins (``server.db.writer``), and the paper's putting together one of the
    reader threads (``server.db.reader``): no job of the shared thread limiter. It is answered
    by the lane (``server.lane``), before FastAPI's router and its dependency solving."""
    late = (await form_body(request, AdmitForm)).late
    await request.app.state.writer.run(
        admit_in_room,
        exam_id=exam_id,
        room_id=room_id,
        attempt_id=attempt_id,
        claim=claim,
        late_entry_permitted=late,
        now=utcnow(),
    )
    # The student's paper is put together now, in the check-in window, not at the start.
    await in_reader(request, partial(prepare_questions, attempt_id=attempt_id))
    return done(request, exam_id, room_id)


@write_job(heavy=True)
def admit_in_room(
    db: Session,
    settings: Settings,
    *,
    exam_id: int,
    room_id: int,
    attempt_id: int,
    claim: SessionClaim,
    late_entry_permitted: bool,
    now: datetime,
) -> None:
    proctor = claimed_account(db, claim, PROCTOR_ROLES)
    sitting = service.sitting_or_404(db, exam_id=exam_id, room_id=room_id)
    require_room(db, proctor, sitting)
    service.admit(
        db,
        settings,
        sitting=sitting,
        attempt_id=attempt_id,
        proctor=proctor,
        late_entry_permitted=late_entry_permitted,
        now=now,
    )


@router.get("/rooms/{room_id}/seat-links")
def seat_links(request: Request, db: DbSession, user: ProctorUser, room_id: int) -> Response:
    """The start page each workstation's browser is set to (IT staff configure the kiosks)."""
    room = db.get(Room, room_id)
    if room is None:
        raise NotFound()
    settings = request.app.state.settings
    base = str(request.base_url).rstrip("/")
    links = [(seat, f"{base}/seat/{seat_token(settings, seat.id)}") for seat in room.seats]
    return render(request, "proctor/seat_links.html", room=room, links=links)
