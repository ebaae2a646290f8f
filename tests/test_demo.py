"""The demo term gives every role something real, and the gates refuse whom they should."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.admission.service import admission_list
from server.db import utcnow
from server.demo import load_demo
from server.models import Item, ItemStatus, ItemText, ItemVersion, Role, Seat, User
from server.rules.admission import Reason


def test_demo_term(db: Session) -> None:
    now = utcnow()
    summary = load_demo(db, now=now)
    exam = summary.exam
    assert timedelta(minutes=10) <= exam.scheduled_start - now <= timedelta(minutes=20)
    approved = db.execute(
        select(func.count()).select_from(Item).where(Item.status == ItemStatus.APPROVED)
    ).scalar_one()
    assert approved >= 100
    languages = db.execute(select(ItemText.language).join(ItemVersion).distinct()).scalars()
    assert {lang.value for lang in languages} == {"kk", "ru", "en"}
    assert db.execute(select(func.count()).select_from(Seat)).scalar_one() >= 20
    roles = set(db.execute(select(User.role).distinct()).scalars())
    assert roles == set(Role)
    lines = admission_list(db, exam)
    assert len(lines) == 20
    refusals = [reason for line in lines for reason in line.admission.reasons]
    for gate in (Reason.MIDTERM_AVERAGE_BELOW_50, Reason.TUITION_DEBT, Reason.ATTENDANCE_BELOW_80):
        assert gate in refusals


def test_demo_is_idempotent_and_keeps_one_upcoming_exam(db: Session) -> None:
    now = utcnow()
    first = load_demo(db, now=now)
    second = load_demo(db, now=now + timedelta(minutes=1))
    assert second.created is False
    assert second.exam.id == first.exam.id
    later = load_demo(db, now=now + timedelta(hours=2))
    assert later.exam.id != first.exam.id
