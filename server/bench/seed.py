"""The bench's own term in a fresh database: one exam, N examinees in rooms of 50, a proctor.

Everything the real server needs for the storm and nothing more: a department, a term with its
exam session, a discipline whose bank holds 100 approved single-choice items in Kazakh, Russian
and English, rooms of 50 seats, groups of examinees whose enrolments pass every admission gate,
and one proctor assigned to every room. A second, small sitting (its own group, room and exam)
serves the closed-loop saturation sub-run, so it never touches the storm's rooms or events.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

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

SEATS_PER_ROOM = 50
BANK_SIZE = 100
TOPICS = ("Sets", "Relations", "Graphs", "Counting")
PROCTOR_LOGIN = "bench.proctor"
# Both meet the staff password policy; examinees and the proctor share it.
PASSWORD = "Bench#2026pass"  # noqa: S105  (a throwaway database's only password)
STEMS = {
    Language.KK: "Орындық сұрақ {n}: қай жауап дұрыс?",
    Language.RU: "Вопрос стенда {n}: какой ответ верный?",
    Language.EN: "Bench question {n}: which answer is right?",
}


@dataclass(frozen=True)
class Examinee:
    id_code: str
    room_id: int
    seat_id: int
    language: Language


@dataclass(frozen=True)
class SittingSeed:
    exam_id: int
    room_ids: list[int]
    examinees: list[Examinee]


@dataclass(frozen=True)
class BenchSeed:
    storm: SittingSeed
    saturation: SittingSeed
    proctor_login: str
    password: str


def _bank(db: Session, discipline: Discipline, author: User, rng: random.Random) -> None:
    topics = [Topic(discipline_id=discipline.id, name=name) for name in TOPICS]
    db.add_all(topics)
    db.flush()
    for number in range(1, BANK_SIZE + 1):
        right = rng.randrange(4)
        item = Item(
            discipline_id=discipline.id,
            topic_id=topics[number % len(topics)].id,
            external_ref=f"bench-{number:03d}",
            status=ItemStatus.APPROVED,
        )
        version = ItemVersion(
            item=item,
            version=1,
            type=ItemType.SINGLE_CHOICE,
            shuffle_options=True,
            difficulty=1 + number % 3,
            source_format="bench",
            created_by_id=author.id,
        )
        version.texts = [
            ItemText(language=language, text=stem.format(n=number))
            for language, stem in STEMS.items()
        ]
        version.options = [
            ItemOption(
                position=position,
                fraction=Decimal(1) if position - 1 == right else Decimal(0),
                texts=[
                    ItemOptionText(language=language, text=f"{number}.{position}")
                    for language in Language
                ],
            )
            for position in range(1, 5)
        ]
        db.add_all([item, version])
    db.flush()


@dataclass(frozen=True)
class _Term:
    """What every sitting of the bench shares."""

    start: datetime
    session: ExamSession
    term: AcademicTerm
    discipline: Discipline
    department: Department
    proctor: User
    password_hash: str
    rng: random.Random


def _sitting(db: Session, bench: _Term, *, code: str, title: str, examinees: int) -> SittingSeed:
    department, discipline, proctor = bench.department, bench.discipline, bench.proctor
    rng = bench.rng
    group = StudentGroup(code=code, department_id=department.id)
    db.add(group)
    rooms = []
    for number in range(1, math.ceil(examinees / SEATS_PER_ROOM) + 1):
        room = Room(code=f"{code}-{number:03d}", name=f"{title}, room {number}")
        room.seats = [Seat(label=f"PC-{n:02d}") for n in range(1, SEATS_PER_ROOM + 1)]
        rooms.append(room)
    db.add_all(rooms)
    db.flush()
    exam = Exam(
        exam_session_id=bench.session.id,
        title=title,
        scheduled_start=bench.start,
        duration_minutes=60,
        created_by_id=proctor.id,
        disciplines=[ExamDiscipline(discipline_id=discipline.id, position=1)],
        groups=[ExamGroup(group_id=group.id)],
        rooms=[ExamRoom(room_id=room.id) for room in rooms],
    )
    db.add(exam)
    db.flush()
    db.add_all(RoomProctor(exam_id=exam.id, room_id=room.id, user_id=proctor.id) for room in rooms)
    seated = []
    languages = list(Language)
    for index in range(examinees):
        id_code = f"{code}{index + 1:05d}"
        language = languages[rng.randrange(len(languages))]
        user = User(
            login=id_code,
            full_name=f"Examinee {index + 1:05d}",
            role=Role.STUDENT,
            password_hash=bench.password_hash,
            locale=language,
        )
        student = Student(id_code=id_code, full_name=user.full_name, group=group, user=user)
        db.add(student)
        db.add(
            Enrolment(
                student=student,
                discipline_id=discipline.id,
                term_id=bench.term.id,
                r1=Decimal("75"),
                r2=Decimal("80"),
                attendance_percent=Decimal("95"),
                tuition_debt=False,
            )
        )
        room = rooms[index // SEATS_PER_ROOM]
        seat = room.seats[index % SEATS_PER_ROOM]
        seated.append((id_code, room, seat, language))
    db.flush()
    return SittingSeed(
        exam_id=exam.id,
        room_ids=[room.id for room in rooms],
        examinees=[
            Examinee(id_code=id_code, room_id=room.id, seat_id=seat.id, language=language)
            for id_code, room, seat, language in seated
        ],
    )


def seed_bench(
    db: Session, *, examinees: int, saturation_clients: int, now: datetime, rng: random.Random
) -> BenchSeed:
    """Load the bench term; both exams start in five minutes until ``reschedule`` moves them.

    Five minutes: inside the check-in window (start − 10 min), so the rooms can be opened and the
    consoles connected before the sign-in phase fixes the real start.
    """
    # Argon2 is deliberately slow (about 20 ms per hash at the server's parameters): hashing
    # one password per examinee would make seeding 2,000 of them take most of a minute. Every
    # account gets the same hash string; each sign-in still verifies it in full, which is part
    # of what the bench measures. Hashed with the bench's own settings, the same EMTIHAN_ARGON2_*
    # the server is started with, so no sign-in upgrades it.
    password_hash = hash_password(PASSWORD)
    today: date = now.date()
    department = Department(code="BENCH", name="Bench department")
    db.add(department)
    db.flush()
    term = AcademicTerm(
        code="BENCH-TERM",
        name="Bench term",
        starts_on=today - timedelta(days=90),
        ends_on=today + timedelta(days=60),
    )
    db.add(term)
    db.flush()
    session = ExamSession(
        term_id=term.id,
        name="Bench exam session",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
    )
    discipline = Discipline(code="BENCH101", name="Bench discipline", department_id=department.id)
    proctor = User(
        login=PROCTOR_LOGIN,
        full_name="Bench Proctor",
        role=Role.PROCTOR,
        password_hash=password_hash,
        locale=Language.EN,
        password_changed_at=now,
    )
    db.add_all([session, discipline, proctor])
    db.flush()
    _bank(db, discipline, proctor, rng)
    bench = _Term(
        start=now + timedelta(minutes=5),
        session=session,
        term=term,
        discipline=discipline,
        department=department,
        proctor=proctor,
        password_hash=password_hash,
        rng=rng,
    )
    storm = _sitting(db, bench, code="B", title="Bench exam", examinees=examinees)
    saturation = _sitting(
        db, bench, code="K", title="Bench saturation", examinees=saturation_clients
    )
    return BenchSeed(
        storm=storm, saturation=saturation, proctor_login=PROCTOR_LOGIN, password=PASSWORD
    )


def reschedule(db: Session, *, exam_id: int, start: datetime) -> None:
    """Move an exam's start before anyone has signed in (deadlines are fixed at sign-in)."""
    db.execute(update(Exam).where(Exam.id == exam_id).values(scheduled_start=start))
