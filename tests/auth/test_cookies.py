"""The signed session cookie: what it says, for how long, and only with the server's secret."""

from __future__ import annotations

import time

import pytest
from starlette.requests import Request
from starlette.responses import Response

from server.auth import cookies
from server.auth.cookies import SESSION_COOKIE, SessionClaim, password_fingerprint, read_session
from server.config import Settings

STORED_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"  # what the user row holds


def _token(settings: Settings) -> str:
    response = Response()
    cookies.write_session(response, settings, user_id=7, pwd_hash=STORED_HASH)
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].removeprefix(f"{SESSION_COOKIE}=")


def _request(token: str) -> Request:
    cookie = f"{SESSION_COOKIE}={token}".encode()
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", cookie)]})


def _seconds_later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    now = time.time()
    monkeypatch.setattr(cookies.time, "time", lambda: now + seconds)


def test_a_written_session_reads_back_its_claim(settings: Settings) -> None:
    token = _token(settings)
    expected = SessionClaim(user_id=7, password_fingerprint=password_fingerprint(STORED_HASH))
    assert read_session(_request(token), settings) == expected
    assert read_session(_request(token), settings) == expected  # the second from what was kept


_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _high_bit_flipped(character: str) -> str:
    """The base64url character whose highest bit differs: the last character of a 32-byte
    signature carries only its high four bits (the low two are padding, ignored when decoded),
    so changing 'A' to 'B' there would forge nothing."""
    return _BASE64URL[_BASE64URL.index(character) ^ 0b100000]


@pytest.mark.parametrize("change", ["first", "last", "payload"])
def test_a_tampered_cookie_says_nothing(settings: Settings, change: str) -> None:
    token = _token(settings)
    assert read_session(_request(token), settings) is not None
    payload, stamp, signature = token.split(".")
    flip = {"A": "B"}.get(signature[0], "A")
    forged = {
        "first": f"{payload}.{stamp}.{flip}{signature[1:]}",
        "last": f"{payload}.{stamp}.{signature[:-1]}{_high_bit_flipped(signature[-1])}",
        "payload": f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{stamp}.{signature}",
    }[change]
    assert read_session(_request(forged), settings) is None


def test_another_secret_does_not_accept_the_cookie(settings: Settings) -> None:
    token = _token(settings)
    assert read_session(_request(token), settings) is not None
    other = settings.model_copy(update={"secret_key": "another-secret"})
    assert read_session(_request(token), other) is None


@pytest.mark.parametrize(
    ("later", "accepted"),
    [(0, True), (12 * 3600 - 2, True), (12 * 3600 + 2, False), (-5, False)],
)
def test_a_session_lasts_its_max_age_even_once_checked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, later: float, accepted: bool
) -> None:
    token = _token(settings)
    assert read_session(_request(token), settings) is not None  # checked and kept
    _seconds_later(monkeypatch, later)
    assert (read_session(_request(token), settings) is not None) is accepted


def test_no_cookie_or_garbage_says_nothing(settings: Settings) -> None:
    assert read_session(Request({"type": "http", "headers": []}), settings) is None
    assert read_session(_request("not-a-token"), settings) is None
