"""Individual midterm retakes with the dean's written permission (H).

A student below 50% (or absent for a valid reason) may, with the dean's permission, retake a
midterm before the exam session; the registrar then enters the new rating. The permission, the old
and the new value are kept, and the change is audited, because an admission decision made later
rests on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.errors import InvalidInput, NotFound
from server.i18n import N_, gettext
from server.models import (
    AcademicTerm,
    Discipline,
    Enrolment,
    ExamSession,
    MidtermRetakePermission,
    Student,
    User,
)
from server.rules.admission import MidtermRetakeRefusal, midterm_average, midterm_retake_allowed

REFUSAL_MESSAGES = {
    MidtermRetakeRefusal.NO_GROUND: N_(
        "the midterm average is not below 50% and no valid absence is recorded"
    ),
    MidtermRetakeRefusal.NO_DEAN_PERMISSION: N_("the dean's written permission is missing"),
    MidtermRetakeRefusal.SESSION_STARTED: N_("the exam session has already started"),
}


class RetakeRefused(InvalidInput):
    message = N_("The midterm retake was not recorded: %(reasons)s.")


@dataclass(frozen=True)
class RetakeRequest:
    id_code: str
    discipline_code: str
    term_code: str
    midterm: int
    new_value: Decimal
    document_ref: str
    granted_on: date
    absent_for_valid_reason: bool
    reason: str = ""


def _session_start(db: Session, term: AcademicTerm, timezone: str) -> datetime | None:
    first = db.execute(
        select(ExamSession.starts_on)
        .where(ExamSession.term_id == term.id)
        .order_by(ExamSession.starts_on)
        .limit(1)
    ).scalar_one_or_none()
    if first is None:
        return None
    return datetime.combine(first, time.min, tzinfo=ZoneInfo(timezone))


def record_midterm_retake(
    db: Session, *, actor: User, request: RetakeRequest, timezone: str, now: datetime
) -> MidtermRetakePermission:
    if request.midterm not in (1, 2):
        raise InvalidInput(field_errors={"midterm": gettext("Choose midterm 1 or 2.")})
    if not (Decimal(0) <= request.new_value <= Decimal(100)):
        raise InvalidInput(field_errors={"new_value": gettext("Enter a percent from 0 to 100.")})
    enrolment = db.execute(
        select(Enrolment)
        .join(Student, Student.id == Enrolment.student_id)
        .join(Discipline, Discipline.id == Enrolment.discipline_id)
        .join(AcademicTerm, AcademicTerm.id == Enrolment.term_id)
        .where(
            Student.id_code == request.id_code.strip(),
            Discipline.code == request.discipline_code.strip(),
            AcademicTerm.code == request.term_code.strip(),
        )
    ).scalar_one_or_none()
    if enrolment is None:
        raise NotFound(
            N_("%(code)s is not enrolled in %(discipline)s in term %(term)s."),
            code=request.id_code,
            discipline=request.discipline_code,
            term=request.term_code,
        )
    average = (
        midterm_average(enrolment.r1, enrolment.r2)
        if enrolment.r1 is not None and enrolment.r2 is not None
        else None
    )
    session_start = _session_start(db, enrolment.term, timezone)
    decision = midterm_retake_allowed(
        average=average,
        absent_for_valid_reason=request.absent_for_valid_reason,
        has_dean_permission=bool(request.document_ref.strip()),
        now=now,
        session_starts_at=session_start or datetime.max.replace(tzinfo=ZoneInfo("UTC")),
    )
    if not decision.allowed:
        raise RetakeRefused(
            reasons="; ".join(gettext(REFUSAL_MESSAGES[r]) for r in decision.reasons)
        )
    previous = enrolment.r1 if request.midterm == 1 else enrolment.r2
    permission = MidtermRetakePermission(
        enrolment_id=enrolment.id,
        midterm=request.midterm,
        document_ref=request.document_ref.strip(),
        granted_on=request.granted_on,
        reason=request.reason.strip(),
        recorded_by_id=actor.id,
        previous_value=previous,
        new_value=request.new_value,
        used_at=now,
    )
    if request.midterm == 1:
        enrolment.r1 = request.new_value
    else:
        enrolment.r2 = request.new_value
    db.add(permission)
    db.flush()
    record(
        db,
        actor=actor,
        action="registrar.midterm_retaken",
        subject=f"enrolment:{enrolment.id}",
        details={
            "midterm": request.midterm,
            "previous": previous,
            "new": request.new_value,
            "document": permission.document_ref,
        },
        at=now,
    )
    return permission
