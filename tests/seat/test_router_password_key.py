"""The seat's sign-in with the password's key, which the page derives on the workstation.

The server gives the salt and costs for an ID code (the same kind of answer for one that does not
exist), and checks a key with one SHA-256: no argon2 runs on the server for it.
"""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth import service as auth_service
from server.auth.passwords import KeyDerivation, current_derivation, derive_key, parse_hash
from server.config import Settings
from server.models import LoginFailure, User
from server.seat.links import seat_token
from tests import factories
from tests.seat.factories import World, create_world


@pytest.fixture
def world(db: Session) -> World:
    return create_world(db)


def _token(settings: Settings, world: World) -> str:
    return seat_token(settings, world.seats[0].id)


def _ask(client: TestClient, settings: Settings, world: World, id_code: str) -> httpx.Response:
    return client.get(
        f"/seat/{_token(settings, world)}/password-key",
        params={"id_code": id_code},
        headers={"Accept": "application/json"},
    )


def _sign_in(client: TestClient, settings: Settings, world: World, **fields: str) -> httpx.Response:
    token = _token(settings, world)
    client.get(f"/seat/{token}")
    return client.post(
        f"/seat/{token}",
        data={
            "id_code": world.student.id_code,
            "language": "en",
            "csrf_token": factories.csrf(client),
            **fields,
        },
        follow_redirects=False,
    )


def _page_key(client: TestClient, settings: Settings, world: World, password: str) -> str:
    """What the page's script does: ask for the derivation, derive the key, base64."""
    answer = _ask(client, settings, world, world.student.id_code).json()
    return base64.b64encode(derive_key(password, KeyDerivation.of_json(answer))).decode("ascii")


def _failures(db: Session, login: str) -> int:
    query = select(func.count()).select_from(LoginFailure).where(LoginFailure.login == login)
    return db.execute(query).scalar_one()


def test_the_sign_in_page_may_run_webassembly_and_no_other_page_may(
    client: TestClient, settings: Settings, world: World
) -> None:
    token = _token(settings, world)
    page = client.get(f"/seat/{token}")
    assert page.status_code == 200
    assert "script-src 'self' 'wasm-unsafe-eval';" in page.headers["content-security-policy"]
    assert f'data-password-key="/seat/{token}/password-key"' in page.text
    assert 'name="password_key"' in page.text
    assert "/static/js/seat-sign-in.js" in page.text
    refused = _sign_in(client, settings, world, password="Wrong#Pass1")
    assert refused.status_code == 401
    assert "'wasm-unsafe-eval'" in refused.headers["content-security-policy"]
    login = client.get("/login")
    assert "script-src 'self';" in login.headers["content-security-policy"]
    assert "wasm" not in login.headers["content-security-policy"]


def test_a_student_is_given_their_stored_salt_and_costs(
    client: TestClient, settings: Settings, world: World, db: Session
) -> None:
    answer = _ask(client, settings, world, world.student.id_code)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    user = db.get_one(User, world.student.user_id)
    stored, _ = parse_hash(user.password_hash)
    assert answer.json()["algorithm"] == "argon2id"
    assert answer.json()["key_length"] == 32
    assert KeyDerivation.of_json(answer.json()) == stored


def test_an_unknown_id_code_gets_an_answer_like_a_known_one(
    client: TestClient, settings: Settings, world: World
) -> None:
    first = _ask(client, settings, world, "999999999999")
    again = _ask(client, settings, world, "999999999999")
    other = _ask(client, settings, world, "999999999998")
    known = _ask(client, settings, world, world.student.id_code)
    assert first.status_code == 200
    assert first.json() == again.json()
    assert first.json()["salt"] != other.json()["salt"]
    assert set(first.json()) == set(known.json())
    assert len(base64.b64decode(first.json()["salt"])) == 16
    made_up = KeyDerivation.of_json(first.json())
    assert made_up == current_derivation(made_up.salt)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        pytest.param("/seat/forged/password-key", {"id_code": "1"}, 404, id="forged-seat"),
        pytest.param(None, {}, 422, id="no-id-code"),
        pytest.param(None, {"id_code": ""}, 422, id="empty-id-code"),
        pytest.param(None, {"id_code": "1" * 65}, 422, id="id-code-too-long"),
    ],
)
def test_a_bad_ask_is_refused_in_the_user_s_language(
    client: TestClient,
    settings: Settings,
    world: World,
    path: str | None,
    params: dict[str, str],
    status: int,
) -> None:
    url = path or f"/seat/{_token(settings, world)}/password-key"
    headers = {"Accept-Language": "ru", "Accept": "application/json"}
    refused = client.get(url, params=params, headers=headers)
    assert refused.status_code == status
    assert re.search("[а-я]{4}", refused.json()["message"])  # said in Russian
    if status == 422:
        assert set(refused.json()["fields"]) == {"id_code"}


def test_the_key_signs_in_without_argon2_on_the_server(
    client: TestClient,
    settings: Settings,
    world: World,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _page_key(client, settings, world, factories.PASSWORD)

    def no_argon2(*_: object) -> object:
        raise AssertionError("the server derived a key")

    monkeypatch.setattr(auth_service, "verify_password", no_argon2)
    signed = _sign_in(client, settings, world, password_key=key)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/exam"
    assert _failures(db, world.student.id_code) == 0
    assert client.get("/exam").status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"password_key": "WRONG"}, id="a-key-of-another-password"),
        pytest.param({"password_key": "not base64!"}, id="not-base64"),
        pytest.param({"password_key": base64.b64encode(b"short").decode()}, id="too-short"),
        pytest.param({"password_key": "", "password": ""}, id="neither"),
    ],
)
def test_a_wrong_key_is_refused_and_counted(
    client: TestClient, settings: Settings, world: World, db: Session, fields: dict[str, str]
) -> None:
    if fields.get("password_key") == "WRONG":
        fields = {"password_key": _page_key(client, settings, world, "Wrong#Pass1")}
    refused = _sign_in(client, settings, world, **fields)
    assert refused.status_code == 401
    assert "seat" in refused.text  # the form again
    assert _failures(db, world.student.id_code) == 1
    assert client.get("/exam", follow_redirects=False).status_code in (303, 401)


def test_the_password_still_signs_in_where_the_page_cannot_derive_the_key(
    client: TestClient, settings: Settings, world: World
) -> None:
    assert _sign_in(client, settings, world, password=factories.PASSWORD).status_code == 303


def test_wrong_keys_count_towards_the_same_limit_as_wrong_passwords(
    client: TestClient, settings: Settings, world: World
) -> None:
    wrong = _page_key(client, settings, world, "Wrong#Pass1")
    for _ in range(settings.login_max_failures):
        assert _sign_in(client, settings, world, password_key=wrong).status_code == 401
    right = _page_key(client, settings, world, factories.PASSWORD)
    assert _sign_in(client, settings, world, password_key=right).status_code == 429
