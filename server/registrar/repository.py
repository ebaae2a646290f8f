"""Queries for the registrar's office: codes, students, enrolments, exams, bookings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.models import (
    AcademicTerm,
    Discipline,
    Enrolment,
    Exam,
    ExamGroup,
    ExamRoom,
    ExamSession,
    ExamStatus,
    Room,
    Student,
    StudentGroup,
)


def groups_by_code(db: Session, codes: Iterable[str]) -> dict[str, StudentGroup]:
    wanted = set(codes)
    rows = db.execute(select(StudentGroup).where(StudentGroup.code.in_(wanted))).scalars()
    return {group.code: group for group in rows}


def disciplines_by_code(db: Session, codes: Iterable[str]) -> dict[str, Discipline]:
    wanted = set(codes)
    rows = db.execute(select(Discipline).where(Discipline.code.in_(wanted))).scalars()
    return {discipline.code: discipline for discipline in rows}


def students_by_id_code(db: Session, codes: Iterable[str]) -> dict[str, Student]:
    wanted = set(codes)
    rows = db.execute(select(Student).where(Student.id_code.in_(wanted))).scalars()
    return {student.id_code: student for student in rows}


def enrolments_for(
    db: Session, *, term_id: int, student_ids: Iterable[int]
) -> dict[tuple[int, int], Enrolment]:
    rows = db.execute(
        select(Enrolment).where(
            Enrolment.term_id == term_id, Enrolment.student_id.in_(set(student_ids))
        )
    ).scalars()
    return {(e.student_id, e.discipline_id): e for e in rows}


def term_by_code(db: Session, code: str) -> AcademicTerm | None:
    return db.execute(select(AcademicTerm).where(AcademicTerm.code == code)).scalar_one_or_none()


def all_terms(db: Session) -> list[AcademicTerm]:
    return list(db.execute(select(AcademicTerm).order_by(AcademicTerm.starts_on.desc())).scalars())


def all_exam_sessions(db: Session) -> list[ExamSession]:
    return list(db.execute(select(ExamSession).order_by(ExamSession.starts_on.desc())).scalars())


def all_disciplines(db: Session) -> list[Discipline]:
    return list(db.execute(select(Discipline).order_by(Discipline.code)).scalars())


def all_groups(db: Session) -> list[StudentGroup]:
    return list(db.execute(select(StudentGroup).order_by(StudentGroup.code)).scalars())


def all_rooms(db: Session) -> list[Room]:
    return list(db.execute(select(Room).order_by(Room.code)).scalars())


def exams_overview(db: Session) -> list[Exam]:
    return list(
        db.execute(
            select(Exam)
            .options(
                selectinload(Exam.disciplines),
                selectinload(Exam.groups),
                selectinload(Exam.rooms),
            )
            .order_by(Exam.scheduled_start.desc())
        ).scalars()
    )


def exam_by_id(db: Session, exam_id: int) -> Exam | None:
    return db.get(Exam, exam_id)


def exams_overlapping(db: Session, *, start: datetime, end: datetime) -> list[Exam]:
    """Live exams whose [start, end) window meets the given one (durations are per exam)."""
    candidates = db.execute(
        select(Exam).where(
            Exam.status != ExamStatus.CANCELLED,
            Exam.scheduled_start < end,
        )
    ).scalars()
    return [
        exam
        for exam in candidates
        if exam.scheduled_start + timedelta(minutes=exam.duration_minutes) > start
    ]


def room_ids_of(db: Session, exam_ids: Iterable[int]) -> dict[int, set[int]]:
    rows = db.execute(
        select(ExamRoom.exam_id, ExamRoom.room_id).where(ExamRoom.exam_id.in_(set(exam_ids)))
    ).all()
    result: dict[int, set[int]] = {}
    for exam_id, room_id in rows:
        result.setdefault(exam_id, set()).add(room_id)
    return result


def group_ids_of(db: Session, exam_ids: Iterable[int]) -> dict[int, set[int]]:
    rows = db.execute(
        select(ExamGroup.exam_id, ExamGroup.group_id).where(ExamGroup.exam_id.in_(set(exam_ids)))
    ).all()
    result: dict[int, set[int]] = {}
    for exam_id, group_id in rows:
        result.setdefault(exam_id, set()).add(group_id)
    return result


def students_in_groups(db: Session, group_ids: Iterable[int]) -> list[Student]:
    return list(
        db.execute(
            select(Student)
            .where(Student.group_id.in_(set(group_ids)))
            .options(selectinload(Student.group))
            .order_by(Student.full_name)
        ).scalars()
    )
