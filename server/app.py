"""The FastAPI application: ``create_app()``; the lifespan owns the engine and sessionmaker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.auth.cookies import SESSION_COOKIE
from server.auth.dependencies import PasswordChangeRequired, claimed_user, verify_csrf
from server.config import Settings, get_settings
from server.db import create_db_engine, make_sessionmaker
from server.db.reader import GroupReader
from server.db.session import open_read_session, open_session
from server.db.writer import ProcessWriter, ThreadWriter, Writer
from server.errors import ExamError, InvalidInput, NotSignedIn, invalid_input
from server.events.broker import make_broker
from server.events.store import Envelope, install_publisher
from server.lane import LaneMiddleware
from server.middleware import RequestContextMiddleware
from server.proctor.live import Dispatcher
from server.seat.errors import SeatRefusal
from server.seat.sweeper import deadline_sweeper
from server.web import STATIC_DIR, render


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or bool(
        request.headers.get("hx-request")
    )


async def handle_exam_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExamError)
    if wants_html(request) and not request.headers.get("hx-request"):
        if isinstance(exc, NotSignedIn):
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        if isinstance(exc, PasswordChangeRequired):
            return RedirectResponse("/account/password", status_code=303)
    message = exc.translated()
    fields = exc.field_errors if isinstance(exc, InvalidInput) else {}
    if wants_html(request):
        reader: GroupReader | None = getattr(request.app.state, "reader", None)
        if (
            reader is not None
            and getattr(request.state, "user", None) is None
            and SESSION_COOKIE in request.cookies
        ):
            # A route that checks the account in its writer job (the admission) refused
            # there: the page around the refusal still names who is signed in.
            with contextlib.suppress(RuntimeError):  # the reader has stopped
                await reader.read(partial(claimed_user, request))
        return render(
            request,
            "error.html",
            block="content",
            status_code=exc.status_code,
            message=message,
            fields=fields,
        )
    body: dict[str, Any] = {"error": type(exc).__name__, "message": message}
    if isinstance(exc, SeatRefusal):
        body["code"] = exc.code
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=exc.status_code)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return await handle_exam_error(request, invalid_input(exc.errors(), skip=1))


def _writer(
    app: FastAPI, settings: Settings, publish: Callable[[Envelope], None], *, owns_engine: bool
) -> Writer:
    """The process writer, unless the application was handed its engine or its one session (the
    tests) or the database lives in this process's memory: a child could not open those."""
    in_one_session = getattr(app.state, "single_session", None) is not None
    url = settings.resolved_database_url()
    in_memory = ":memory:" in url or url == "sqlite://"
    if settings.writer == "process" and owns_engine and not in_one_session and not in_memory:
        return ProcessWriter(settings, publish)
    return ThreadWriter(
        partial(open_session, app, write=True, group_writer=True),
        settings,
        close=not in_one_session,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if getattr(app.state, "engine", None) is None:
            engine = create_db_engine(settings.resolved_database_url())
            app.state.engine = engine
            app.state.sessionmaker = make_sessionmaker(engine)
            owns_engine = True
        else:
            owns_engine = False
        broker = make_broker(settings.redis_url)
        app.state.dispatcher = Dispatcher(app.state.sessionmaker, timezone=settings.timezone)
        await broker.start(app.state.dispatcher.deliver, app.state.dispatcher.resync)
        install_publisher(broker.publish)
        # A test's second client of the same application starts and ends its own writer and
        # reader; the first client's are put back when it ends.
        outer = (getattr(app.state, "writer", None), getattr(app.state, "reader", None))
        app.state.writer = _writer(app, settings, broker.publish, owns_engine=owns_engine)
        app.state.writer.start()
        app.state.reader = GroupReader(
            partial(open_read_session, app),
            close=getattr(app.state, "single_session", None) is None,
        )
        app.state.reader.start()
        sweeper = asyncio.create_task(deadline_sweeper(app)) if settings.deadline_sweeper else None
        try:
            yield
        finally:
            app.state.reader.stop()
            app.state.writer.stop()
            if outer[0] is not None and outer[1] is not None:
                app.state.writer, app.state.reader = outer
            install_publisher(None)
            await app.state.dispatcher.close()
            await broker.stop()
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            if owns_engine:
                app.state.engine.dispose()

    telemetry = settings.opentelemetry
    app = FastAPI(
        title="Emtihan",
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
        lifespan=lifespan,
        dependencies=[Depends(verify_csrf)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.add_exception_handler(ExamError, handle_exam_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    # The proctor's and the seat's routers put routes on the lane too: the admission, /exam.
    from server.proctor.router import router as proctor_router
    from server.seat.api import lane as exam_lane
    from server.seat.router import router as seat_router

    # The exam page's own JSON requests (the saves, 400 a second at an exam of 2,000) are
    # answered by the lane, before FastAPI's router (``server.lane``). It runs inside the request
    # context (locale, security headers, CSRF cookie): added first, it is the inner of the two.
    app.add_middleware(LaneMiddleware, routes=exam_lane.routes, on_error=handle_exam_error)
    app.add_middleware(RequestContextMiddleware, settings=settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from server.auth.router import router as auth_router
    from server.bank.router import router as bank_router
    from server.health import router as health_router
    from server.proctor.console import registrar_router as violations_router
    from server.proctor.console import router as console_router
    from server.proctor.protocol_router import router as protocol_router
    from server.registrar.router import router as registrar_router
    from server.seat.enrol_router import router as enrol_router
    from server.seat.live import router as seat_live_router

    # A request is matched against the routes in this order, one pattern after another: the
    # exam's own (the seat's pages and the proctors') come first, so they do not pay for every
    # route of the offices before them.
    # The enrolment's /seat/heartbeat stays before the seat's /seat/{token}.
    app.include_router(seat_live_router)
    app.include_router(enrol_router)
    app.include_router(seat_router)
    app.include_router(proctor_router)
    app.include_router(console_router)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(registrar_router)
    app.include_router(violations_router)
    app.include_router(protocol_router)
    app.include_router(bank_router)
    return app
