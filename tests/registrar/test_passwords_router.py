"""The registrar's password pages: slips shown once, resets per student, the CLI's CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from server.auth.passwords import UNUSABLE_PASSWORD, verify_password
from server.cli import app as cli
from server.db import create_db_engine, make_sessionmaker
from server.models import Role, Student, StudentGroup, User
from tests.factories import create_group, create_student, create_user, csrf, sign_in

SLIP_PASSWORD = re.compile(r'<dd class="code password">([^<]+)</dd>')


def slip_passwords(page: str) -> list[str]:
    return [html.unescape(found) for found in SLIP_PASSWORD.findall(page)]


def create_student_without_password(db: Session, *, group: StudentGroup) -> Student:
    student = create_student(db, group=group)
    assert student.user is not None
    student.user.password_hash = UNUSABLE_PASSWORD
    db.flush()
    return student


@pytest.fixture
def registrar(client: TestClient, db: Session) -> User:
    user = create_user(db, role=Role.REGISTRAR)
    sign_in(client, user)
    return user


@pytest.mark.usefixtures("registrar")
def test_the_group_page_lists_who_has_a_password(client: TestClient, db: Session) -> None:
    group = create_group(db)
    waiting = create_student_without_password(db, group=group)
    done = create_student(db, group=group)

    response = client.get("/registrar/passwords")
    assert response.status_code == 200
    assert f'<option value="{group.code}"' in response.text

    response = client.get("/registrar/passwords", params={"group": group.code})
    assert response.status_code == 200
    assert "1 student has no password yet." in response.text
    assert waiting.id_code in response.text
    assert f'aria-label="Reset the password of {done.full_name}"' in response.text
    assert f'aria-label="Reset the password of {waiting.full_name}"' not in response.text


@pytest.mark.usefixtures("registrar")
def test_slips_show_each_password_once_and_are_not_cached(client: TestClient, db: Session) -> None:
    group = create_group(db)
    students = [create_student_without_password(db, group=group) for _ in range(3)]

    response = client.post(
        "/registrar/passwords", data={"group": group.code, "csrf_token": csrf(client)}
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert '<link rel="stylesheet" href="/static/css/slips.css">' in response.text
    shown = slip_passwords(response.text)
    assert len(shown) == 3
    for student in students:
        db.refresh(student)
        assert student.user is not None
        assert student.id_code in response.text
        assert student.full_name in response.text
        assert sum(verify_password(student.user.password_hash, p) for p in shown) == 1
    # Shown once: neither the group's page nor a second issue gives them again.
    group_page = client.get("/registrar/passwords", params={"group": group.code}).text
    again = client.post(
        "/registrar/passwords", data={"group": group.code, "csrf_token": csrf(client)}
    )
    for password in shown:
        assert html.escape(password) not in group_page
        assert html.escape(password) not in again.text
    assert slip_passwords(again.text) == []
    assert "No new passwords" in again.text
    assert "3 students already had a password; they were left unchanged." in again.text


@pytest.mark.usefixtures("registrar")
def test_reset_gives_one_new_slip_and_the_student_signs_in_with_it(
    client: TestClient, db: Session
) -> None:
    group = create_group(db)
    student = create_student(db, group=group)

    response = client.post(
        "/registrar/passwords/reset",
        data={"id_code": student.id_code, "csrf_token": csrf(client)},
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    (password,) = slip_passwords(response.text)
    with TestClient(client.app, base_url="https://testserver") as seat:
        refused = seat.post(
            "/login",
            data={"login": student.id_code, "password": "Correct#Horse9", "csrf_token": csrf(seat)},
            follow_redirects=False,
        )
        assert refused.status_code == 401  # the old password is gone
        signed_in = seat.post(
            "/login",
            data={"login": student.id_code, "password": password, "csrf_token": csrf(seat)},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303


@pytest.mark.usefixtures("registrar")
def test_unknown_group_or_student_is_404(client: TestClient) -> None:
    response = client.post(
        "/registrar/passwords",
        data={"group": "NO-SUCH", "csrf_token": csrf(client)},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 404
    assert "There is no group NO-SUCH." in response.text
    response = client.post(
        "/registrar/passwords/reset", data={"id_code": "NOBODY", "csrf_token": csrf(client)}
    )
    assert response.status_code == 404
    response = client.get("/registrar/passwords", params={"group": "NO-SUCH"})
    assert response.status_code == 404


@pytest.mark.usefixtures("registrar")
def test_issuing_needs_the_csrf_token(client: TestClient, db: Session) -> None:
    group = create_group(db)
    student = create_student_without_password(db, group=group)
    response = client.post("/registrar/passwords", data={"group": group.code})
    assert response.status_code == 403
    db.refresh(student)
    assert student.user is not None
    assert student.user.password_hash == UNUSABLE_PASSWORD


@pytest.mark.parametrize("role", [Role.PROCTOR, Role.STUDENT, Role.DEPARTMENT_HEAD])
def test_only_the_registrars_office_issues_passwords(
    client: TestClient, db: Session, role: Role
) -> None:
    group = create_group(db)
    create_student_without_password(db, group=group)
    sign_in(client, create_user(db, role=role))
    assert client.get("/registrar/passwords").status_code == 403
    response = client.post(
        "/registrar/passwords", data={"group": group.code, "csrf_token": csrf(client)}
    )
    assert response.status_code == 403
    response = client.post(
        "/registrar/passwords/reset", data={"id_code": "X", "csrf_token": csrf(client)}
    )
    assert response.status_code == 403


@pytest.fixture
def cli_sessions(cli_database: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(cli_database)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_cli_prints_the_new_passwords_once_as_csv(cli_sessions: sessionmaker[Session]) -> None:
    with cli_sessions() as db:
        group = create_group(db, code="CLI-1")
        waiting = create_student_without_password(db, group=group)
        create_student(db, group=group)
        db.commit()

    result = CliRunner().invoke(cli, ["roster", "passwords", "--group", "CLI-1"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["id_code"], r["group"]) for r in rows] == [(waiting.id_code, "CLI-1")]
    assert "issued 1 first passwords in group CLI-1; 1 students already had one" in result.stderr
    with cli_sessions() as db:
        stored = db.execute(select(User.password_hash).where(User.login == waiting.id_code))
        assert verify_password(stored.scalar_one(), rows[0]["password"])

    again = CliRunner().invoke(cli, ["roster", "passwords", "--group", "CLI-1"])
    assert again.exit_code == 0
    assert again.stdout == "id_code,full_name,group,password\n"

    unknown = CliRunner().invoke(cli, ["roster", "passwords", "--group", "NOPE"])
    assert unknown.exit_code == 1
    assert "There is no group NOPE." in unknown.stderr
