"""The application's routes: each one is reached by its own requests, whatever the order."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from server.app import create_app
from server.config import Settings


def _in_order(app: FastAPI) -> list[BaseRoute]:
    """The routes as a request is matched against them: each included router's in turn."""
    routes: list[BaseRoute] = []
    for route in app.router.routes:
        inner = getattr(route, "original_router", None)
        routes.extend(inner.routes if inner is not None else [route])
    return routes


def _example(path: str) -> str:
    """A path the route's pattern matches: every parameter a number."""
    return re.sub(r"\{[^}]+\}", "7", path)


def test_every_route_is_the_first_to_match_its_own_requests(settings: Settings) -> None:
    routes = [route for route in _in_order(create_app(settings)) if isinstance(route, Route)]
    for route in routes:
        for method in sorted(route.methods or ()):
            path = _example(route.path)
            first = next(
                other
                for other in routes
                if other.path_regex.match(path) and method in (other.methods or ())
            )
            # e.g. the seat's POST /seat/{token} before the enrolment's POST /seat/heartbeat
            assert first is route, f"{method} {path} reaches {first.path}, not {route.path}"
