"""Signed session and CSRF cookies.

The session cookie holds the user id and a fingerprint of the password hash, signed with the
server's secret: changing a password signs every other session out. The CSRF token is a random
value in its own HttpOnly cookie that every unsafe request must echo in a form field or header.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from server.config import Settings

SESSION_COOKIE = "emtihan_session"
CSRF_COOKIE = "emtihan_csrf"
LANGUAGE_COOKIE = "emtihan_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class SessionClaim:
    user_id: int
    password_fingerprint: str


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@lru_cache(maxsize=4)
def _serializer_for(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="emtihan.session")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer_for(settings.resolved_secret_key())


# A seat sends the same session cookie with every save and poll: 2,000 seats, 400 requests a
# second at an exam. Checking its signature (a key derivation, an HMAC, base64 and JSON) was
# most of reading the session, so what a cookie says is kept per process once its signature
# has been checked. Only the signature's verdict is kept: its age is checked on every request,
# and the account it names is read from the database on every request
# (server.auth.dependencies). The key includes the secret, so a new secret checks anew.
@lru_cache(maxsize=8192)
def _signed_claim(secret: str, token: str) -> tuple[SessionClaim, int] | None:
    """What ``token`` says, and when it was signed (epoch seconds); None unless signed with
    ``secret`` and well formed."""
    try:
        data, signed_at = _serializer_for(secret).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    claim = SessionClaim(user_id=data["u"], password_fingerprint=str(data.get("p", "")))
    return claim, int(signed_at.timestamp())


def write_session(response: Response, settings: Settings, *, user_id: int, pwd_hash: str) -> None:
    token = _serializer(settings).dumps({"u": user_id, "p": password_fingerprint(pwd_hash)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


def read_session(request: Request, settings: Settings) -> SessionClaim | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    signed = _signed_claim(settings.resolved_secret_key(), token)
    if signed is None:
        return None
    claim, signed_at = signed
    # As itsdangerous's max_age: whole seconds, neither older than the limit nor from the future.
    age = int(time.time()) - signed_at
    if not 0 <= age <= settings.session_max_age_seconds:
        return None
    return claim


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


def csrf_token_for(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a fresh one the response middleware will set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_token", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = token
    return token


def write_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )
