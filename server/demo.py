"""The demo term: what ``make run`` loads so every role has something real to look at.

Two departments, a discipline with a bank of 100 approved single-choice items in Kazakh, Russian and
English, a lab of 20 seats, a group of 20 students among whom the admission gates refuse at least
one each, and an exam starting a few minutes from now (or when the caller says: ``starts_in``).
Loading is idempotent: the term is created once, and a new demo exam is scheduled whenever no demo
exam is still to come.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.passwords import hash_password
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
    Item,
    ItemOption,
    ItemOptionText,
    ItemStatus,
    ItemText,
    ItemType,
    ItemVersion,
    Language,
    Role,
    Room,
    RoomProctor,
    Seat,
    Student,
    StudentGroup,
    Topic,
    User,
)

DEMO_TERM = "DEMO-TERM"
DEMO_EXAM_TITLE = "Calculus I — final exam (demo)"
STAFF_PASSWORD = "Demo#2026pass"  # noqa: S105  (documented demo credentials)
STUDENT_PASSWORD = "Student#2026"  # noqa: S105

STAFF = (
    ("registrar", "Dana Registrar", Role.REGISTRAR, None),
    ("proctor", "Ruslan Proctor", Role.PROCTOR, None),
    ("head.math", "Gulnara Head of Mathematics", Role.DEPARTMENT_HEAD, "MATH"),
    ("head.cs", "Timur Head of Computer Science", Role.DEPARTMENT_HEAD, "CS"),
    ("appeals.chair", "Saule Commission Chair", Role.APPEALS_CHAIR, "MATH"),
    ("appeals.member", "Arman Commission Member", Role.APPEALS_MEMBER, "MATH"),
    ("admin", "IT Administrator", Role.ADMIN, None),
)

# (surname, given name) — twenty students of group CS-25.
NAMES = (
    "Abenova Aigerim",
    "Bekov Nurlan",
    "Dauletova Aruzhan",
    "Yesenov Daniyar",
    "Zhaksylykova Madina",
    "Ibraimov Alibek",
    "Kassymova Dinara",
    "Lukpanov Yerlan",
    "Mukanova Zarina",
    "Nurpeisov Askar",
    "Omarova Aliya",
    "Rakhimov Timur",
    "Sadykova Kamila",
    "Tulegenov Bauyrzhan",
    "Utepova Assel",
    "Khamitov Ruslan",
    "Shaimerdenova Aizhan",
    "Yermekov Adil",
    "Zhunusova Laura",
    "Kenzhebekov Miras",
)


@dataclass(frozen=True)
class DemoGate:
    """How a demo student's facts are set so the gates refuse them, and for which reason."""

    r1: Decimal
    r2: Decimal
    attendance: Decimal
    debt: bool


NORMAL = DemoGate(Decimal("78"), Decimal("82"), Decimal("95"), False)
GATES = {
    17: DemoGate(Decimal("40"), Decimal("55"), Decimal("92"), False),  # midterm average 47.5
    18: DemoGate(Decimal("70"), Decimal("75"), Decimal("90"), True),  # tuition debt
    19: DemoGate(Decimal("66"), Decimal("71"), Decimal("72.5"), False),  # attendance
}

Operation = Callable[[int, int], int]

OPERATIONS: dict[str, tuple[str, Operation | None]] = {
    "add": ("+", lambda a, b: a + b),
    "subtract": ("−", lambda a, b: a - b),
    "multiply": ("×", lambda a, b: a * b),
    "divide": ("÷", None),
}
TOPIC_NAMES = {
    "add": "Addition",
    "subtract": "Subtraction",
    "multiply": "Multiplication",
    "divide": "Division",
}
STEMS = {
    Language.KK: "{a} {op} {b} неге тең?",
    Language.RU: "Чему равно {a} {op} {b}?",
    Language.EN: "What is {a} {op} {b}?",
}


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    exam: Exam
    students: list[Student]


def _get_or_create_department(db: Session, code: str, name: str) -> Department:
    found = db.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if found:
        return found
    department = Department(code=code, name=name)
    db.add(department)
    db.flush()
    return department


def _bank(db: Session, discipline: Discipline, author: User) -> None:
    rng = random.Random(2026)  # noqa: S311  (demo content, not security)
    topics = {}
    for key, name in TOPIC_NAMES.items():
        topic = Topic(discipline_id=discipline.id, name=name)
        db.add(topic)
        topics[key] = topic
    db.flush()
    for number in range(100):
        key = list(OPERATIONS)[number % 4]
        symbol, operation = OPERATIONS[key]
        if key == "divide":
            b = rng.randint(2, 12)
            answer = rng.randint(2, 15)
            a = answer * b
        else:
            a, b = rng.randint(11, 60), rng.randint(2, 40)
            assert operation is not None
            answer = operation(a, b)
        distractors: set[int] = set()
        while len(distractors) < 3:
            candidate = answer + rng.choice([-10, -2, -1, 1, 2, 10, 3, -3])
            if candidate != answer:
                distractors.add(candidate)
        values = [answer, *sorted(distractors)]
        item = Item(
            discipline_id=discipline.id,
            topic_id=topics[key].id,
            external_ref=f"demo-{number + 1:03d}",
            status=ItemStatus.APPROVED,
        )
        version = ItemVersion(
            item=item,
            version=1,
            type=ItemType.SINGLE_CHOICE,
            shuffle_options=True,
            difficulty=1 + number % 3,
            source_format="demo",
            created_by_id=author.id,
        )
        version.texts = [
            ItemText(language=lang, text=stem.format(a=a, op=symbol, b=b))
            for lang, stem in STEMS.items()
        ]
        version.options = [
            ItemOption(
                position=position,
                fraction=Decimal(1) if value == answer else Decimal(0),
                texts=[ItemOptionText(language=lang, text=str(value)) for lang in Language],
            )
            for position, value in enumerate(values, start=1)
        ]
        db.add(item)
        db.add(version)
    db.flush()


def _enrol_student(
    db: Session,
    *,
    id_code: str,
    name: str,
    group: StudentGroup,
    locale: Language,
    password_hash: str,
    gate: DemoGate,
    discipline: Discipline,
    term: AcademicTerm,
) -> None:
    """A demo student with an account and an enrolment whose facts pass or fail the gates."""
    user = User(
        login=id_code, full_name=name, role=Role.STUDENT, password_hash=password_hash, locale=locale
    )
    student = Student(id_code=id_code, full_name=name, group_id=group.id, user=user)
    db.add(student)
    db.flush()
    db.add(
        Enrolment(
            student_id=student.id,
            discipline_id=discipline.id,
            term_id=term.id,
            r1=gate.r1,
            r2=gate.r2,
            attendance_percent=gate.attendance,
            tuition_debt=gate.debt,
        )
    )


def _load_term(db: Session, today: date) -> None:
    cs = _get_or_create_department(db, "CS", "Computer Science")
    math = _get_or_create_department(db, "MATH", "Mathematics")
    term = AcademicTerm(
        code=DEMO_TERM,
        name="Demo term",
        starts_on=today - timedelta(days=90),
        ends_on=today + timedelta(days=60),
    )
    db.add(term)
    db.flush()
    db.add(
        ExamSession(
            term_id=term.id,
            name="Demo exam session",
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=30),
        )
    )
    calculus = Discipline(code="MATH101", name="Calculus I", department_id=math.id, credits=5)
    algorithms = Discipline(code="CS201", name="Algorithms", department_id=cs.id, credits=5)
    db.add_all([calculus, algorithms])
    staff_hash = hash_password(STAFF_PASSWORD)
    departments = {"CS": cs.id, "MATH": math.id}
    users = {}
    for login, name, role, department in STAFF:
        user = User(
            login=login,
            full_name=name,
            role=role,
            password_hash=staff_hash,
            department_id=departments.get(department or ""),
            locale=Language.EN,
        )
        db.add(user)
        users[login] = user
    db.flush()
    _bank(db, calculus, users["head.math"])

    room = Room(code="LAB-301", name="Computer lab 301")
    room.seats = [Seat(label=f"PC-{n:02d}") for n in range(1, 21)]
    db.add(room)
    group = StudentGroup(code="CS-25", department_id=cs.id)
    other = StudentGroup(code="CS-24", department_id=cs.id)
    db.add_all([group, other])
    db.flush()
    student_hash = hash_password(STUDENT_PASSWORD)
    for index, name in enumerate(NAMES):
        _enrol_student(
            db,
            id_code=f"S25{index + 1:03d}",
            name=name,
            group=group,
            locale=Language.KK,
            password_hash=student_hash,
            gate=GATES.get(index, NORMAL),
            discipline=calculus,
            term=term,
        )
    # A student of another group: refused as "not in this exam's groups" if they try to sign in.
    _enrol_student(
        db,
        id_code="S24001",
        name="Sarsenov Aidos",
        group=other,
        locale=Language.RU,
        password_hash=student_hash,
        gate=NORMAL,
        discipline=calculus,
        term=term,
    )
    db.flush()


DEFAULT_LEAD_TIME = timedelta(minutes=15)


def demo_exam_start(now: datetime, starts_in: timedelta | None) -> datetime:
    """When a new demo exam starts: exactly ``starts_in`` after ``now``, else about 15 minutes."""
    # An explicit lead time is kept to the second: a browser test needs a check-in open at once
    # (or an exam already under way, with a negative lead). The default is rounded up to five
    # minutes so the start is easy to read out in the lab.
    if starts_in is not None:
        return (now + starts_in).replace(microsecond=0)
    start = (now + DEFAULT_LEAD_TIME).replace(second=0, microsecond=0)
    return start + timedelta(minutes=(5 - start.minute % 5) % 5)


def load_demo(db: Session, *, now: datetime, starts_in: timedelta | None = None) -> DemoSummary:
    """Load the demo term once; schedule a demo exam whenever none is still to come."""
    created = False
    term = db.execute(
        select(AcademicTerm).where(AcademicTerm.code == DEMO_TERM)
    ).scalar_one_or_none()
    if term is None:
        _load_term(db, now.date())
        created = True
    session = db.execute(
        select(ExamSession).join(AcademicTerm).where(AcademicTerm.code == DEMO_TERM)
    ).scalar_one()
    upcoming = (
        db.execute(select(Exam).where(Exam.title == DEMO_EXAM_TITLE, Exam.scheduled_start > now))
        .scalars()
        .first()
    )
    if upcoming is None:
        start = demo_exam_start(now, starts_in)
        if session.ends_on < start.date():
            session.ends_on = start.date()
        calculus = db.execute(select(Discipline).where(Discipline.code == "MATH101")).scalar_one()
        group = db.execute(select(StudentGroup).where(StudentGroup.code == "CS-25")).scalar_one()
        room = db.execute(select(Room).where(Room.code == "LAB-301")).scalar_one()
        registrar = db.execute(select(User).where(User.login == "registrar")).scalar_one()
        upcoming = Exam(
            exam_session_id=session.id,
            title=DEMO_EXAM_TITLE,
            scheduled_start=start,
            duration_minutes=60,
            created_by_id=registrar.id,
            disciplines=[ExamDiscipline(discipline_id=calculus.id, position=1)],
            groups=[ExamGroup(group_id=group.id)],
            rooms=[ExamRoom(room_id=room.id)],
        )
        db.add(upcoming)
        db.flush()
        proctor = db.execute(select(User).where(User.login == "proctor")).scalar_one()
        db.add(
            RoomProctor(
                exam_id=upcoming.id,
                room_id=room.id,
                user_id=proctor.id,
                assigned_by_id=registrar.id,
                assigned_at=now,
            )
        )
        record(
            db,
            actor=registrar,
            action="registrar.exam_scheduled",
            subject=f"exam:{upcoming.id}",
            details={"title": DEMO_EXAM_TITLE, "demo": True},
            at=now,
        )
    students = list(db.execute(select(Student).order_by(Student.id_code)).scalars())
    return DemoSummary(created=created, exam=upcoming, students=students)
