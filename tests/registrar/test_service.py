"""Roster import is all or nothing; exam scheduling checks the calendar and the rooms."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import InvalidInput
from server.models import AuditEntry, Enrolment, Exam, Student
from server.registrar.service import ExamPlan, RosterRejected, import_roster, schedule_exam
from server.web import local_time
from tests.factories import (
    create_discipline,
    create_exam,
    create_exam_session,
    create_group,
    create_room,
    create_student,
    create_term,
    create_user,
)

HEADER = "id_code,full_name,group,discipline,r1,r2,attendance_percent,tuition_debt\n"


def count(db: Session, model: type) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_creates_students_accounts_and_enrolments(db: Session) -> None:
    term = create_term(db)
    group = create_group(db, code="CS-1")
    create_discipline(db, code="MATH1")
    data = (
        HEADER + "X0001,Aigerim,CS-1,MATH1,72.5,64,91,no\nX0002,Nurlan,CS-1,MATH1,,,,yes\n"
    ).encode()
    summary = import_roster(db, actor=None, term=term, filename="r.csv", data=data, now=utcnow())
    assert (summary.students_created, summary.enrolments_created) == (2, 2)
    student = db.execute(select(Student).where(Student.id_code == "X0001")).scalar_one()
    assert student.group_id == group.id
    assert student.user is not None
    assert student.user.login == "X0001"
    enrolment = db.execute(select(Enrolment).where(Enrolment.student_id == student.id)).scalar_one()
    assert enrolment.r1 == Decimal("72.5")
    assert db.execute(
        select(AuditEntry).where(AuditEntry.action == "registrar.roster_imported")
    ).first()


def test_reimport_updates_changed_facts(db: Session) -> None:
    term = create_term(db)
    create_group(db, code="CS-2")
    create_discipline(db, code="MATH2")
    import_roster(
        db,
        actor=None,
        term=term,
        filename="r.csv",
        now=utcnow(),
        data=(HEADER + "X0101,Aigerim,CS-2,MATH2,40,40,91,no\n").encode(),
    )
    summary = import_roster(
        db,
        actor=None,
        term=term,
        filename="r.csv",
        now=utcnow(),
        data=(HEADER + "X0101,Aigerim,CS-2,MATH2,60,40,91,no\n").encode(),
    )
    assert (summary.students_created, summary.enrolments_updated) == (0, 1)


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("X0201,A,NOPE,MATH3,50,50,90,no", "group", "Unknown group code “NOPE”."),
        ("X0201,A,CS-3,NOPE,50,50,90,no", "discipline", "Unknown discipline code “NOPE”."),
        ("X0201,A,CS-3,MATH3,130,50,90,no", "r1", "130 is outside 0–100 percent."),
    ],
)
def test_one_bad_row_stores_nothing(db: Session, row: str, column: str, message: str) -> None:
    term = create_term(db)
    create_group(db, code="CS-3")
    create_discipline(db, code="MATH3")
    students_before, enrolments_before = count(db, Student), count(db, Enrolment)
    audit_before = count(db, AuditEntry)
    data = (HEADER + "X0200,Good,CS-3,MATH3,50,50,90,no\n" + row + "\n").encode()
    with pytest.raises(RosterRejected) as rejected:
        import_roster(db, actor=None, term=term, filename="r.csv", data=data, now=utcnow())
    assert [(e.row, e.column, e.message) for e in rejected.value.errors] == [(3, column, message)]
    assert (count(db, Student), count(db, Enrolment)) == (students_before, enrolments_before)
    assert count(db, AuditEntry) == audit_before


def _plan(
    db: Session,
    *,
    start_in: timedelta = timedelta(days=1),
    rooms: list[int] | None = None,
    groups: list[int] | None = None,
    title: str = "Final",
) -> ExamPlan:
    session = create_exam_session(db)
    discipline = create_discipline(db)
    group = create_group(db)
    room = create_room(db)
    return ExamPlan(
        title=title,
        exam_session_id=session.id,
        discipline_ids=[discipline.id],
        group_ids=groups or [group.id],
        room_ids=rooms or [room.id],
        local_start=local_time(utcnow() + start_in, "Asia/Almaty").replace(" ", "T"),
    )


def test_schedule_exam_stores_it_with_sixty_minutes(db: Session) -> None:
    actor = create_user(db)
    exam = schedule_exam(db, actor=actor, plan=_plan(db), timezone="Asia/Almaty", now=utcnow())
    assert exam.duration_minutes == 60
    assert len(exam.disciplines) == 1
    assert exam.disciplines[0].question_count == 25
    assert exam.scheduled_start.utcoffset() == timedelta(0)


def test_start_in_the_past_is_refused(db: Session) -> None:
    actor = create_user(db)
    before = count(db, Exam)
    with pytest.raises(InvalidInput) as refused:
        schedule_exam(
            db,
            actor=actor,
            plan=_plan(db, start_in=-timedelta(hours=1)),
            timezone="Asia/Almaty",
            now=utcnow(),
        )
    assert "start" in refused.value.field_errors
    assert count(db, Exam) == before


def test_room_booked_at_the_same_time_is_refused(db: Session) -> None:
    actor = create_user(db)
    session = create_exam_session(db)
    room = create_room(db)
    start = utcnow() + timedelta(days=1)
    create_exam(
        db,
        session=session,
        disciplines=[create_discipline(db)],
        groups=[create_group(db)],
        rooms=[room],
        start=start,
        title="Physics",
    )
    plan = _plan(db, start_in=timedelta(days=1, minutes=30), rooms=[room.id])
    with pytest.raises(InvalidInput) as refused:
        schedule_exam(db, actor=actor, plan=plan, timezone="Asia/Almaty", now=utcnow())
    assert "Physics" in refused.value.field_errors["rooms"]


def test_a_group_cannot_sit_two_exams_at_once(db: Session) -> None:
    actor = create_user(db)
    session = create_exam_session(db)
    group = create_group(db)
    student = create_student(db, group=group)
    assert student.id
    start = utcnow() + timedelta(days=1)
    create_exam(
        db,
        session=session,
        disciplines=[create_discipline(db)],
        groups=[group],
        rooms=[create_room(db)],
        start=start,
        title="Physics",
    )
    plan = _plan(db, start_in=timedelta(days=1, minutes=59), groups=[group.id])
    with pytest.raises(InvalidInput) as refused:
        schedule_exam(db, actor=actor, plan=plan, timezone="Asia/Almaty", now=utcnow())
    assert "groups" in refused.value.field_errors


def test_back_to_back_exams_in_one_room_are_allowed(db: Session) -> None:
    actor = create_user(db)
    session = create_exam_session(db)
    room = create_room(db)
    start = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    create_exam(
        db,
        session=session,
        disciplines=[create_discipline(db)],
        groups=[create_group(db)],
        rooms=[room],
        start=start,
    )
    plan = _plan(db, rooms=[room.id])
    plan = ExamPlan(
        **{
            **plan.__dict__,
            "local_start": local_time(start + timedelta(minutes=60), "Asia/Almaty").replace(
                " ", "T"
            ),
        }
    )
    assert schedule_exam(db, actor=actor, plan=plan, timezone="Asia/Almaty", now=utcnow()).id
