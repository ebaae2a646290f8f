"""``GET /healthz``: is the server up, and is its database reachable and migrated?"""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.auth.dependencies import Public
from server.db.migrate import alembic_config

router = APIRouter()


def database_state(request: Request) -> dict[str, Any]:
    engine = request.app.state.engine
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    state: dict[str, Any] = {"dialect": engine.dialect.name, "head": head}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        return {**state, "reachable": False, "error": type(exc).__name__}
    return {**state, "reachable": True, "revision": revision, "up_to_date": revision == head}


@router.get("/healthz", dependencies=[Public])
def healthz(request: Request) -> JSONResponse:
    database = database_state(request)
    healthy = database["reachable"] and database.get("up_to_date", False)
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": database},
        status_code=200 if healthy else 503,
    )
