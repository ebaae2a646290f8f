"""The exam page's API dependencies: the signed claim and the account check on its row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie
from types import SimpleNamespace

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from server.auth.cookies import (
    SESSION_COOKIE,
    SessionClaim,
    password_fingerprint,
    write_session,
)
from server.auth.dependencies import (
    PROCTOR_ROLES,
    PasswordChangeRequired,
    account_valid,
    claimed_account,
    role_claim,
)
from server.config import Settings
from server.db import utcnow
from server.errors import Forbidden, NotSignedIn
from server.models import Role, User
from tests import factories

CLAIM = SessionClaim(user_id=7, password_fingerprint=password_fingerprint("$argon2id$hash-a"))


@pytest.mark.parametrize(
    ("user_id", "password_hash", "active", "valid"),
    [
        pytest.param(7, "$argon2id$hash-a", True, True, id="same-user-active-same-password"),
        pytest.param(8, "$argon2id$hash-a", True, False, id="another-user"),
        pytest.param(7, "$argon2id$hash-a", False, False, id="inactive"),
        pytest.param(7, "$argon2id$hash-b", True, False, id="password-changed"),
        pytest.param(8, "$argon2id$hash-b", False, False, id="nothing-matches"),
    ],
)
def test_account_valid(user_id: int, password_hash: str, active: bool, valid: bool) -> None:
    assert (
        account_valid(CLAIM, user_id=user_id, password_hash=password_hash, active=active) is valid
    )


def _request(settings: Settings, cookie: str | None) -> Request:
    headers = [] if cookie is None else [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "path": "/api/seat",
        "query_string": b"",
        "headers": headers,
        "app": SimpleNamespace(state=SimpleNamespace(settings=settings)),
    }
    return Request(scope)


def _session_cookie(settings: Settings, *, user_id: int, pwd_hash: str) -> str:
    """The session cookie's value as the sign-in writes it."""
    response = Response()
    write_session(response, settings, user_id=user_id, pwd_hash=pwd_hash)
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie[SESSION_COOKIE].value


def _claim(settings: Settings, cookie: str | None) -> SessionClaim:
    return asyncio.run(role_claim(Role.STUDENT)(_request(settings, cookie)))


def test_a_signed_session_cookie_gives_its_claim(settings: Settings) -> None:
    cookie = _session_cookie(settings, user_id=42, pwd_hash="$argon2id$hash-a")
    claim = _claim(settings, cookie)
    assert claim == SessionClaim(
        user_id=42, password_fingerprint=password_fingerprint("$argon2id$hash-a")
    )
    assert account_valid(claim, user_id=42, password_hash="$argon2id$hash-a", active=True)


def test_no_cookie_is_not_signed_in(settings: Settings) -> None:
    with pytest.raises(NotSignedIn):
        _claim(settings, None)


def _signed_by_another_server(settings: Settings) -> str:
    other = settings.model_copy(update={"secret_key": "another-server-secret"})
    return _session_cookie(other, user_id=42, pwd_hash="$argon2id$hash-a")


def _user_id_changed(settings: Settings) -> str:
    # Another user's payload under a genuine token's timestamp and signature.
    genuine = _session_cookie(settings, user_id=42, pwd_hash="$argon2id$hash-a").split(".")
    forged = _session_cookie(settings, user_id=43, pwd_hash="$argon2id$hash-a").split(".")
    assert len(genuine) == len(forged) == 3  # payload.timestamp.signature
    return ".".join([forged[0], genuine[1], genuine[2]])


def _not_a_user_id(settings: Settings) -> str:
    # Correctly signed, with the server's own secret and salt, but the user id is not a number.
    serializer = URLSafeTimedSerializer(settings.resolved_secret_key(), salt="emtihan.session")
    return serializer.dumps({"u": "42", "p": password_fingerprint("$argon2id$hash-a")})


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda settings: "", id="empty"),
        pytest.param(lambda settings: "garbled-%%-not-a-token", id="garbled"),
        pytest.param(
            lambda settings: _session_cookie(settings, user_id=42, pwd_hash="h")[:-3] + "xyz",
            id="signature-altered",
        ),
        pytest.param(_signed_by_another_server, id="another-secret"),
        pytest.param(_user_id_changed, id="payload-swapped"),
        pytest.param(_not_a_user_id, id="signed-but-not-a-user-id"),
    ],
)
def test_a_forged_or_garbled_cookie_is_not_signed_in(
    settings: Settings, forge: Callable[[Settings], str]
) -> None:
    cookie = forge(settings)
    with pytest.raises(NotSignedIn):
        _claim(settings, cookie)


def test_an_expired_cookie_is_not_signed_in(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = int(time.time()) - settings.session_max_age_seconds - 60
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda _signer: issued)
        cookie = _session_cookie(settings, user_id=42, pwd_hash="$argon2id$hash-a")
    with pytest.raises(NotSignedIn):
        _claim(settings, cookie)


def _claim_of(user: User) -> SessionClaim:
    return SessionClaim(
        user_id=user.id, password_fingerprint=password_fingerprint(user.password_hash)
    )


@pytest.mark.parametrize(
    ("role", "changed_days_ago", "active", "password_changed", "refusal"),
    [
        (Role.PROCTOR, 0, True, False, None),
        (Role.ADMIN, 41, True, False, None),
        (Role.PROCTOR, 43, True, False, PasswordChangeRequired),  # the 42-day expiry
        (Role.REGISTRAR, 0, True, False, Forbidden),
        (Role.STUDENT, 0, True, False, Forbidden),
        (Role.PROCTOR, 0, False, False, NotSignedIn),
        (Role.PROCTOR, 0, True, True, NotSignedIn),  # the claim is of the old password
    ],
)
def test_a_claimed_account_is_refused_as_require_role_refuses(
    db: Session,
    role: Role,
    changed_days_ago: int,
    active: bool,
    password_changed: bool,
    refusal: type[Exception] | None,
) -> None:
    user = factories.create_user(
        db, role=role, changed_at=utcnow() - timedelta(days=changed_days_ago)
    )
    claim = _claim_of(user)
    user.is_active = active
    if password_changed:
        user.password_hash = "$argon2id$another-hash"
    db.flush()

    if refusal is None:
        assert claimed_account(db, claim, PROCTOR_ROLES) is user
    else:
        with pytest.raises(refusal):
            claimed_account(db, claim, PROCTOR_ROLES)
