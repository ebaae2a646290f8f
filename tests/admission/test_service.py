"""The admission decision is stored with the facts it was made on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.admission.service import decide_for_exam
from server.db import utcnow
from server.models import AdmissionDecision
from tests.factories import (
    create_discipline,
    create_enrolment,
    create_exam,
    create_exam_session,
    create_group,
    create_room,
    create_student,
    create_term,
)


def test_decision_keeps_facts_and_every_reason(db: Session) -> None:
    term = create_term(db)
    discipline = create_discipline(db, code="ADM-1")
    group = create_group(db)
    student = create_student(db, group=group)
    create_enrolment(
        db,
        student=student,
        discipline=discipline,
        term=term,
        r1="40",
        r2="59",
        attendance="80",
        debt=True,
    )
    exam = create_exam(
        db,
        session=create_exam_session(db, term=term),
        disciplines=[discipline],
        groups=[group],
        rooms=[create_room(db)],
    )
    decision = decide_for_exam(db, exam=exam, student=student, now=utcnow())
    assert decision.admitted is False
    assert decision.reasons == ["midterm_average_below_50", "tuition_debt"]
    assert decision.facts["ADM-1"]["r1"] == "40.00"
    assert decision.facts["ADM-1"]["tuition_debt"] is True
    # Stored as returned, in the caller's transaction.
    stored = db.execute(
        select(AdmissionDecision).where(AdmissionDecision.id == decision.id)
    ).scalar_one()
    assert stored is not decision
    assert (stored.exam_id, stored.student_id, stored.admitted) == (exam.id, student.id, False)
    assert (stored.reasons, stored.facts) == (decision.reasons, decision.facts)
    assert stored.decided_at == decision.decided_at


def test_student_of_another_group_is_refused(db: Session) -> None:
    term = create_term(db)
    discipline = create_discipline(db)
    student = create_student(db)
    create_enrolment(db, student=student, discipline=discipline, term=term)
    exam = create_exam(
        db,
        session=create_exam_session(db, term=term),
        disciplines=[discipline],
        groups=[create_group(db)],
        rooms=[create_room(db)],
    )
    decision = decide_for_exam(db, exam=exam, student=student, now=utcnow())
    assert decision.reasons == ["not_in_exam_groups"]
