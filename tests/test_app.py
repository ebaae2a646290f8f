"""The application's routes: each one is reached by its own requests, whatever the order."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
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


def test_opentelemetry_is_not_asked_about_unless_switched_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = trace.get_tracer_provider

    def get_tracer_provider() -> trace.TracerProvider:
        asked.append("tracer provider")
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", get_tracer_provider)
    for switched_on, expected in ((False, []), (True, ["tracer provider"])):
        asked.clear()
        app = create_app(settings.model_copy(update={"opentelemetry": switched_on}))
        with TestClient(app) as client:
            asked.clear()  # starting up may look once
            assert client.get("/no-such-page").status_code == 404
        assert asked[:1] == expected
