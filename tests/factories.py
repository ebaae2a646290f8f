"""Keyword-only factories for test data; each flushes so ids exist, none commits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.auth.passwords import hash_password
from server.auth.service import CheckedPassword, check_password
from server.config import Settings
from server.db import utcnow
from server.models import (
    AcademicTerm,
    Department,
    Discipline,
    Enrolment,
    Exam,
    ExamDiscipline,
    ExamGroup,
    ExamRoom,
    ExamSession,
    Language,
    Role,
    Room,
    RoomProctor,
    Seat,
    Student,
    StudentGroup,
    User,
)

PASSWORD = "Correct#Horse9"
_serial = count(1)


def _next() -> int:
    return next(_serial)


def create_department(
    db: Session, *, code: str | None = None, name: str = "Department"
) -> Department:
    department = Department(code=code or f"D{_next()}", name=name)
    db.add(department)
    db.flush()
    return department


def create_discipline(
    db: Session,
    *,
    department: Department | None = None,
    code: str | None = None,
    name: str = "Discipline",
) -> Discipline:
    department = department or create_department(db)
    discipline = Discipline(code=code or f"DS{_next()}", name=name, department_id=department.id)
    db.add(discipline)
    db.flush()
    return discipline


def create_term(db: Session, *, code: str | None = None, today: date | None = None) -> AcademicTerm:
    today = today or utcnow().date()
    term = AcademicTerm(
        code=code or f"T{_next()}",
        name="Term",
        starts_on=today - timedelta(days=60),
        ends_on=today + timedelta(days=60),
    )
    db.add(term)
    db.flush()
    return term


def create_exam_session(db: Session, *, term: AcademicTerm | None = None) -> ExamSession:
    term = term or create_term(db)
    session = ExamSession(
        term_id=term.id, name="Session", starts_on=term.starts_on, ends_on=term.ends_on
    )
    db.add(session)
    db.flush()
    return session


def create_group(db: Session, *, code: str | None = None) -> StudentGroup:
    group = StudentGroup(code=code or f"G{_next()}")
    db.add(group)
    db.flush()
    return group


def create_room(db: Session, *, code: str | None = None, seats: int = 3) -> Room:
    room = Room(code=code or f"R{_next()}", name="Lab")
    room.seats = [Seat(label=f"PC-{n:02d}") for n in range(1, seats + 1)]
    db.add(room)
    db.flush()
    return room


def create_user(
    db: Session,
    *,
    role: Role = Role.REGISTRAR,
    login: str | None = None,
    password: str = PASSWORD,
    changed_at: datetime | None = None,
    locale: Language = Language.EN,
) -> User:
    user = User(
        login=login or f"user{_next()}",
        full_name="Test User",
        role=role,
        password_hash=hash_password(password),
        password_changed_at=changed_at or utcnow(),
        locale=locale,
    )
    db.add(user)
    db.flush()
    return user


def create_student(
    db: Session,
    *,
    group: StudentGroup | None = None,
    id_code: str | None = None,
    password: str = PASSWORD,
) -> Student:
    group = group or create_group(db)
    code = id_code or f"S{_next():05d}"
    user = create_user(db, role=Role.STUDENT, login=code, password=password)
    student = Student(id_code=code, full_name=f"Student {code}", group_id=group.id, user=user)
    db.add(student)
    db.flush()
    return student


def create_enrolment(
    db: Session,
    *,
    student: Student,
    discipline: Discipline,
    term: AcademicTerm,
    r1: str | None = "70",
    r2: str | None = "70",
    attendance: str | None = "90",
    debt: bool = False,
) -> Enrolment:
    enrolment = Enrolment(
        student_id=student.id,
        discipline_id=discipline.id,
        term_id=term.id,
        r1=None if r1 is None else Decimal(r1),
        r2=None if r2 is None else Decimal(r2),
        attendance_percent=None if attendance is None else Decimal(attendance),
        tuition_debt=debt,
    )
    db.add(enrolment)
    db.flush()
    return enrolment


def create_exam(
    db: Session,
    *,
    session: ExamSession,
    disciplines: list[Discipline],
    groups: list[StudentGroup],
    rooms: list[Room],
    start: datetime | None = None,
    title: str = "Exam",
) -> Exam:
    exam = Exam(
        exam_session_id=session.id,
        title=title,
        scheduled_start=start or utcnow() + timedelta(hours=2),
        disciplines=[
            ExamDiscipline(discipline_id=d.id, position=i)
            for i, d in enumerate(disciplines, start=1)
        ],
        groups=[ExamGroup(group_id=g.id) for g in groups],
        rooms=[ExamRoom(room_id=r.id) for r in rooms],
    )
    db.add(exam)
    db.flush()
    return exam


def csrf(client: TestClient) -> str:
    """The CSRF token the browser would hold (fetching a page sets the cookie)."""
    if "emtihan_csrf" not in client.cookies:
        client.get("/login")
    return str(client.cookies["emtihan_csrf"])


def sign_in(client: TestClient, user: User, *, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"login": user.login, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def checked_password(
    db: Session,
    settings: Settings,
    login: str,
    *,
    password: str = PASSWORD,
    address: str = "10.0.0.1",
    now: datetime | None = None,
) -> CheckedPassword:
    """A login and password checked as the seat's sign-in does before its write."""
    return check_password(
        db, settings, login=login, password=password, address=address, now=now or utcnow()
    )


def assign_proctor(db: Session, *, exam: Exam, room: Room, user: User) -> RoomProctor:
    """The registrar's assignment of a proctor to a room for an exam (R 4.13)."""
    assignment = RoomProctor(exam_id=exam.id, room_id=room.id, user_id=user.id)
    db.add(assignment)
    db.flush()
    return assignment
