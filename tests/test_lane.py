"""The lane answers its routes before the router, with the app's refusals (``server.lane``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.app import handle_exam_error
from server.auth.cookies import CSRF_COOKIE, SESSION_COOKIE, SessionClaim, write_session
from server.config import Settings
from server.errors import Conflict
from server.lane import Lane, LaneMiddleware, form_body, json_body
from server.middleware import RequestContextMiddleware
from server.models import Role

STUDENTS = frozenset({Role.STUDENT})


class Note(BaseModel):
    seq: int = Field(ge=1)


class Mark(BaseModel):
    late: bool = False
    seq: int = Field(1, ge=1)


def _app(settings: Settings, handled: list[int]) -> FastAPI:
    lane = Lane()

    @lane.route("GET", "/things/{thing_id}", roles=STUDENTS)
    async def read(request: Request, claim: SessionClaim, thing_id: int) -> Response:
        handled.append(thing_id)
        return JSONResponse({"user": claim.user_id, "thing": thing_id})

    @lane.route("POST", "/things/{thing_id}/notes", roles=STUDENTS)
    async def write(request: Request, claim: SessionClaim, thing_id: int) -> Response:
        note = await json_body(request, Note)
        if note.seq == 13:
            raise Conflict()
        if note.seq == 99:
            raise RuntimeError("a bug")
        handled.append(note.seq)
        return Response(status_code=204)

    @lane.route("POST", "/things/{thing_id}/marks", roles=STUDENTS)
    async def mark(request: Request, claim: SessionClaim, thing_id: int) -> Response:
        form = await form_body(request, Mark)
        handled.append(form.seq)
        return JSONResponse({"late": form.late, "seq": form.seq})

    @lane.route("GET", "/shelves/{token}", public=True, not_tokens=frozenset({"index"}))
    async def shelf(request: Request, claim: SessionClaim | None, token: str) -> Response:
        handled.append(len(token))
        return JSONResponse({"token": token, "user": claim.user_id if claim else None})

    @lane.route("GET", "/things", roles=STUDENTS)
    async def index(request: Request, claim: SessionClaim) -> Response:
        handled.append(0)
        return JSONResponse({"user": claim.user_id})

    @lane.route("GET", "/things/{thing_id}/parts/{part_id}", roles=STUDENTS)
    async def part(request: Request, claim: SessionClaim, thing_id: int, part_id: int) -> Response:
        handled.append(part_id)
        return JSONResponse({"thing": thing_id, "part": part_id})

    app = FastAPI()
    app.state.settings = settings
    app.add_middleware(LaneMiddleware, routes=lane.routes, on_error=handle_exam_error)
    app.add_middleware(RequestContextMiddleware, settings=settings)

    @app.get("/shelves/index")
    async def shelves() -> dict[str, str]:
        return {"answered_by": "router"}

    @app.get("/things/{thing_id}/other")
    async def other(thing_id: int) -> dict[str, str]:
        return {"answered_by": "router"}

    return app


def _session_cookie(settings: Settings, user_id: int) -> str:
    response = Response()
    write_session(response, settings, user_id=user_id, pwd_hash="$argon2id$v=19$stored")
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].removeprefix(f"{SESSION_COOKIE}=")


@pytest.fixture
def handled() -> list[int]:
    return []


@pytest.fixture
def lane_client(settings: Settings, handled: list[int]) -> Iterator[TestClient]:
    with TestClient(
        _app(settings, handled), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        client.cookies.set(SESSION_COOKIE, _session_cookie(settings, 7))
        client.cookies.set(CSRF_COOKIE, "token")
        yield client


@pytest.mark.parametrize(
    ("path", "lane_answers"),
    [
        ("/things/12", True),
        ("/things/012", True),
        ("/things/" + "9" * 18, True),
        ("/things/" + "9" * 19, False),  # beyond any row id: not the lane's
        ("/things/abc", False),
        ("/things/", False),
        ("/things/12/", False),
        ("/things/12/other", False),
        ("/other/12", False),
        ("/things/12/parts/3", True),
        ("/things/12/parts/x", False),
    ],
)
def test_only_a_route_s_own_paths_take_the_lane(
    lane_client: TestClient, handled: list[int], path: str, lane_answers: bool
) -> None:
    response = lane_client.get(path, headers={"Accept": "application/json"})
    assert (handled != []) is lane_answers
    if lane_answers and "/parts/" in path:
        assert response.json() == {"thing": 12, "part": 3}  # each id by its name
    elif lane_answers:
        assert response.status_code == 200
        assert response.json() == {"user": 7, "thing": int(path.rsplit("/", 1)[1])}


@pytest.mark.parametrize(("path", "lane_answers"), [("/things", True), ("/things/", False)])
def test_a_path_without_ids_takes_the_lane(
    lane_client: TestClient, handled: list[int], path: str, lane_answers: bool
) -> None:
    response = lane_client.get(path)
    assert (handled == [0]) is lane_answers
    if lane_answers:
        assert response.json() == {"user": 7}


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/shelves/MQ.abc-_", {"token": "MQ.abc-_", "user": 7}),
        ("/shelves/indexes", {"token": "indexes", "user": 7}),
        ("/shelves/index", {"answered_by": "router"}),  # the router's own literal path
        ("/shelves/" + "x" * 257, None),  # longer than any token: not the lane's
    ],
)
def test_a_token_is_one_path_segment_given_as_text(
    lane_client: TestClient, path: str, answer: dict[str, object] | None
) -> None:
    response = lane_client.get(path)
    if answer is None:
        assert response.status_code == 404
    else:
        assert response.json() == answer


def test_a_public_route_is_served_without_a_session(lane_client: TestClient) -> None:
    lane_client.cookies.delete(SESSION_COOKIE)
    assert lane_client.get("/shelves/MQ.x").json() == {"token": "MQ.x", "user": None}
    assert lane_client.get("/things/1", headers={"Accept": "application/json"}).status_code == 401


def test_head_is_answered_as_get(lane_client: TestClient, handled: list[int]) -> None:
    response = lane_client.head("/things/5")
    assert response.status_code == 200
    assert response.content == b""
    assert handled == [5]


def test_a_page_without_a_session_goes_to_the_sign_in(lane_client: TestClient) -> None:
    lane_client.cookies.delete(SESSION_COOKIE)
    response = lane_client.get("/things", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/things"


def test_other_requests_go_on_to_the_router(lane_client: TestClient) -> None:
    assert lane_client.get("/things/12/other").json() == {"answered_by": "router"}
    # Another method on a lane route's path is the router's too (which has no such route).
    assert lane_client.post("/things/12", headers={"X-CSRF-Token": "token"}).status_code == 404


def test_a_lane_answer_carries_the_security_headers(lane_client: TestClient) -> None:
    response = lane_client.get("/things/1")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_without_a_session_the_refusal_is_in_the_user_s_language(
    lane_client: TestClient, handled: list[int]
) -> None:
    lane_client.cookies.delete(SESSION_COOKIE)
    response = lane_client.get(
        "/things/1", headers={"Accept": "application/json", "Accept-Language": "ru"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "NotSignedIn"
    assert response.json()["message"] == "Войдите в систему."
    assert handled == []


def test_a_session_signed_with_another_secret_is_not_a_session(
    lane_client: TestClient, handled: list[int], settings: Settings
) -> None:
    other = settings.model_copy(update={"secret_key": "another secret of thirty-two chars!!"})
    lane_client.cookies.set(SESSION_COOKIE, _session_cookie(other, 7))
    assert lane_client.get("/things/1").status_code == 401
    assert handled == []


@pytest.mark.parametrize("sent", [None, "", "another"])
def test_an_unsafe_request_must_echo_the_csrf_token(
    lane_client: TestClient, handled: list[int], sent: str | None
) -> None:
    headers = {"Accept": "application/json"} | ({} if sent is None else {"X-CSRF-Token": sent})
    response = lane_client.post("/things/1/notes", headers=headers, json={"seq": 1})
    assert response.status_code == 403
    assert response.json()["error"] == "CsrfFailed"
    assert handled == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"seq": 0}', "seq"),
        (b'{"seq": "one"}', "seq"),
        (b"{}", "seq"),
        (b'{"seq": 1', "request"),  # not JSON at all
        (b"", "request"),
    ],
)
def test_a_body_that_does_not_validate_is_refused_with_the_field(
    lane_client: TestClient, handled: list[int], body: bytes, field: str
) -> None:
    response = lane_client.post(
        "/things/1/notes",
        headers={"X-CSRF-Token": "token", "Accept": "application/json", "Accept-Language": "kk"},
        content=body,
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [field]
    assert response.json()["fields"][field] == "Бұл мән жарамсыз."
    assert handled == []


@pytest.mark.parametrize(
    ("form", "answer"),
    [
        ({}, {"late": False, "seq": 1}),
        ({"late": "true"}, {"late": True, "seq": 1}),
        ({"late": "false", "seq": "4"}, {"late": False, "seq": 4}),
        ({"late": "on", "other": "x"}, {"late": True, "seq": 1}),  # other fields ignored
        ({"seq": ["2", "3"]}, {"late": False, "seq": 3}),  # a repeated field: the last
    ],
)
def test_a_form_is_read_into_its_model(
    lane_client: TestClient, form: dict[str, object], answer: dict[str, object]
) -> None:
    """The CSRF token comes in the form itself, as a page's form sends it."""
    response = lane_client.post(
        "/things/1/marks",
        data={"csrf_token": "token", **form},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == answer


@pytest.mark.parametrize(("form", "field"), [({"late": "perhaps"}, "late"), ({"seq": "0"}, "seq")])
def test_a_form_that_does_not_validate_is_refused_with_the_field(
    lane_client: TestClient, handled: list[int], form: dict[str, str], field: str
) -> None:
    response = lane_client.post(
        "/things/1/marks",
        data={"csrf_token": "token", **form},
        headers={"Accept": "application/json", "Accept-Language": "ru"},
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [field]
    assert handled == []


def test_a_form_without_the_csrf_token_is_refused(
    lane_client: TestClient, handled: list[int]
) -> None:
    response = lane_client.post(
        "/things/1/marks", data={"late": "true"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert handled == []


def test_a_refusal_of_the_handler_is_the_app_s_refusal(lane_client: TestClient) -> None:
    response = lane_client.post(
        "/things/1/notes",
        headers={"X-CSRF-Token": "token", "Accept": "application/json"},
        json={"seq": 13},
    )
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"


def test_an_unexpected_error_is_a_server_error(lane_client: TestClient) -> None:
    response = lane_client.post(
        "/things/1/notes",
        headers={"X-CSRF-Token": "token", "Accept": "application/json"},
        json={"seq": 99},
    )
    assert response.status_code == 500


@pytest.mark.parametrize(
    ("roles", "public"), [(frozenset(), False), (STUDENTS, True)], ids=["neither", "both"]
)
def test_a_lane_route_declares_its_roles_or_is_public(roles: frozenset[Role], public: bool) -> None:
    with pytest.raises(ValueError, match="declares its roles, or is public"):
        Lane().route("GET", "/things/{thing_id}", roles=roles, public=public)
