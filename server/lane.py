"""The exam lane: the requests of an exam's first minutes, answered before FastAPI's router.

At an exam of 2,000 the pages send 400 saves a second, and at the start every page polls its
status and takes its window within the same minute; before it, every examinee opens the seat's
start page, asks for the password's key and signs in, and every proctor admits a room. Through
FastAPI each of them paid for the router's matching against every route and the dependency
solving around a handler that does its whole work in one reader or writer job; in the storm
those were two fifths of the event loop's request handling (docs/BENCHMARKS.md). A lane route
is matched by one pattern and called with what its handler needs, nothing else.

What a lane route gets is what a FastAPI route of the app gets (``server.app``): it runs inside
``RequestContextMiddleware`` (locale, security headers, the CSRF cookie), an unsafe method must
echo the CSRF token (``verify_csrf``), the session cookie's claim is read, and a refusal
(``ExamError``, or a body that does not validate) is answered by the app's own handler, in the
user's language. Like every route, each one declares the roles it serves, or that it is public
(the seat's sign-in; ``tests/auth/test_route_roles.py``); as with ``role_claim``'s routes, its
job checks the account and its role on the row it reads. Its path parameters are row ids, or a
``{token}`` (one path segment). A body, form or query is read into a pydantic model. An
unexpected exception goes on to the server's error middleware: a 500, logged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth.cookies import read_session
from server.auth.dependencies import verify_csrf
from server.errors import ExamError, NotSignedIn, invalid_input
from server.models import Role

Body = TypeVar("Body", bound=BaseModel)
# Called with the request, the session's claim (None on a public route without a session) and
# the path's parameters by name.
Endpoint = Callable[..., Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

# A lane route's path parameters are row ids (as many digits as a 64-bit id can have), but for
# a ``{token}``: one path segment, as Starlette's ``str`` parameters match, given as text.
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
_SEGMENTS = frozenset({"token"})
_ID_PATTERN = "[0-9]{1,18}"
_SEGMENT_PATTERN = "[^/]{1,256}"


@dataclass(frozen=True)
class LaneRoute:
    method: str
    path: str  # ``{name}`` for each parameter, as FastAPI writes it
    roles: frozenset[Role]  # none for a public route
    endpoint: Endpoint
    public: bool = False  # served without a session too, like FastAPI's ``Public`` routes
    # Segments a ``{token}`` never is: the literal paths of the router's routes beside it (the
    # lane answers before the router, which would have matched those first).
    not_tokens: frozenset[str] = frozenset()

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"^{_PLACEHOLDER.sub(self._parameter, re.escape(self.path))}$")

    def _parameter(self, found: re.Match[str]) -> str:
        name = found[1]
        if name not in _SEGMENTS:
            return f"(?P<{name}>{_ID_PATTERN})"
        others = "".join(f"(?!{re.escape(literal)}(?:/|$))" for literal in sorted(self.not_tokens))
        return f"{others}(?P<{name}>{_SEGMENT_PATTERN})"


class Lane:
    """The routes of the lane, declared by decorators like FastAPI's."""

    def __init__(self) -> None:
        self.routes: list[LaneRoute] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        roles: frozenset[Role] = frozenset(),
        public: bool = False,
        not_tokens: frozenset[str] = frozenset(),
    ) -> Callable[[Endpoint], Endpoint]:
        """A route for ``roles``, or, with ``public``, for anyone (the seat's sign-in)."""
        if bool(roles) == public:
            raise ValueError(f"{method} {path}: a lane route declares its roles, or is public")

        def register(endpoint: Endpoint) -> Endpoint:
            self.routes.append(LaneRoute(method, path, roles, endpoint, public, not_tokens))
            return endpoint

        return register


class LaneMiddleware:
    """Answers the lane's routes; every other request goes on to the app."""

    def __init__(self, app: ASGIApp, routes: Sequence[LaneRoute], on_error: ErrorHandler) -> None:
        self.app = app
        self.on_error = on_error
        by_method: dict[str, list[tuple[re.Pattern[str], LaneRoute]]] = {}
        for route in routes:
            by_method.setdefault(route.method, []).append((route.pattern, route))
        self._routes: Mapping[str, list[tuple[re.Pattern[str], LaneRoute]]] = by_method

    def _match(self, scope: Scope) -> tuple[LaneRoute, dict[str, int | str]] | None:
        # HEAD is answered as GET is, as Starlette's routes do (the server sends no body).
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        for pattern, route in self._routes.get(method, ()):
            found = pattern.match(scope["path"])
            if found is not None:
                return route, {
                    name: value if name in _SEGMENTS else int(value)
                    for name, value in found.groupdict().items()
                }
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope) if scope["type"] == "http" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, parameters = matched
        request = Request(scope, receive)
        try:
            await verify_csrf(request)
            claim = read_session(request, request.app.state.settings)
            if claim is None and not route.public:
                raise NotSignedIn()
            response = await route.endpoint(request, claim, **parameters)
        except ValidationError as invalid:
            response = await self.on_error(request, invalid_input(invalid.errors()))
        except ExamError as refusal:
            response = await self.on_error(request, refusal)
        await response(scope, receive, send)


async def json_body(request: Request, model: type[Body]) -> Body:
    """The request's JSON body as ``model``; a ``ValidationError`` says what is wrong."""
    return model.model_validate_json(await request.body())


def query_body(request: Request, model: type[Body]) -> Body:
    """The request's query parameters as ``model`` (a repeated one: its last value)."""
    return model.model_validate(dict(request.query_params))  # Starlette's keeps the last


async def form_body(request: Request, model: type[Body]) -> Body:
    """The request's form as ``model`` (its other fields, the CSRF token among them, ignored);
    a ``ValidationError`` says what is wrong. FastAPI's ``Form()`` parameters cost a form POST
    370 µs of dependency solving (docs/BENCHMARKS.md)."""
    return model.model_validate(dict(await request.form()))  # Starlette's keeps the last
