"""The student's page, live: the server tells it at once when the attempt is closed.

When the proctor records a violation the page must lock at once (R 4.9), not at its next save.
The page holds a websocket; this process's dispatcher hands it every event of its attempt, and
the page is told to lock when one closes the attempt. Its connecting and leaving are events of
the room too (``presence``), which is how the console tells a disconnected seat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session

from server.auth.dependencies import StudentSocketUser
from server.config import Settings
from server.db import utcnow
from server.db.session import reading
from server.db.writer import write_job
from server.events.store import emit
from server.models import Attempt, Student, User
from server.seat.closing import CLOSED_STATES

router = APIRouter()

CLOSING_EVENTS = frozenset({"closed", "violation"})


def _own_open_attempt(websocket: WebSocket, user: User, attempt_id: int) -> tuple[int, int] | None:
    with reading(websocket.app.state.sessionmaker) as db:
        attempt = db.get(Attempt, attempt_id)
        student = db.get(Student, attempt.student_id) if attempt else None
        if attempt is None or student is None or student.user_id != user.id:
            return None
        if attempt.state in CLOSED_STATES or attempt.room_id is None:
            return (attempt.exam_id, -1)
        return (attempt.exam_id, attempt.room_id)


@write_job
def record_presence(
    db: Session, settings: Settings, *, attempt_id: int, online: bool, now: datetime
) -> None:
    """The page's line opened or closed: an event for the proctor's grid. A writer's job: at an
    exam's start every page of every room opens its line within a minute."""
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or attempt.room_id is None or attempt.state in CLOSED_STATES:
        return
    emit(
        db,
        exam_id=attempt.exam_id,
        room_id=attempt.room_id,
        kind="presence",
        attempt_id=attempt.id,
        payload={"online": online},
        now=now,
    )


@router.websocket("/exam/attempts/{attempt_id}/live")
async def attempt_live(websocket: WebSocket, user: StudentSocketUser, attempt_id: int) -> None:
    found = await asyncio.to_thread(_own_open_attempt, websocket, user, attempt_id)
    if found is None:
        await websocket.close(code=4404)
        return
    await websocket.accept()
    if found[1] == -1:
        await websocket.send_text(json.dumps({"type": "closed"}))
        await websocket.close()
        return
    dispatcher = websocket.app.state.dispatcher
    queue = dispatcher.watch_attempt(attempt_id)
    writer = websocket.app.state.writer
    await writer.run(record_presence, attempt_id=attempt_id, online=True, now=utcnow())

    async def watch() -> None:
        while True:
            envelope = await queue.get()
            if envelope.kind in CLOSING_EVENTS:
                await websocket.send_text(
                    json.dumps({"type": "closed", "state": envelope.payload.get("state")})
                )
                return

    async def listen() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    tasks = [asyncio.create_task(watch()), asyncio.create_task(listen())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        dispatcher.unwatch_attempt(attempt_id, queue)
        with contextlib.suppress(Exception):
            await writer.run(record_presence, attempt_id=attempt_id, online=False, now=utcnow())
        with contextlib.suppress(RuntimeError):
            await websocket.close()
