"""The seat over HTTP: a whole attempt, refusals in the user's language, and no key leaks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import Attempt, AttemptState, ItemOption, Role
from server.seat.links import seat_token
from tests import factories
from tests.seat.factories import World, create_world

# What a key could look like if it slipped into a page or a JSON answer.
LEAKS = re.compile(
    r"fraction|is_?correct|data-(?:key|correct|score|weight)|\"(?:key|score|weight)\"\s*:|"
    r"class=\"[^\"]*\b(?:correct|right|wrong)\b",
    re.IGNORECASE,
)


class Seen:
    """Every response a student's browser received."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    def add(self, response: httpx.Response) -> httpx.Response:
        self.bodies.append(
            (f"{response.request.method} {response.request.url.path}", response.text)
        )
        return response


def _sign_in_at_seat(
    client: TestClient, settings: Settings, world: World, seen: Seen, *, language: str = "en"
) -> httpx.Response:
    token = seat_token(settings, world.seats[0].id)
    seen.add(client.get(f"/seat/{token}"))
    return seen.add(
        client.post(
            f"/seat/{token}",
            data={
                "id_code": world.student.id_code,
                "password": factories.PASSWORD,
                "language": language,
                "csrf_token": factories.csrf(client),
            },
            follow_redirects=False,
        )
    )


def _admit(db: Session, world: World) -> Attempt:
    attempt = db.execute(select(Attempt).where(Attempt.student_id == world.student.id)).scalar_one()
    attempt.state = AttemptState.ADMITTED
    attempt.admitted_at = utcnow()
    db.flush()
    return attempt


@pytest.fixture
def late_world(db: Session) -> World:
    # Started a minute ago: the student signs in late and the proctor permits it, so the whole
    # attempt runs now, on the real clock.
    return create_world(db, start=utcnow() - timedelta(minutes=1))


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": factories.csrf(client), "Accept": "application/json"}


def test_a_whole_attempt_over_http_leaks_no_key(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    seen = Seen()
    response = _sign_in_at_seat(client, settings, late_world, seen)
    assert response.status_code == 303
    assert response.headers["location"] == "/exam"
    waiting = seen.add(client.get("/exam"))
    assert "proctor" in waiting.text
    attempt = _admit(db, late_world)
    page = seen.add(client.get("/exam"))
    assert page.status_code == 200
    assert 'id="attempt"' in page.text
    window = seen.add(client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)))
    client_token = window.json()["client"]
    seq = window.json()["last_seq"]
    for question in attempt.paper:
        seq += 1
        saved = seen.add(
            client.post(
                f"/exam/attempts/{attempt.id}/saves",
                headers=_headers(client),
                json={
                    "client": client_token,
                    "seq": seq,
                    "question": question.position,
                    "answer": [question.option_order[0]],
                    "flagged": question.position == 3,
                    "answered_at_ms": int(utcnow().timestamp() * 1000),
                },
            )
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["status"] == "saved"
    seen.add(client.get(f"/exam/attempts/{attempt.id}/status"))
    seen.add(
        client.post(
            f"/exam/attempts/{attempt.id}/signals",
            headers=_headers(client),
            json={"client": client_token, "kind": "focus_lost"},
        )
    )
    reloaded = seen.add(client.get("/exam"))
    assert reloaded.text.count("checked") >= 25
    confirm = seen.add(client.get(f"/exam/attempts/{attempt.id}/finish"))
    assert "All 25 questions are answered" in confirm.text
    done = seen.add(
        client.post(
            f"/exam/attempts/{attempt.id}/finish",
            data={"csrf_token": factories.csrf(client)},
        )
    )
    assert done.status_code == 200
    assert "Your result" in done.text
    seen.add(client.get(f"/exam/attempts/{attempt.id}/status"))

    for where, body in seen.bodies:
        match = LEAKS.search(body)
        assert match is None, f"{where} shows {match.group(0)!r}"


def _masked(text: str) -> str:
    return re.sub(r'(data-server-ms|value|data-csrf)="[^"]*"', r'\1=""', text)


def test_the_paper_page_is_the_same_whatever_the_keys(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    before = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    # Make the last option of every item the right one instead of the first.
    db.execute(update(ItemOption).values(fraction=0))
    for version in late_world.bank:
        db.execute(
            update(ItemOption).where(ItemOption.id == version.options[-1].id).values(fraction=1)
        )
    db.flush()
    after = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    assert [_masked(t) for t in after] == [_masked(t) for t in before]


def test_options_appear_in_the_stored_shuffled_order(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    page = client.get("/exam").text
    for question in attempt.paper:
        shown = re.findall(rf'name="q{question.position}" value="(\d+)"', page)
        assert [int(v) for v in shown] == question.option_order
    assert any(q.option_order != sorted(q.option_order) for q in attempt.paper)


def test_refusals_reach_the_student_in_their_language(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    refused = world.new_student(db, debt=True)
    world.student = refused
    response = _sign_in_at_seat(client, settings, world, Seen(), language="ru")
    assert response.status_code == 403
    assert "задолженность" in response.text.lower()


def test_someone_elses_attempt_is_not_found(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    other = late_world.new_student(db)
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    client.cookies.clear()
    late_world.student = other
    _sign_in_at_seat(client, settings, late_world, Seen())
    for method, path in [
        ("GET", f"/exam/attempts/{attempt.id}/status"),
        ("POST", f"/exam/attempts/{attempt.id}/window"),
        ("GET", f"/exam/attempts/{attempt.id}/finish"),
    ]:
        response = client.request(method, path, headers=_headers(client))
        assert response.status_code == 404, path


def test_a_second_window_takes_over_and_the_first_is_refused(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    first = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    second = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    body: dict[str, Any] = {
        "client": first["client"],
        "seq": 1,
        "question": 1,
        "answer": [],
        "answered_at_ms": int(utcnow().timestamp() * 1000),
    }
    refused = client.post(f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json=body)
    assert refused.status_code == 409
    assert refused.json()["code"] == "window_replaced"
    body["client"] = second["client"]
    accepted = client.post(
        f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json=body
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"seq": 0},
        {"seq": "one"},
        {"question": 0},
        {"answer": "1"},
        {"answered_at_ms": -1},
    ],
)
def test_malformed_saves_are_refused_with_the_field(
    client: TestClient, db: Session, settings: Settings, late_world: World, body: dict[str, Any]
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    good = {"client": "x", "seq": 1, "question": 1, "answer": [], "answered_at_ms": 1}
    response = client.post(
        f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json={**good, **body}
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {f"body.{next(iter(body))}"} or set(
        response.json()["fields"]
    ) == {next(iter(body))}


def test_students_cannot_open_the_proctors_pages(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    response = client.get("/proctor", headers={"Accept": "application/json"})
    assert response.status_code == 403


def test_the_proctor_admits_from_the_room_page(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    _sign_in_at_seat(client, settings, world, Seen())
    attempt = db.execute(select(Attempt).where(Attempt.student_id == world.student.id)).scalar_one()
    client.cookies.clear()
    proctor = factories.create_user(db, role=Role.PROCTOR)
    factories.sign_in(client, proctor)
    url = f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}"
    page = client.get(url)
    assert world.student.id_code in page.text
    assert "PC-01" in page.text
    response = client.post(f"{url}/admit/{attempt.id}", data={"csrf_token": factories.csrf(client)})
    assert response.status_code == 200
    db.refresh(attempt)
    assert attempt.state == AttemptState.ADMITTED
    assert attempt.admitted_by_id == proctor.id


def test_a_forged_seat_link_is_refused(client: TestClient) -> None:
    response = client.get("/seat/not-a-real-token")
    assert response.status_code == 404
