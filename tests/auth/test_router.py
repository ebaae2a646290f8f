"""Signing in and out, rate limiting, CSRF, roles, passwords and the language switch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.passwords import verify_password
from server.db import utcnow
from server.models import AuditEntry, Language, LoginFailure, Role
from tests.factories import PASSWORD, create_user, csrf, sign_in


def test_sign_in_sets_hardened_session_cookie(client: TestClient, db: Session) -> None:
    user = create_user(db, role=Role.REGISTRAR)
    response = client.post(
        "/login",
        data={
            "login": user.login,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "/registrar",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/registrar"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("emtihan_session=")
    )
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/registrar").status_code == 200


def test_wrong_password_is_refused_and_recorded(client: TestClient, db: Session) -> None:
    user = create_user(db)
    response = client.post(
        "/login", data={"login": user.login, "password": "Wrong#pass1", "csrf_token": csrf(client)}
    )
    assert response.status_code == 401
    assert "not correct" in response.text
    assert db.execute(select(LoginFailure).where(LoginFailure.login == user.login)).first()
    assert db.execute(select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")).first()


def test_unknown_login_gets_the_same_refusal(client: TestClient) -> None:
    response = client.post(
        "/login", data={"login": "nobody", "password": "Wrong#pass1", "csrf_token": csrf(client)}
    )
    assert response.status_code == 401
    assert "The login or password is not correct." in response.text


def test_repeated_failures_lock_the_login(client: TestClient, db: Session) -> None:
    user = create_user(db)
    token = csrf(client)
    for _ in range(5):
        client.post(
            "/login", data={"login": user.login, "password": "Wrong#pass1", "csrf_token": token}
        )
    response = client.post(
        "/login",
        data={"login": user.login, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert "emtihan_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, db: Session, token: str | None
) -> None:
    user = create_user(db)
    csrf(client)
    data = {"login": user.login, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "did not come from this site" in response.json()["message"]
    assert "emtihan_session" not in response.headers.get("set-cookie", "")


def test_csrf_header_is_accepted_for_htmx_requests(client: TestClient, db: Session) -> None:
    user = create_user(db)
    sign_in(client, user)
    response = client.post(
        "/language",
        data={"language": "ru"},
        headers={"x-csrf-token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (Role.STUDENT, "/registrar", 403),
        (Role.PROCTOR, "/registrar/roster", 403),
        (Role.APPEALS_CHAIR, "/registrar/exams/new", 403),
        (Role.REGISTRAR, "/registrar", 200),
        (Role.ADMIN, "/registrar", 200),
    ],
)
def test_pages_need_their_role(
    client: TestClient, db: Session, role: Role, path: str, status: int
) -> None:
    sign_in(client, create_user(db, role=role))
    response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == status
    if status == 403:
        assert "You do not have permission" in response.text


def test_anonymous_browser_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/registrar", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/registrar"


def test_anonymous_api_client_gets_401(client: TestClient) -> None:
    response = client.get("/registrar")
    assert response.status_code == 401
    assert response.json()["error"] == "NotSignedIn"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_sign_in_never_redirects_off_site(client: TestClient, db: Session, target: str) -> None:
    user = create_user(db)
    response = client.post(
        "/login",
        data={
            "login": user.login,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_expired_staff_password_must_be_changed(client: TestClient, db: Session) -> None:
    user = create_user(db, role=Role.REGISTRAR, changed_at=utcnow() - timedelta(days=43))
    sign_in(client, user)
    response = client.get("/registrar", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/password"
    assert client.get("/account/password").status_code == 200


def test_password_change_enforces_the_policy(client: TestClient, db: Session) -> None:
    user = create_user(db)
    sign_in(client, user)
    response = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "short", "repeat": "short", "csrf_token": csrf(client)},
    )
    assert response.status_code == 422
    for problem in ("at least 8 characters", "digit", "capital", "special"):
        assert problem in response.text
    db.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_password_change_keeps_this_browser_signed_in(client: TestClient, db: Session) -> None:
    user = create_user(db)
    sign_in(client, user)
    response = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "Brand#New42",
            "repeat": "Brand#New42",
            "csrf_token": csrf(client),
        },
    )
    assert response.status_code == 200
    assert "has been changed" in response.text
    assert client.get("/account").status_code == 200
    db.refresh(user)
    assert verify_password(user.password_hash, "Brand#New42")


def test_password_change_signs_out_other_browsers(app, db: Session) -> None:  # type: ignore[no-untyped-def]
    user = create_user(db)
    with (
        TestClient(app, base_url="https://testserver") as first,
        TestClient(app, base_url="https://testserver") as second,
    ):
        sign_in(first, user)
        sign_in(second, user)
        first.post(
            "/account/password",
            data={
                "current": PASSWORD,
                "new": "Brand#New42",
                "repeat": "Brand#New42",
                "csrf_token": csrf(first),
            },
        )
        assert second.get("/account").status_code == 401


def test_sign_out(client: TestClient, db: Session) -> None:
    sign_in(client, create_user(db))
    response = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/account").status_code == 401


def test_language_switch_is_remembered_per_user(client: TestClient, db: Session) -> None:
    user = create_user(db, locale=Language.EN)
    sign_in(client, user)
    response = client.post(
        "/language",
        data={"language": "kk", "next": "/account", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    db.refresh(user)
    assert user.locale is Language.KK
    assert client.cookies["emtihan_lang"] == "kk"


def test_unknown_language_is_refused(client: TestClient, db: Session) -> None:
    user = create_user(db, locale=Language.EN)
    sign_in(client, user)
    response = client.post("/language", data={"language": "de", "csrf_token": csrf(client)})
    assert response.status_code == 422
    db.refresh(user)
    assert user.locale is Language.EN


def test_sign_in_takes_the_users_language(client: TestClient, db: Session) -> None:
    user = create_user(db, locale=Language.RU)
    sign_in(client, user)
    assert client.cookies["emtihan_lang"] == "ru"
