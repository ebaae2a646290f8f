"""The room protocol: a printable page and its PDF, for the proctors, the registrar and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from server.auth.dependencies import require_role
from server.db import DbSession, utcnow
from server.models import Role, User
from server.proctor.protocol import record_download, room_protocol
from server.proctor.protocol_pdf import protocol_pdf
from server.proctor.protocol_sheet import protocol_sheet
from server.web import render

router = APIRouter(prefix="/proctor")

ProtocolReader = Annotated[User, Depends(require_role(Role.PROCTOR, Role.REGISTRAR, Role.ADMIN))]


def _url(exam_id: int, room_id: int) -> str:
    return f"/proctor/exams/{exam_id}/rooms/{room_id}"


@router.get("/exams/{exam_id}/rooms/{room_id}/protocol")
def protocol_page(
    request: Request, db: DbSession, user: ProtocolReader, exam_id: int, room_id: int
) -> Response:
    protocol = room_protocol(db, exam_id=exam_id, room_id=room_id, now=utcnow())
    sheet = protocol_sheet(protocol, timezone=request.app.state.settings.timezone)
    return render(
        request,
        "proctor/protocol.html",
        sheet=sheet,
        room_url=_url(exam_id, room_id) if user.role in (Role.PROCTOR, Role.ADMIN) else None,
        pdf_url=f"{_url(exam_id, room_id)}/protocol.pdf",
    )


@router.get("/exams/{exam_id}/rooms/{room_id}/protocol.pdf")
def protocol_download(
    request: Request, db: DbSession, user: ProtocolReader, exam_id: int, room_id: int
) -> Response:
    now = utcnow()
    protocol = room_protocol(db, exam_id=exam_id, room_id=room_id, now=now)
    sheet = protocol_sheet(protocol, timezone=request.app.state.settings.timezone)
    data = protocol_pdf(sheet, printed_at=now)
    record_download(db, protocol, reader=user, now=now)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{sheet.filename}"',
            # Names, ID codes and violations: no shared lab or proxy cache may keep a copy.
            "cache-control": "private, no-store",
        },
    )
