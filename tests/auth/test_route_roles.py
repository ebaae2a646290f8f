"""Every route declares who may call it: a role dependency, or the explicit ``Public`` marker.

The lane's routes (``server.lane``), answered before the router, declare their roles too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount

from server.auth.dependencies import ROLE_MARKER
from server.lane import LaneMiddleware, LaneRoute
from server.models import Role


def _declared(dependant: Dependant) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        if sub.call is not None and hasattr(sub.call, ROLE_MARKER):
            found.append(getattr(sub.call, ROLE_MARKER))
        found.extend(_declared(sub))
    return found


def all_routes(app: FastAPI) -> list[tuple[str, Any]]:
    """(full path, route) for every route, including those of included routers."""
    return [
        (str(context.path), context.original_route) for context in iter_route_contexts(app.routes)
    ]


def routes_without_role(app: FastAPI) -> list[str]:
    missing = []
    for path, route in all_routes(app):
        if isinstance(route, Mount):
            continue  # static files: no code of ours runs behind them
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            if not _declared(route.dependant):
                missing.append(path)
        else:
            missing.append(f"unexpected route type {type(route).__name__} at {path}")
    return missing


def test_every_route_declares_its_role(app: FastAPI) -> None:
    assert len(all_routes(app)) > 10
    assert routes_without_role(app) == []


def test_the_check_catches_an_undeclared_route(app: FastAPI) -> None:
    @app.get("/unguarded-for-test")
    def unguarded() -> dict[str, str]:
        return {}

    assert routes_without_role(app) == ["/unguarded-for-test"]


def test_only_the_expected_routes_are_public(app: FastAPI) -> None:
    public = sorted(
        path
        for path, route in all_routes(app)
        if isinstance(route, APIRoute) and None in _declared(route.dependant)
    )
    # The seat's start page is public: the workstation shows it before anyone signs in.
    # So are a workstation's enrolment (it has no user yet) and its heartbeat.
    assert public == [
        "/healthz",
        "/language",
        "/login",
        "/login",
        "/rooms/{room_code}/enrol",
        "/rooms/{room_code}/enrol",
        "/rooms/{room_code}/enrol/status",
        "/seat",
        "/seat/heartbeat",
    ]
    # The seat's sign-in is on the lane: the start page, the password's key, the sign-in.
    assert sorted((r.method, r.path) for r in lane_routes(app) if r.public) == [
        ("GET", "/seat/{token}"),
        ("GET", "/seat/{token}/password-key"),
        ("POST", "/seat/{token}"),
    ]


def lane_routes(app: FastAPI) -> list[LaneRoute]:
    found: list[LaneRoute] = []
    for middleware in app.user_middleware:
        if middleware.cls is LaneMiddleware:  # type: ignore[comparison-overlap]
            found.extend(middleware.kwargs["routes"])  # type: ignore[unreachable]
    return found


def test_the_lane_serves_the_exam_page_to_students_and_the_admission_to_proctors(
    app: FastAPI,
) -> None:
    declared = sorted(
        (route.method, route.path, route.roles) for route in lane_routes(app) if not route.public
    )
    students = frozenset({Role.STUDENT})
    proctors = frozenset({Role.PROCTOR, Role.ADMIN})
    assert declared == [
        ("GET", "/exam", students),
        ("GET", "/exam/attempts/{attempt_id}/status", students),
        ("POST", "/exam/attempts/{attempt_id}/saves", students),
        ("POST", "/exam/attempts/{attempt_id}/signals", students),
        ("POST", "/exam/attempts/{attempt_id}/window", students),
        ("POST", "/proctor/exams/{exam_id}/rooms/{room_id}/admit/{attempt_id}", proctors),
    ]
    # None of them is also a route of the router, which would never be reached.
    paths = {path for path, _ in all_routes(app)}
    assert paths.isdisjoint(route.path for route in lane_routes(app))
