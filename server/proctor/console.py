"""The live proctor console: the room's page, its websocket, and the actions on it.

The page renders the grid from the database; the websocket then keeps it current with frames
rendered by this process's room hub (``live``) from the same parts (``frames``), so what a reload
shows and what the socket pushes cannot drift apart. Actions are plain form posts (they work
without script) that answer with a redirect, or with JSON when the console's script sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

from fastapi import APIRouter, Form, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from server.auth.dependencies import ProctorSocketUser, ProctorUser, RegistrarUser
from server.db import DbSession, utcnow
from server.db.session import reading
from server.events.store import Envelope
from server.i18n import get_locale
from server.models import Exam, ExamRoom, Room, RoomEvent, User
from server.proctor import actions, frames, service
from server.proctor.grid import load_grid
from server.proctor.live import LOGGED, Console, Dispatcher, RoomHub
from server.proctor.violations import VIOLATION_NAMES
from server.rules.conduct import CLAUSES, ViolationKind
from server.rules.timing import late_entry_closes_at
from server.seat.sittings import Sitting
from server.web import render

router = APIRouter(prefix="/proctor")
registrar_router = APIRouter(prefix="/registrar")

LOG_ON_PAGE = 50
HELLO_TIMEOUT = 10.0


def room_url(exam_id: int, room_id: int) -> str:
    return f"/proctor/exams/{exam_id}/rooms/{room_id}"


def _sitting(db: DbSession, user: User, exam_id: int, room_id: int) -> Sitting:
    sitting = service.sitting_or_404(db, exam_id=exam_id, room_id=room_id)
    actions.require_room(db, user, sitting)
    return sitting


@router.get("/exams/{exam_id}/rooms/{room_id}")
def console(
    request: Request, db: DbSession, user: ProctorUser, exam_id: int, room_id: int
) -> Response:
    sitting = _sitting(db, user, exam_id, room_id)
    now = utcnow()
    grid = load_grid(db, exam_id=exam_id, room_id=room_id, start=sitting.start)
    recent = list(
        db.execute(
            select(RoomEvent)
            .where(RoomEvent.exam_id == exam_id, RoomEvent.room_id == room_id)
            .order_by(RoomEvent.seq.desc())
            .limit(LOG_ON_PAGE)
        ).scalars()
    )
    return render(
        request,
        "proctor/console.html",
        sitting=sitting,
        room=db.get_one(Room, room_id),
        grid=grid,
        grid_html=frames.grid_block(grid),
        log_html=frames.log_lines(
            (Envelope.of(row) for row in recent if row.kind in LOGGED),
            grid,
            request.app.state.settings.timezone,
        ),
        url=room_url(exam_id, room_id),
        started=now > sitting.start,
        late_closed=now > late_entry_closes_at(scheduled_start=sitting.start),
        deadline=sitting.deadline(request.app.state.settings),
        now_ms=int(now.timestamp() * 1000),
        violation_kinds=[
            (kind, VIOLATION_NAMES[kind.value], CLAUSES[kind]) for kind in ViolationKind
        ],
        timezone=request.app.state.settings.timezone,
    )


# -- the websocket --


def _dispatcher(websocket: WebSocket) -> Dispatcher:
    dispatcher: Dispatcher = websocket.app.state.dispatcher
    return dispatcher


def _watchable(
    websocket: WebSocket, user: User, exam_id: int, room_id: int | None
) -> list[Sitting]:
    with reading(websocket.app.state.sessionmaker) as db:
        query = select(Exam, ExamRoom).join(ExamRoom, ExamRoom.exam_id == Exam.id)
        query = query.where(Exam.id == exam_id)
        if room_id is not None:
            query = query.where(ExamRoom.room_id == room_id)
        sittings = [
            Sitting(exam=exam, exam_room=exam_room) for exam, exam_room in db.execute(query)
        ]
        return [
            s
            for s in sittings
            if actions.may_watch(db, user, exam_id=exam_id, room_id=s.exam_room.room_id)
        ]


async def _hello(websocket: WebSocket) -> dict[int, int]:
    """The client's last seen ``seq`` per room; nothing (a first connection) is ``{}``."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), timeout=HELLO_TIMEOUT)
        after = json.loads(text).get("after") or {}
        return {int(room): max(int(seq), 0) for room, seq in dict(after).items()}
    except (TimeoutError, ValueError, TypeError, AttributeError):
        return {}


async def _serve_console(
    websocket: WebSocket, user: User, exam_id: int, room_id: int | None
) -> None:
    sittings = await asyncio.to_thread(_watchable, websocket, user, exam_id, room_id)
    if not sittings or (room_id is not None and len(sittings) != 1):
        await websocket.close(code=4403)
        return
    language = get_locale()
    await websocket.accept()
    after = await _hello(websocket)
    dispatcher = _dispatcher(websocket)
    console = Console(language=language)
    hubs: list[RoomHub] = []
    try:
        for sitting in sittings:
            hub = dispatcher.hub(
                exam_id=exam_id, room_id=sitting.exam_room.room_id, start=sitting.start
            )
            await hub.ready.wait()
            hubs.append(hub)
        # Per room: the catch-up up to the grid's number, then the grid, then live frames. The
        # grid and the registration happen with no await between them, so no event falls
        # between the snapshot and the live stream.
        snapshots: list[tuple[RoomHub, int, str]] = []
        for hub in hubs:
            assert hub.grid is not None
            snapshots.append((hub, hub.grid.seq, hub.grid_frame(language)))
            hub.consoles.add(console)
        for hub, seq, frame in snapshots:
            seen = after.get(hub.room_id)
            if seen is not None and seen < seq:
                missed = await hub.missing(seen, upto=seq)
                if missed:
                    await websocket.send_text(hub.event_frame(language, missed))
            await websocket.send_text(frame)
        await _pump(websocket, console)
    finally:
        for hub in hubs:
            hub.consoles.discard(console)


async def _pump(websocket: WebSocket, console: Console) -> None:
    """Send frames until the client leaves or falls too far behind."""

    async def sender() -> None:
        while True:
            await websocket.send_text(await console.queue.get())

    async def receiver() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    tasks = [
        asyncio.create_task(sender()),
        asyncio.create_task(receiver()),
        asyncio.create_task(console.dropped.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        if console.dropped.is_set():
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=1013)  # "try again later": the page reconnects


@router.websocket("/exams/{exam_id}/rooms/{room_id}/live")
async def room_live(
    websocket: WebSocket, user: ProctorSocketUser, exam_id: int, room_id: int
) -> None:
    await _serve_console(websocket, user, exam_id, room_id)


@router.websocket("/exams/{exam_id}/live")
async def exam_live(websocket: WebSocket, user: ProctorSocketUser, exam_id: int) -> None:
    await _serve_console(websocket, user, exam_id, None)


# -- actions --


def done(request: Request, exam_id: int, room_id: int) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True})
    return RedirectResponse(room_url(exam_id, room_id), status_code=303)


@router.post("/exams/{exam_id}/rooms/{room_id}/refuse/{attempt_id}")
def refuse(
    request: Request,
    db: DbSession,
    user: ProctorUser,
    exam_id: int,
    room_id: int,
    attempt_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    sitting = _sitting(db, user, exam_id, room_id)
    actions.refuse(
        db, sitting=sitting, attempt_id=attempt_id, reason=reason, proctor=user, now=utcnow()
    )
    return done(request, exam_id, room_id)


@router.post("/exams/{exam_id}/rooms/{room_id}/violations/{attempt_id}")
def violation(
    request: Request,
    db: DbSession,
    user: ProctorUser,
    exam_id: int,
    room_id: int,
    attempt_id: int,
    kind: Annotated[ViolationKind, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    sitting = _sitting(db, user, exam_id, room_id)
    actions.record_violation(
        db,
        request.app.state.settings,
        sitting=sitting,
        attempt_id=attempt_id,
        kind=kind,
        note=note,
        proctor=user,
        now=utcnow(),
    )
    return done(request, exam_id, room_id)


@router.post("/exams/{exam_id}/rooms/{room_id}/moves/{attempt_id}")
def move(
    request: Request,
    db: DbSession,
    user: ProctorUser,
    exam_id: int,
    room_id: int,
    attempt_id: int,
    seat_id: Annotated[int, Form()],
) -> Response:
    sitting = _sitting(db, user, exam_id, room_id)
    actions.move_seat(
        db, sitting=sitting, attempt_id=attempt_id, seat_id=seat_id, proctor=user, now=utcnow()
    )
    return done(request, exam_id, room_id)


@router.post("/exams/{exam_id}/rooms/{room_id}/incidents")
def incident(
    request: Request,
    db: DbSession,
    user: ProctorUser,
    exam_id: int,
    room_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    extra_minutes: Annotated[int, Form(ge=0, le=actions.MAX_EXTRA_MINUTES)] = 0,
) -> Response:
    sitting = _sitting(db, user, exam_id, room_id)
    actions.add_incident(
        db,
        request.app.state.settings,
        sitting=sitting,
        note=note,
        extra_minutes=extra_minutes,
        proctor=user,
        now=utcnow(),
    )
    return done(request, exam_id, room_id)


@registrar_router.post("/violations/{violation_id}/revoke")
def revoke(
    request: Request,
    db: DbSession,
    user: RegistrarUser,
    violation_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Undoing a violation is the registrar's, with a reason (never the proctor's)."""
    violation = actions.revoke_violation(
        db,
        request.app.state.settings,
        violation_id=violation_id,
        reason=reason,
        registrar=user,
        now=utcnow(),
    )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True, "attempt": violation.attempt_id})
    return RedirectResponse("/registrar", status_code=303)
