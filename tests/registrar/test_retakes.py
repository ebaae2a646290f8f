"""Midterm retakes need a ground, the dean's permission and a session not yet started."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import NotFound
from server.models import AuditEntry, Enrolment, MidtermRetakePermission
from server.registrar.retakes import RetakeRefused, RetakeRequest, record_midterm_retake
from tests.factories import (
    create_discipline,
    create_enrolment,
    create_student,
    create_term,
    create_user,
)


def _setup(db: Session, *, r1: str = "40", r2: str = "50", session_in_days: int = 5) -> Enrolment:
    term = create_term(db)
    from server.models import ExamSession

    start = utcnow().date() + timedelta(days=session_in_days)
    db.add(ExamSession(term_id=term.id, name="S", starts_on=start, ends_on=start + timedelta(10)))
    enrolment = create_enrolment(
        db, student=create_student(db), discipline=create_discipline(db), term=term, r1=r1, r2=r2
    )
    return enrolment


def _request(enrolment: Enrolment, **overrides: object) -> RetakeRequest:
    values: dict[str, object] = {
        "id_code": enrolment.student.id_code,
        "discipline_code": enrolment.discipline.code,
        "term_code": enrolment.term.code,
        "midterm": 1,
        "new_value": Decimal("65"),
        "document_ref": "Dean's order 12/3",
        "granted_on": date(2026, 11, 20),
        "absent_for_valid_reason": False,
    }
    values.update(overrides)
    return RetakeRequest(**values)  # type: ignore[arg-type]


def test_retake_updates_the_rating_and_keeps_the_old_one(db: Session) -> None:
    enrolment = _setup(db)
    permission = record_midterm_retake(
        db, actor=create_user(db), request=_request(enrolment), timezone="Asia/Almaty", now=utcnow()
    )
    assert permission.previous_value == Decimal("40")
    db.refresh(enrolment)
    assert enrolment.r1 == Decimal("65")
    assert db.execute(
        select(AuditEntry).where(AuditEntry.action == "registrar.midterm_retaken")
    ).first()


@pytest.mark.parametrize(
    ("setup", "overrides", "fragment"),
    [
        ({"r1": "50", "r2": "50"}, {}, "not below 50%"),
        ({}, {"document_ref": "  "}, "permission is missing"),
        ({"session_in_days": 0}, {}, "already started"),
    ],
)
def test_refusals_change_nothing(
    db: Session, setup: dict[str, object], overrides: dict[str, object], fragment: str
) -> None:
    enrolment = _setup(db, **setup)  # type: ignore[arg-type]
    before = enrolment.r1
    with pytest.raises(RetakeRefused) as refused:
        record_midterm_retake(
            db,
            actor=create_user(db),
            request=_request(enrolment, **overrides),
            timezone="Asia/Almaty",
            now=utcnow(),
        )
    assert fragment in refused.value.translated()
    db.refresh(enrolment)
    assert enrolment.r1 == before
    assert db.execute(select(MidtermRetakePermission)).first() is None


def test_valid_absence_is_a_ground_even_at_50(db: Session) -> None:
    enrolment = _setup(db, r1="50", r2="50")
    record_midterm_retake(
        db,
        actor=create_user(db),
        request=_request(enrolment, absent_for_valid_reason=True, midterm=2),
        timezone="Asia/Almaty",
        now=utcnow(),
    )
    db.refresh(enrolment)
    assert enrolment.r2 == Decimal("65")


def test_unknown_enrolment(db: Session) -> None:
    enrolment = _setup(db)
    with pytest.raises(NotFound):
        record_midterm_retake(
            db,
            actor=create_user(db),
            request=_request(enrolment, id_code="NOBODY"),
            timezone="Asia/Almaty",
            now=utcnow(),
        )
