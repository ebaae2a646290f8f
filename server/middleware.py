"""Per-request context: language, CSRF cookie and security headers (pure ASGI, no buffering)."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth.cookies import CSRF_COOKIE, LANGUAGE_COOKIE
from server.config import Settings
from server.i18n import DEFAULT_LOCALE, LOCALES, negotiate, set_locale


def content_security_policy(*, webassembly: bool = False) -> str:
    """Our own origin only. ``webassembly`` lets the page compile WebAssembly (and nothing else
    that ``eval`` could): the seat's sign-in page derives the password's key with it."""
    scripts = "'self' 'wasm-unsafe-eval'" if webassembly else "'self'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": content_security_policy(),
}


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        # Starlette's parser, as ``Request.cookies`` reads them: ``http.cookies`` took 13 µs a
        # request, a percent of the event loop in the exam-start storm (docs/BENCHMARKS.md).
        cookies = cookie_parser(headers.get("cookie", ""))
        chosen = cookies.get(LANGUAGE_COOKIE)
        if chosen not in LOCALES:
            chosen = negotiate(headers.get("accept-language")) or self.settings.default_locale
        set_locale(chosen if chosen in LOCALES else DEFAULT_LOCALE)

        new_csrf: str | None = None
        if CSRF_COOKIE not in cookies:
            new_csrf = secrets.token_urlsafe(32)
            scope.setdefault("state", {})["new_csrf_token"] = new_csrf

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in response_headers:
                        response_headers[name] = value
                if new_csrf is not None:
                    attributes = "Path=/; HttpOnly; SameSite=Strict"
                    if self.settings.cookie_secure:
                        attributes += "; Secure"
                    max_age = self.settings.session_max_age_seconds
                    response_headers.append(
                        "set-cookie", f"{CSRF_COOKIE}={new_csrf}; Max-Age={max_age}; {attributes}"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
