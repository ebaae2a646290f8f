"""Sign-in, sign-out, password change and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from server.auth import service
from server.auth.cookies import LANGUAGE_COOKIE, clear_session, write_session
from server.auth.dependencies import AnyUser, AnyUserExpiredOk, MaybeUser, Public
from server.db import DbSession, utcnow
from server.db.session import short_session
from server.errors import ExamError, InvalidInput
from server.i18n import set_locale
from server.models import Role
from server.web import render

router = APIRouter()

HOME_BY_ROLE = {
    Role.STUDENT: "/exam",
    Role.PROCTOR: "/proctor",
    Role.REGISTRAR: "/registrar",
    Role.ADMIN: "/registrar",
}


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would be a phishing aid."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def remember_language(response: Response, request: Request, language: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


@router.get("/login", dependencies=[Public])
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "auth/login.html", next=safe_next(next), error=None, login="")


@router.post("/login", dependencies=[Public])
def login(
    request: Request,
    db: DbSession,
    login: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings = request.app.state.settings
    address, now = _client_address(request), utcnow()
    try:
        # argon2 runs in a read session, before this request's write takes the lock.
        with short_session(request.app) as read:
            checked = service.check_password(
                read, settings, login=login, password=password, address=address, now=now
            )
        result = service.record_sign_in(db, checked, address=address, now=now)
    except ExamError as refusal:
        return render(
            request,
            "auth/login.html",
            status_code=refusal.status_code,
            next=safe_next(next),
            error=refusal.translated(),
            login=login,
        )
    if result.user is None:
        assert result.refusal is not None
        return render(
            request,
            "auth/login.html",
            status_code=result.refusal.status_code,
            next=safe_next(next),
            error=result.refusal.translated(),
            login=login,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    write_session(response, settings, user_id=result.user.id, pwd_hash=result.user.password_hash)
    remember_language(response, request, result.user.locale.value)
    return response


@router.post("/logout")
def logout(request: Request, user: AnyUserExpiredOk) -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session(response, request.app.state.settings)
    return response


@router.get("/")
def home(user: AnyUser) -> Response:
    return RedirectResponse(HOME_BY_ROLE.get(user.role, "/account"), status_code=303)


@router.get("/account")
def account(request: Request, user: AnyUser) -> Response:
    return render(request, "auth/account.html")


@router.get("/account/password")
def password_page(request: Request, user: AnyUserExpiredOk) -> Response:
    return render(request, "auth/password.html", errors={}, done=False)


@router.post("/account/password")
def change_password(
    request: Request,
    db: DbSession,
    user: AnyUserExpiredOk,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    repeat: Annotated[str, Form(max_length=256)],
) -> Response:
    try:
        service.change_password(
            db, user=user, current=current, new=new, repeat=repeat, now=utcnow()
        )
    except InvalidInput as problem:
        return render(
            request,
            "auth/password.html",
            status_code=problem.status_code,
            errors=problem.field_errors,
            message=problem.translated(),
            done=False,
        )
    response = render(request, "auth/password.html", errors={}, done=True)
    # The session cookie carries the password fingerprint: re-issue it for this browser.
    write_session(
        response, request.app.state.settings, user_id=user.id, pwd_hash=user.password_hash
    )
    return response


@router.post("/language", dependencies=[Public])
def switch_language(
    request: Request,
    db: DbSession,
    user: MaybeUser,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    chosen = service.set_language(db, user=user, language=language)
    set_locale(chosen.value)
    response = RedirectResponse(safe_next(next), status_code=303)
    remember_language(response, request, chosen.value)
    return response
