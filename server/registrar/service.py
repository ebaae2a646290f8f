"""The registrar's steps: roster import (all or nothing) and exam scheduling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.passwords import UNUSABLE_PASSWORD
from server.errors import InvalidInput
from server.i18n import N_, gettext
from server.models import (
    AcademicTerm,
    Enrolment,
    Exam,
    ExamDiscipline,
    ExamGroup,
    ExamRoom,
    ExamSession,
    Role,
    Student,
    User,
)
from server.registrar import repository
from server.registrar.roster import ParsedRoster, Problem, parse_roster
from server.rules.timing import EXAM_DURATION


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str | None
    message: str


class RosterRejected(InvalidInput):
    message = N_("The roster was not imported: the file has errors. Nothing was changed.")

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__()
        self.errors = errors


@dataclass(frozen=True)
class RosterSummary:
    rows: int
    students_created: int
    students_updated: int
    enrolments_created: int
    enrolments_updated: int


def _translate(problem: Problem) -> RowError:
    text = gettext(problem.message)
    return RowError(problem.row, problem.column, text % problem.params if problem.params else text)


def _check_codes(db: Session, parsed: ParsedRoster) -> list[Problem]:
    problems: list[Problem] = []
    groups = repository.groups_by_code(db, {r.group for r in parsed.rows})
    disciplines = repository.disciplines_by_code(db, {r.discipline for r in parsed.rows})
    for row in parsed.rows:
        if row.group not in groups:
            problems.append(
                Problem(row.row, "group", N_("Unknown group code “%(code)s”."), {"code": row.group})
            )
        if row.discipline not in disciplines:
            problems.append(
                Problem(
                    row.row,
                    "discipline",
                    N_("Unknown discipline code “%(code)s”."),
                    {"code": row.discipline},
                )
            )
    return problems


def import_roster(
    db: Session,
    *,
    actor: User | None,
    term: AcademicTerm,
    filename: str,
    data: bytes,
    now: datetime,
) -> RosterSummary:
    """Create or update students and their enrolments for ``term``; any error changes nothing."""
    parsed = parse_roster(filename, data)
    problems = list(parsed.problems) or _check_codes(db, parsed)
    if problems:
        raise RosterRejected([_translate(p) for p in problems])

    groups = repository.groups_by_code(db, {r.group for r in parsed.rows})
    disciplines = repository.disciplines_by_code(db, {r.discipline for r in parsed.rows})
    students = repository.students_by_id_code(db, {r.id_code for r in parsed.rows})
    created = updated = 0
    for row in parsed.rows:
        student = students.get(row.id_code)
        group_id = groups[row.group].id
        if student is None:
            user = User(
                login=row.id_code,
                full_name=row.full_name,
                role=Role.STUDENT,
                password_hash=UNUSABLE_PASSWORD,
                password_changed_at=now,
            )
            student = Student(
                id_code=row.id_code, full_name=row.full_name, group_id=group_id, user=user
            )
            db.add(student)
            students[row.id_code] = student
            created += 1
        elif (student.full_name, student.group_id) != (row.full_name, group_id):
            student.full_name = row.full_name
            student.group_id = group_id
            if student.user is not None:
                student.user.full_name = row.full_name
            updated += 1
    db.flush()

    enrolments = repository.enrolments_for(
        db, term_id=term.id, student_ids=[s.id for s in students.values()]
    )
    enrolments_created = enrolments_updated = 0
    for row in parsed.rows:
        student = students[row.id_code]
        discipline_id = disciplines[row.discipline].id
        values = (row.r1, row.r2, row.attendance_percent, row.tuition_debt)
        enrolment = enrolments.get((student.id, discipline_id))
        if enrolment is None:
            db.add(
                Enrolment(
                    student_id=student.id,
                    discipline_id=discipline_id,
                    term_id=term.id,
                    r1=row.r1,
                    r2=row.r2,
                    attendance_percent=row.attendance_percent,
                    tuition_debt=row.tuition_debt,
                )
            )
            enrolments_created += 1
        elif (
            enrolment.r1,
            enrolment.r2,
            enrolment.attendance_percent,
            enrolment.tuition_debt,
        ) != values:
            enrolment.r1, enrolment.r2 = row.r1, row.r2
            enrolment.attendance_percent = row.attendance_percent
            enrolment.tuition_debt = row.tuition_debt
            enrolments_updated += 1
    summary = RosterSummary(
        rows=len(parsed.rows),
        students_created=created,
        students_updated=updated,
        enrolments_created=enrolments_created,
        enrolments_updated=enrolments_updated,
    )
    record(
        db,
        actor=actor,
        action="registrar.roster_imported",
        subject=f"term:{term.code}",
        details={"file": filename, **summary.__dict__},
        at=now,
    )
    db.flush()
    return summary


@dataclass(frozen=True)
class ExamPlan:
    title: str
    exam_session_id: int
    discipline_ids: list[int]
    group_ids: list[int]
    room_ids: list[int]
    local_start: str  # "YYYY-MM-DDTHH:MM" in the university's time zone


def parse_local_start(local_start: str, timezone: str) -> datetime:
    try:
        naive = datetime.fromisoformat(local_start)
    except ValueError as exc:
        raise InvalidInput(field_errors={"start": gettext("Enter a date and time.")}) from exc
    if naive.tzinfo is not None:
        raise InvalidInput(field_errors={"start": gettext("Enter a date and time.")})
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def schedule_exam(
    db: Session, *, actor: User, plan: ExamPlan, timezone: str, now: datetime
) -> Exam:
    """Check the plan against the calendar and the rooms' bookings, then store it."""
    errors: dict[str, str] = {}
    title = plan.title.strip()
    if not title:
        errors["title"] = gettext("Enter a title.")
    session = db.get(ExamSession, plan.exam_session_id)
    if session is None:
        errors["exam_session"] = gettext("Choose an exam session.")
    disciplines = [d for d in repository.all_disciplines(db) if d.id in set(plan.discipline_ids)]
    if not plan.discipline_ids or len(disciplines) != len(set(plan.discipline_ids)):
        errors["disciplines"] = gettext("Choose at least one discipline.")
    groups = [g for g in repository.all_groups(db) if g.id in set(plan.group_ids)]
    if not plan.group_ids or len(groups) != len(set(plan.group_ids)):
        errors["groups"] = gettext("Choose at least one group.")
    rooms = [r for r in repository.all_rooms(db) if r.id in set(plan.room_ids)]
    if not plan.room_ids or len(rooms) != len(set(plan.room_ids)):
        errors["rooms"] = gettext("Choose at least one room.")
    try:
        start = parse_local_start(plan.local_start, timezone)
    except InvalidInput as bad_start:
        errors.update(bad_start.field_errors)
        raise InvalidInput(
            N_("The exam was not scheduled: correct the marked fields."), field_errors=errors
        ) from None
    if start <= now:
        errors["start"] = gettext("The start must be in the future.")
    elif session is not None and not (session.starts_on <= start.date() <= session.ends_on):
        errors["start"] = gettext("The start is outside the exam session's dates.")
    if not errors:
        end = start + EXAM_DURATION
        clashes = repository.exams_overlapping(db, start=start, end=end)
        booked_rooms = repository.room_ids_of(db, [e.id for e in clashes])
        booked_groups = repository.group_ids_of(db, [e.id for e in clashes])
        for clash in clashes:
            if booked_rooms.get(clash.id, set()) & set(plan.room_ids):
                errors["rooms"] = gettext(
                    "A chosen room is booked at that time by “%(title)s”."
                ) % {"title": clash.title}
            if booked_groups.get(clash.id, set()) & set(plan.group_ids):
                errors["groups"] = gettext(
                    "A chosen group already has “%(title)s” at that time."
                ) % {"title": clash.title}
    if errors:
        raise InvalidInput(
            N_("The exam was not scheduled: correct the marked fields."), field_errors=errors
        )
    exam = Exam(
        exam_session_id=plan.exam_session_id,
        title=title,
        scheduled_start=start,
        duration_minutes=int(EXAM_DURATION / timedelta(minutes=1)),
        created_by_id=actor.id,
        disciplines=[
            ExamDiscipline(discipline_id=d.id, position=i)
            for i, d in enumerate(sorted(disciplines, key=lambda d: d.code), start=1)
        ],
        groups=[ExamGroup(group_id=g.id) for g in groups],
        rooms=[ExamRoom(room_id=r.id) for r in rooms],
    )
    db.add(exam)
    db.flush()
    record(
        db,
        actor=actor,
        action="registrar.exam_scheduled",
        subject=f"exam:{exam.id}",
        details={
            "title": title,
            "start": start.isoformat(),
            "disciplines": [d.code for d in disciplines],
            "groups": [g.code for g in groups],
            "rooms": [r.code for r in rooms],
        },
        at=now,
    )
    return exam
