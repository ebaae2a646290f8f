"""Who may call a route: every route declares a role dependency or is explicitly public.

``tests/auth/test_route_roles.py`` walks every route of the app and fails when one declares
neither, so a new page cannot ship unprotected by accident.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, WebSocket, WebSocketException
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from server.auth.cookies import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SessionClaim,
    password_fingerprint,
    read_session,
)
from server.db import DbSession, utcnow
from server.db.session import reading, short_session
from server.errors import CsrfFailed, Forbidden, NotSignedIn
from server.i18n import N_
from server.models import Role, User
from server.rules.accounts import password_expired

ROLE_MARKER = "__emtihan_roles__"
STAFF_ROLES = frozenset(Role) - {Role.STUDENT}


class PasswordChangeRequired(Forbidden):
    status_code = 403
    message = N_("Your password has expired. Choose a new one to continue.")


def _mark(dependency: Callable[..., Any], roles: frozenset[Role] | None) -> Callable[..., Any]:
    # None marks a deliberately public route; a set marks the roles allowed.
    setattr(dependency, ROLE_MARKER, roles)
    return dependency


def _load_user(request: Request, db: Session) -> User | None:
    """The signed-in user, read in a short session and handed to the request's (no query).

    ``request.state.user`` keeps the short session's copy for the page around the response
    (``server.web.page_context``): it is never expired, while the request's copy is by a
    rollback, after which a refusal's page could no longer read it.
    """
    cached = getattr(request.state, "session_user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    claim = read_session(request, request.app.state.settings)
    if claim is None:
        return None
    with short_session(request.app) as reader:
        user = account_of_claim(reader, claim)
        if user is None:
            return None
        request.state.user = user
        request.state.session_user = db.merge(user, load=False)
        return request.state.session_user  # type: ignore[no-any-return]


def optional_user(request: Request, db: DbSession) -> User | None:
    return _load_user(request, db)


def require_role(*roles: Role, allow_expired_password: bool = False) -> Callable[..., User]:
    allowed = frozenset(roles)

    def dependency(request: Request, db: DbSession) -> User:
        user = _load_user(request, db)
        if user is None:
            raise NotSignedIn()
        if user.role not in allowed:
            raise Forbidden()
        if not allow_expired_password and staff_password_expired(user, now=utcnow()):
            raise PasswordChangeRequired()
        return user

    dependency.__name__ = "require_" + "_or_".join(sorted(r.value for r in allowed))
    return _mark(dependency, allowed)


def staff_password_expired(user: User, *, now: datetime) -> bool:
    """The 42-day expiry (H) applies to staff; students sign in at the seat with their ID code."""
    return user.role in STAFF_ROLES and password_expired(
        changed_at=user.password_changed_at, now=now
    )


async def public() -> None:
    """Marks a route that anyone may open (sign-in page, health check, static files)."""


_mark(public, None)


async def verify_csrf(connection: HTTPConnection) -> None:
    """Every unsafe request must echo the CSRF cookie in a header or a form field.

    A websocket is checked by its own route (its Origin), as its handshake is a GET.
    """
    if not isinstance(connection, Request) or connection.method in ("GET", "HEAD", "OPTIONS"):
        return
    request = connection
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfFailed()


def role_claim(*roles: Role) -> Callable[..., Any]:
    """A route that checks the account in its own job's query: the signed claim, no query here.

    For the requests that arrive by the thousand at an exam's start (``server.seat.api``, the
    proctor's admission), which do their whole work in one reader or writer job. That job must
    check the account with ``claimed_account`` (or ``account_valid``) on the row it reads.
    """

    async def dependency(request: Request) -> SessionClaim:
        claim = read_session(request, request.app.state.settings)
        if claim is None:
            raise NotSignedIn()
        return claim

    dependency.__name__ = "claim_of_" + "_or_".join(sorted(r.value for r in roles))
    return _mark(dependency, frozenset(roles))


def claimed_account(db: Session, claim: SessionClaim, roles: frozenset[Role]) -> User:
    """The account a claim speaks for, read in ``db``, or the refusal ``require_role`` gives."""
    return checked_account(db.get(User, claim.user_id), claim, roles)


def checked_account(user: User | None, claim: SessionClaim, roles: frozenset[Role]) -> User:
    """``user``, read for ``claim``, if the claim still speaks for it and it has one of
    ``roles``; else the refusal ``require_role`` gives."""
    if user is None or not speaks_for(claim, user):
        raise NotSignedIn()
    if user.role not in roles:
        raise Forbidden()
    if staff_password_expired(user, now=utcnow()):
        raise PasswordChangeRequired()
    return user


def account_valid(claim: SessionClaim, *, user_id: int, password_hash: str, active: bool) -> bool:
    """The claim still speaks for this account: the same user, active, the same password."""
    return (
        claim.user_id == user_id
        and active
        and hmac.compare_digest(password_fingerprint(password_hash), claim.password_fingerprint)
    )


def account_of_claim(db: Session, claim: SessionClaim) -> User | None:
    """The account the claim speaks for, read in ``db``, if it still does (``account_valid``)."""
    user = db.get(User, claim.user_id)
    return user if user is not None and speaks_for(claim, user) else None


def speaks_for(claim: SessionClaim, user: User) -> bool:
    """``account_valid`` for an account read as a ``User``."""
    return account_valid(
        claim, user_id=user.id, password_hash=user.password_hash, active=user.is_active
    )


def claimed_user(request: Request, db: Session) -> User | None:
    """The signed-in user read in ``db``, or None: for a page read in one job (``GroupReader``)."""
    claim = read_session(request, request.app.state.settings)
    user = account_of_claim(db, claim) if claim is not None else None
    if user is not None:
        request.state.user = user
    return user


def claimed_student(db: Session, claim: SessionClaim) -> User:
    """The student a ``StudentClaim`` speaks for, read in ``db``, or a refusal."""
    return claimed_account(db, claim, STUDENT_ROLES)


Public = Depends(public)
AnyUser = Annotated[User, Depends(require_role(*Role))]
AnyUserExpiredOk = Annotated[User, Depends(require_role(*Role, allow_expired_password=True))]
StaffUser = Annotated[User, Depends(require_role(*STAFF_ROLES))]
RegistrarUser = Annotated[User, Depends(require_role(Role.REGISTRAR, Role.ADMIN))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
ProctorUser = Annotated[User, Depends(require_role(Role.PROCTOR, Role.ADMIN))]
DepartmentHeadUser = Annotated[User, Depends(require_role(Role.DEPARTMENT_HEAD, Role.ADMIN))]
StudentUser = Annotated[User, Depends(require_role(Role.STUDENT))]
STUDENT_ROLES = frozenset({Role.STUDENT})
PROCTOR_ROLES = frozenset({Role.PROCTOR, Role.ADMIN})
StudentClaim = Annotated[SessionClaim, Depends(role_claim(*STUDENT_ROLES))]
ProctorClaim = Annotated[SessionClaim, Depends(role_claim(*PROCTOR_ROLES))]
MaybeUser = Annotated[User | None, Depends(optional_user)]


def require_ws_role(*roles: Role) -> Callable[..., User]:
    """The websocket counterpart of ``require_role``: same session cookie, same checks.

    A refused handshake closes with 4401 (not signed in) or 4403 (not allowed). The Origin must
    be this site, so another site's page cannot open a console with the proctor's cookies.
    """
    allowed = frozenset(roles)

    def dependency(websocket: WebSocket) -> User:
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        if origin is not None and urlsplit(origin).netloc != host:
            raise WebSocketException(code=4403, reason="cross-site")
        claim = read_session(websocket, websocket.app.state.settings)  # type: ignore[arg-type]
        if claim is None:
            raise WebSocketException(code=4401, reason="not signed in")
        with reading(websocket.app.state.sessionmaker) as db:
            user = account_of_claim(db, claim)
            if user is None:
                raise WebSocketException(code=4401, reason="not signed in")
            if user.role not in allowed or staff_password_expired(user, now=utcnow()):
                raise WebSocketException(code=4403, reason="forbidden")
            db.expunge(user)
            found: User = user
            return found

    dependency.__name__ = "require_ws_" + "_or_".join(sorted(r.value for r in allowed))
    return _mark(dependency, allowed)


ProctorSocketUser = Annotated[User, Depends(require_ws_role(Role.PROCTOR, Role.ADMIN))]
StudentSocketUser = Annotated[User, Depends(require_ws_role(Role.STUDENT))]
