"""The request's context: its language from the cookie or the browser, and a CSRF cookie."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from server.config import Settings
from server.i18n import get_locale
from server.middleware import RequestContextMiddleware


async def _context(request: Request) -> JSONResponse:
    return JSONResponse(
        {"locale": get_locale(), "new_csrf": request.scope["state"].get("new_csrf_token")}
    )


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = Starlette(routes=[Route("/", _context)])
    return TestClient(RequestContextMiddleware(app, settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cookie", "accept_language", "locale"),
    [
        ("emtihan_lang=ru", None, "ru"),
        ("emtihan_csrf=t; emtihan_lang=kk", "ru", "kk"),  # the cookie before the browser
        ('emtihan_lang="en"', "kk", "en"),  # quoted, as some clients send it
        ("emtihan_lang=de", "ru-RU,ru;q=0.9", "ru"),  # not ours: the browser's choice
        ("emtihan_lang=", "kk", "kk"),
        ("", "en-US", "en"),
        ("emtihan_langx=ru; xemtihan_lang=ru", "kk", "kk"),  # other cookies' names
        ("garbage; ;;=; emtihan_lang=ru", None, "ru"),  # a malformed header reads what it can
    ],
)
def test_the_language_is_the_cookie_s_then_the_browser_s(
    client: TestClient, cookie: str, accept_language: str | None, locale: str
) -> None:
    headers = {"cookie": cookie} if cookie else {}
    if accept_language is not None:
        headers["accept-language"] = accept_language
    assert client.get("/", headers=headers).json()["locale"] == locale


def test_without_a_language_the_default_is_the_settings(
    client: TestClient, settings: Settings
) -> None:
    assert client.get("/").json()["locale"] == settings.default_locale


def test_a_csrf_cookie_is_issued_once(client: TestClient) -> None:
    first = client.get("/")
    token = first.json()["new_csrf"]
    assert token
    assert first.cookies["emtihan_csrf"] == token
    assert "HttpOnly" in first.headers["set-cookie"]
    second = client.get("/", headers={"cookie": f"emtihan_csrf={token}"})
    assert second.json()["new_csrf"] is None
    assert "set-cookie" not in second.headers


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
