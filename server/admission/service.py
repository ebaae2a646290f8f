"""Admission for an exam: the gates applied to the facts the registrar holds (R 4.1, H)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm import Session

from server.db import table_of
from server.db.session import columns
from server.i18n import N_, gettext
from server.models import (
    AdmissionDecision,
    Discipline,
    Enrolment,
    Exam,
    ExamDiscipline,
    ExamGroup,
    ExamSession,
    Student,
)
from server.registrar import repository
from server.rules.admission import Admission, AdmissionFacts, Reason, decide_admission

REASON_MESSAGES: dict[Reason, str] = {
    Reason.NOT_ENROLLED: N_("not enrolled in the discipline this term"),
    Reason.NOT_IN_EXAM_GROUPS: N_("not in this exam's groups"),
    Reason.MIDTERMS_MISSING: N_("midterm ratings not recorded"),
    Reason.MIDTERM_AVERAGE_BELOW_50: N_("midterm average below 50%"),
    Reason.TUITION_DEBT: N_("tuition debt"),
    Reason.ATTENDANCE_BELOW_80: N_("attendance below 80%"),
    Reason.ATTENDANCE_NOT_RECORDED: N_("attendance not recorded"),
}


def reason_messages(decision: AdmissionDecision) -> list[str]:
    """Every reason a stored decision refused admission, in the user's language."""
    return reason_texts(decision.reasons)


def reason_texts(reasons: Iterable[str]) -> list[str]:
    """The reasons' messages (``AdmissionDecision.reasons``), in the user's language."""
    return [gettext(REASON_MESSAGES[Reason(reason)]) for reason in reasons]


@dataclass(frozen=True)
class AdmissionLine:
    student: Student
    discipline: Discipline
    facts: AdmissionFacts
    admission: Admission


def facts_for(*, enrolment: Enrolment | None, in_exam_groups: bool) -> AdmissionFacts:
    if enrolment is None:
        return AdmissionFacts(
            enrolled=False,
            in_exam_groups=in_exam_groups,
            r1=None,
            r2=None,
            attendance_percent=None,
            tuition_debt=False,
        )
    return AdmissionFacts(
        enrolled=True,
        in_exam_groups=in_exam_groups,
        r1=enrolment.r1,
        r2=enrolment.r2,
        attendance_percent=enrolment.attendance_percent,
        tuition_debt=enrolment.tuition_debt,
    )


def admission_list(db: Session, exam: Exam) -> list[AdmissionLine]:
    """Every student of the exam's groups, per discipline, with the verdict and its reasons."""
    group_ids = {g.group_id for g in exam.groups}
    students = repository.students_in_groups(db, group_ids)
    enrolments = repository.enrolments_for(
        db, term_id=exam.exam_session.term_id, student_ids=[s.id for s in students]
    )
    lines: list[AdmissionLine] = []
    for student in students:
        for exam_discipline in exam.disciplines:
            facts = facts_for(
                enrolment=enrolments.get((student.id, exam_discipline.discipline_id)),
                in_exam_groups=True,
            )
            lines.append(
                AdmissionLine(
                    student=student,
                    discipline=exam_discipline.discipline,
                    facts=facts,
                    admission=decide_admission(facts),
                )
            )
    return lines


def facts_record(facts: AdmissionFacts) -> dict[str, Any]:
    return {
        k: (str(v) if v is not None and not isinstance(v, bool) else v)
        for k, v in asdict(facts).items()
    }


# One statement for the facts of every discipline of an exam, for one student: the exam's
# disciplines in order, each with the student's enrolment in the exam session's term (if any)
# and whether the student's group sits the exam. Every check-in runs it; it replaced five
# statements, four of them the exam's relationships loaded one by one.
_FACTS = (
    select(
        Discipline.code,
        Enrolment.id,
        Enrolment.r1,
        Enrolment.r2,
        Enrolment.attendance_percent,
        Enrolment.tuition_debt,
        exists().where(
            ExamGroup.exam_id == bindparam("exam_id"), ExamGroup.group_id == bindparam("group_id")
        ),
    )
    .select_from(ExamDiscipline)
    .join(Discipline, Discipline.id == ExamDiscipline.discipline_id)
    .join(Exam, Exam.id == ExamDiscipline.exam_id)
    .join(ExamSession, ExamSession.id == Exam.exam_session_id)
    .outerjoin(
        Enrolment,
        (Enrolment.student_id == bindparam("student_id"))
        & (Enrolment.discipline_id == ExamDiscipline.discipline_id)
        & (Enrolment.term_id == ExamSession.term_id),
    )
    .where(ExamDiscipline.exam_id == bindparam("exam_id"))
    .order_by(ExamDiscipline.position)
)


_decisions = table_of(AdmissionDecision)
_INSERT_DECISION = insert(_decisions).returning(_decisions.c.id)


def decide_for_exam(
    db: Session, *, exam: Exam, student: Student, now: datetime
) -> AdmissionDecision:
    """Apply the gates for every discipline of the exam and store the decision with its facts.

    Returns the decision as stored, not added to the session: a Core INSERT, since every
    sign-in stores one and the ORM's flush of the object, for its id, cost more than the
    statement (as the audit chain's entries, ``server.audit.service.record``).
    """
    rows = columns(
        db, _FACTS, {"exam_id": exam.id, "student_id": student.id, "group_id": student.group_id}
    )
    reasons: list[str] = []
    facts: dict[str, Any] = {}
    for code, enrolment_id, r1, r2, attendance, debt, in_groups in rows:
        discipline_facts = AdmissionFacts(
            enrolled=enrolment_id is not None,
            in_exam_groups=bool(in_groups),
            r1=r1,
            r2=r2,
            attendance_percent=attendance,
            tuition_debt=bool(debt),
        )
        verdict = decide_admission(discipline_facts)
        facts[code] = facts_record(discipline_facts)
        reasons.extend(r.value for r in verdict.reasons if r.value not in reasons)
    values: dict[str, Any] = {
        "exam_id": exam.id,
        "student_id": student.id,
        "admitted": not reasons,
        "reasons": reasons,
        "facts": facts,
        "decided_at": now,
    }
    decision_id = columns(db, _INSERT_DECISION, values).scalar_one()
    return AdmissionDecision(id=decision_id, **values)
