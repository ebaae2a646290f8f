"""The department head's pages over HTTP, and the media route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import AuditEntry, Discipline, ItemStatus, Role, User
from tests.bank.factories import GIFT, create_attempt_holding, create_head, items_of
from tests.bank.test_media import picture_item
from tests.factories import (
    create_department,
    create_discipline,
    create_student,
    create_user,
    csrf,
    sign_in,
)


@pytest.fixture
def discipline(db: Session) -> Discipline:
    return create_discipline(db, department=create_department(db), code="PHY-101")


@pytest.fixture
def head(client: TestClient, db: Session, discipline: Discipline) -> User:
    user = create_head(db, department=discipline.department_id)
    sign_in(client, user)
    return user


def _last_action(db: Session) -> str:
    return (
        db.execute(select(AuditEntry.action).order_by(AuditEntry.seq.desc())).scalars().first()
        or ""
    )


def _upload(
    client: TestClient, discipline: Discipline, data: bytes, name: str = "bank.gift"
) -> str:
    response = client.post(
        f"/bank/disciplines/{discipline.id}/uploads",
        data={"language": "en", "csrf_token": csrf(client)},
        files={"file": (name, data, "text/plain")},
        headers={"hx-request": "true"},
    )
    assert response.status_code == 200, response.text
    assert "<html" not in response.text
    return response.text


@pytest.mark.usefixtures("head")
def test_upload_preview_then_import(
    client: TestClient, db: Session, discipline: Discipline
) -> None:
    assert "PHY-101" in client.get("/bank").text
    page = client.get(f"/bank/disciplines/{discipline.id}")
    assert page.status_code == 200
    assert "/static/js/bank-upload.js" in page.text
    preview = _upload(client, discipline, GIFT.encode())
    assert "What colour" not in preview  # the preview lists names, not stems
    assert "Q1" in preview
    assert "new item" in preview
    assert items_of(db, discipline) == []
    action = preview.split('action="')[-1].split('"')[0]
    done = client.post(
        action,
        data={"language": "en", "approve": "true", "csrf_token": csrf(client)},
        headers={"hx-request": "true"},
    )
    assert done.status_code == 200, done.text
    assert "Imported: 3 new items" in done.text
    assert [i.status for i in items_of(db, discipline)] == [ItemStatus.APPROVED] * 3


@pytest.mark.usefixtures("head")
def test_errors_block_and_warnings_need_the_checkbox(
    client: TestClient, db: Session, discipline: Discipline
) -> None:
    broken = _upload(client, discipline, b"::B:: Broken {=a ~}\n\n::N:: {#x}\n")
    assert "Errors: nothing can be imported" in broken
    assert "/import" not in broken
    warned = _upload(client, discipline, b"::W:: Which? {~a ~b}\n")
    assert 'name="acknowledge"' in warned
    action = warned.split('action="')[-1].split('"')[0]
    refused = client.post(action, data={"language": "en", "csrf_token": csrf(client)})
    assert refused.status_code == 422
    assert "Confirm that you have read the warnings" in refused.text
    assert items_of(db, discipline) == []
    accepted = client.post(
        action, data={"language": "en", "acknowledge": "true", "csrf_token": csrf(client)}
    )
    assert accepted.status_code == 200
    assert len(items_of(db, discipline)) == 1


@pytest.mark.usefixtures("head")
def test_too_large_upload_is_refused(
    client: TestClient, db: Session, discipline: Discipline
) -> None:
    client.app.state.settings.max_upload_bytes = 1024  # type: ignore[attr-defined]
    response = client.post(
        f"/bank/disciplines/{discipline.id}/uploads",
        data={"language": "en", "csrf_token": csrf(client)},
        files={"file": ("big.gift", b"x" * 4096, "text/plain")},
    )
    assert response.status_code == 422
    assert "larger than" in response.text


def _import(client: TestClient, discipline: Discipline) -> None:
    preview = _upload(client, discipline, GIFT.encode())
    action = preview.split('action="')[-1].split('"')[0]
    client.post(action, data={"language": "en", "csrf_token": csrf(client)})


@pytest.mark.usefixtures("head")
def test_item_key_edit_approve_and_export(
    client: TestClient, db: Session, discipline: Discipline
) -> None:
    _import(client, discipline)
    first = items_of(db, discipline)[0]
    listing = client.get(
        f"/bank/disciplines/{discipline.id}?q=colour", headers={"hx-request": "true"}
    )
    assert "What colour" in listing.text
    assert "<html" not in listing.text
    view = client.get(f"/bank/items/{first.id}")
    assert view.status_code == 200
    assert "yellow" in view.text
    assert "100%" not in view.text
    assert _last_action(db) == "bank.item_viewed"
    key = client.get(f"/bank/items/{first.id}/key")
    assert "100%" in key.text
    assert _last_action(db) == "bank.key_viewed"
    edited = client.post(
        f"/bank/items/{first.id}/edit",
        data={
            "language": "en",
            "stem": "Which colour?",
            "option_text": ["yellow", "red", "blue"],
            "option_percent": ["100", "0", "0"],
            "difficulty": "3",
            "csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text
    db.refresh(first)
    assert first.current_version == 2
    bad = client.post(
        f"/bank/items/{first.id}/edit",
        data={
            "language": "en",
            "stem": "Which colour?",
            "option_text": ["yellow", "red", "blue"],
            "option_percent": ["lots", "0", "0"],
            "csrf_token": csrf(client),
        },
    )
    assert bad.status_code == 422
    approved = client.post(
        f"/bank/items/{first.id}/approve", data={"csrf_token": csrf(client)}, follow_redirects=False
    )
    assert approved.status_code == 303
    exported = client.get(f"/bank/disciplines/{discipline.id}/export?format=qti-2.1&language=en")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    assert _last_action(db) == "bank.exported"
    moodle = client.get(f"/bank/disciplines/{discipline.id}/export?format=moodle-xml&language=en")
    assert b"<quiz>" in moodle.content


@pytest.mark.usefixtures("head")
def test_blueprint_page(client: TestClient, db: Session, discipline: Discipline) -> None:
    _import(client, discipline)
    page = client.get(f"/bank/disciplines/{discipline.id}/blueprint")
    assert page.status_code == 200
    assert "cannot fill the blueprint" in page.text
    refused = client.post(
        f"/bank/disciplines/{discipline.id}/blueprint",
        data={"topic": [""], "difficulty": [""], "count": ["20"], "csrf_token": csrf(client)},
    )
    assert refused.status_code == 422
    assert "add up to 20" in refused.text
    saved = client.post(
        f"/bank/disciplines/{discipline.id}/blueprint",
        data={
            "topic": ["", ""],
            "difficulty": ["", ""],
            "count": ["25", ""],
            "csrf_token": csrf(client),
        },
    )
    assert saved.status_code == 200
    assert "The blueprint is saved." in saved.text


def test_another_departments_head_sees_nothing(
    client: TestClient, db: Session, discipline: Discipline
) -> None:
    media = picture_item(db, discipline)
    (item,) = items_of(db, discipline)
    sign_in(client, create_head(db, department=create_department(db)))
    assert client.get(f"/bank/disciplines/{discipline.id}").status_code == 404
    assert client.get(f"/bank/items/{item.id}/key").status_code == 404
    assert client.get(f"/media/{media.id}").status_code == 404


def test_media_route(client: TestClient, db: Session, discipline: Discipline) -> None:
    media = picture_item(db, discipline)
    student = create_student(db)
    assert student.user is not None
    sign_in(client, student.user)
    assert client.get(f"/media/{media.id}").status_code == 404
    create_attempt_holding(
        db, student=student, item_version_id=media.item_version_id, discipline=discipline
    )
    response = client.get(f"/media/{media.id}")
    assert response.status_code == 200
    assert response.content == media.data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "private" in response.headers["cache-control"]


def test_other_roles_cannot_open_the_bank(client: TestClient, db: Session) -> None:
    sign_in(client, create_user(db, role=Role.PROCTOR))
    assert client.get("/bank").status_code == 403
