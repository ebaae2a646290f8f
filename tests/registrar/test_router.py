"""The registrar's pages over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import Exam, Role, Student
from server.web import local_time
from tests.factories import (
    create_discipline,
    create_enrolment,
    create_exam,
    create_exam_session,
    create_group,
    create_room,
    create_student,
    create_term,
    create_user,
    csrf,
    sign_in,
)

HEADER = "id_code,full_name,group,discipline,r1,r2,attendance_percent,tuition_debt\n"


@pytest.fixture
def registrar(client: TestClient, db: Session) -> None:
    sign_in(client, create_user(db, role=Role.REGISTRAR))


@pytest.mark.usefixtures("registrar")
def test_roster_upload_shows_errors_and_stores_nothing(client: TestClient, db: Session) -> None:
    term = create_term(db)
    create_group(db, code="RG-1")
    create_discipline(db, code="RD-1")
    before = db.execute(select(func.count()).select_from(Student)).scalar_one()
    data = (HEADER + "Y0001,A,RG-1,RD-1,50,50,90,no\nY0002,B,RG-1,RD-1,130,50,90,no\n").encode()
    response = client.post(
        "/registrar/roster",
        data={"term": term.code, "csrf_token": csrf(client)},
        files={"file": ("roster.csv", data, "text/csv")},
        headers={"hx-request": "true"},
    )
    assert response.status_code == 422
    assert "Nothing was changed" in response.text
    assert "<td>3</td><td>r1</td>" in response.text
    assert "<html" not in response.text  # htmx got only the result block
    assert db.execute(select(func.count()).select_from(Student)).scalar_one() == before


@pytest.mark.usefixtures("registrar")
def test_roster_upload_imports(client: TestClient, db: Session) -> None:
    term = create_term(db)
    create_group(db, code="RG-2")
    create_discipline(db, code="RD-2")
    data = (HEADER + "Y0101,A,RG-2,RD-2,50,50,90,no\n").encode()
    response = client.post(
        "/registrar/roster",
        data={"term": term.code, "csrf_token": csrf(client)},
        files={"file": ("roster.csv", data, "text/csv")},
    )
    assert response.status_code == 200
    assert "Imported 1 rows" in response.text


@pytest.mark.usefixtures("registrar")
def test_roster_template_download(client: TestClient) -> None:
    response = client.get("/registrar/roster/template.csv")
    assert response.status_code == 200
    assert response.text.startswith("id_code,full_name,group,discipline")


@pytest.mark.usefixtures("registrar")
def test_schedule_exam_form_round_trip(client: TestClient, db: Session) -> None:
    session = create_exam_session(db)
    discipline = create_discipline(db)
    group = create_group(db)
    room = create_room(db)
    assert client.get("/registrar/exams/new").status_code == 200
    start = local_time(utcnow() + timedelta(days=2), "Asia/Almaty").replace(" ", "T")
    response = client.post(
        "/registrar/exams",
        data={
            "title": "Algebra final",
            "exam_session": session.id,
            "start": start,
            "disciplines": [discipline.id],
            "groups": [group.id],
            "rooms": [room.id],
            "csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    exam = db.execute(select(Exam).where(Exam.title == "Algebra final")).scalar_one()
    assert response.headers["location"] == f"/registrar/exams/{exam.id}"


@pytest.mark.usefixtures("registrar")
def test_schedule_exam_form_shows_field_errors(client: TestClient, db: Session) -> None:
    session = create_exam_session(db)
    response = client.post(
        "/registrar/exams",
        data={
            "title": "",
            "exam_session": session.id,
            "start": "not a date",
            "csrf_token": csrf(client),
        },
    )
    assert response.status_code == 422
    assert "Enter a date and time." in response.text


@pytest.mark.usefixtures("registrar")
def test_admission_list_gives_every_reason(client: TestClient, db: Session) -> None:
    term = create_term(db)
    session = create_exam_session(db, term=term)
    discipline = create_discipline(db)
    group = create_group(db)
    good = create_student(db, group=group)
    bad = create_student(db, group=group)
    create_enrolment(db, student=good, discipline=discipline, term=term)
    create_enrolment(
        db,
        student=bad,
        discipline=discipline,
        term=term,
        r1="40",
        r2="50",
        attendance="79.99",
        debt=True,
    )
    exam = create_exam(
        db, session=session, disciplines=[discipline], groups=[group], rooms=[create_room(db)]
    )
    response = client.get(f"/registrar/exams/{exam.id}")
    assert response.status_code == 200
    assert "Admitted: 1 of 2" in response.text
    for reason in ("midterm average below 50%", "tuition debt", "attendance below 80%"):
        assert reason in response.text


@pytest.mark.usefixtures("registrar")
def test_unknown_exam_is_404_in_the_users_language(client: TestClient) -> None:
    response = client.get("/registrar/exams/999999")
    assert response.status_code == 404
    assert response.json()["message"] == "There is no exam 999999."


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
@pytest.mark.usefixtures("registrar")
def test_pages_render_in_every_language(client: TestClient, language: str) -> None:
    client.post("/language", data={"language": language, "csrf_token": csrf(client)})
    for path in ("/registrar", "/registrar/roster", "/registrar/exams/new", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert f'<html lang="{language}">' in response.text


@pytest.mark.usefixtures("registrar")
def test_midterm_retake_page(client: TestClient, db: Session) -> None:
    from server.models import ExamSession

    term = create_term(db)
    start = utcnow().date() + timedelta(days=3)
    db.add(ExamSession(term_id=term.id, name="S", starts_on=start, ends_on=start))
    student = create_student(db)
    discipline = create_discipline(db)
    create_enrolment(db, student=student, discipline=discipline, term=term, r1="30", r2="60")
    assert client.get("/registrar/retakes").status_code == 200
    form = {
        "id_code": student.id_code,
        "discipline": discipline.code,
        "term": term.code,
        "midterm": "1",
        "new_value": "55,5",
        "document_ref": "No. 7",
        "granted_on": "2026-11-20",
        "csrf_token": csrf(client),
    }
    response = client.post("/registrar/retakes", data=form)
    assert response.status_code == 200
    assert "changed from 30.00 to 55.5" in response.text
    refused = client.post("/registrar/retakes", data={**form, "document_ref": ""})
    assert refused.status_code == 422
    assert "permission is missing" in refused.text


@pytest.mark.parametrize(
    ("language", "summary", "detail"),
    [
        ("kk", "Ешқандай өзгеріс енгізілген жоқ.", "Белгісіз топ коды: «NOPE»."),
        ("ru", "Никаких изменений не внесено.", "Неизвестный код группы: «NOPE»."),
        ("en", "Nothing was changed.", "Unknown group code “NOPE”."),
    ],
)
@pytest.mark.usefixtures("registrar")
def test_roster_refusal_in_the_users_language(
    client: TestClient, db: Session, language: str, summary: str, detail: str
) -> None:
    term = create_term(db)
    create_discipline(db, code="RD-9")
    client.post("/language", data={"language": language, "csrf_token": csrf(client)})
    data = (HEADER + "Y0901,A,NOPE,RD-9,50,50,90,no\n").encode()
    response = client.post(
        "/registrar/roster",
        data={"term": term.code, "csrf_token": csrf(client)},
        files={"file": ("roster.csv", data, "text/csv")},
    )
    assert response.status_code == 422
    assert summary in response.text
    assert detail in response.text
