"""The demo term gives every role something real, and the gates refuse whom they should."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from server.admission.service import admission_list
from server.cli import app
from server.db import create_db_engine, make_sessionmaker, utcnow
from server.demo import DEMO_EXAM_TITLE, load_demo
from server.models import Exam, Item, ItemStatus, ItemText, ItemVersion, Role, Seat, User
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


@pytest.mark.parametrize("seconds", [0, 90, 600, -120])
def test_an_explicit_lead_time_is_kept_to_the_second(db: Session, seconds: int) -> None:
    now = utcnow().replace(microsecond=250_000)
    exam = load_demo(db, now=now, starts_in=timedelta(seconds=seconds)).exam
    assert exam.scheduled_start == now.replace(microsecond=0) + timedelta(seconds=seconds)


def test_an_explicit_lead_time_keeps_an_exam_still_to_come(db: Session) -> None:
    now = utcnow()
    first = load_demo(db, now=now, starts_in=timedelta(seconds=60))
    again = load_demo(db, now=now, starts_in=timedelta(seconds=600))
    assert again.exam.id == first.exam.id


@pytest.mark.parametrize("argument", ["--starts-in=45", "--starts-in=-30"])
def test_demo_command_starts_in(cli_database: str, argument: str) -> None:
    before = utcnow().replace(microsecond=0)
    result = CliRunner().invoke(app, ["demo", argument])
    after = utcnow()
    assert result.exit_code == 0, result.output
    seconds = int(argument.split("=")[1])
    engine = create_db_engine(cli_database)
    try:
        with make_sessionmaker(engine)() as session:
            start = session.execute(
                select(Exam.scheduled_start).where(Exam.title == DEMO_EXAM_TITLE)
            ).scalar_one()
    finally:
        engine.dispose()
    assert before + timedelta(seconds=seconds) <= start <= after + timedelta(seconds=seconds)
