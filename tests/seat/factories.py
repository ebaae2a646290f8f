"""A sitting ready for the seat: a bank of approved items, a room, an enrolled student."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import (
    Discipline,
    Exam,
    ExamRoom,
    Item,
    ItemOption,
    ItemOptionText,
    ItemStatus,
    ItemText,
    ItemType,
    ItemVersion,
    Language,
    Room,
    Seat,
    Student,
    StudentGroup,
)
from tests import factories

KEY_MARK = "KEY"  # a word that appears nowhere in the item texts


def create_item(
    db: Session,
    *,
    discipline: Discipline,
    number: int,
    kind: ItemType = ItemType.SINGLE_CHOICE,
    status: ItemStatus = ItemStatus.APPROVED,
    shuffle: bool = True,
    fractions: tuple[str, ...] = ("1", "0", "0", "0"),
    topic_id: int | None = None,
    difficulty: int | None = None,
) -> ItemVersion:
    item = Item(discipline_id=discipline.id, status=status, topic_id=topic_id)
    db.add(item)
    db.flush()
    version = ItemVersion(
        item_id=item.id,
        version=1,
        type=kind,
        shuffle_options=shuffle,
        difficulty=difficulty,
        texts=[
            ItemText(language=Language.KK, text=f"Сұрақ {number}"),
            ItemText(language=Language.RU, text=f"Вопрос {number}"),
            ItemText(language=Language.EN, text=f"Question {number}"),
        ],
        options=[
            ItemOption(
                position=position,
                fraction=Decimal(fraction),
                texts=[
                    ItemOptionText(language=Language.KK, text=f"Жауап {number}.{position}"),
                    ItemOptionText(language=Language.EN, text=f"Answer {number}.{position}"),
                ],
            )
            for position, fraction in enumerate(fractions, start=1)
        ],
    )
    db.add(version)
    db.flush()
    return version


def create_bank(db: Session, discipline: Discipline, *, size: int = 30) -> list[ItemVersion]:
    return [create_item(db, discipline=discipline, number=n) for n in range(1, size + 1)]


@dataclass
class World:
    exam: Exam
    exam_room: ExamRoom
    room: Room
    seats: list[Seat]
    discipline: Discipline
    group: StudentGroup
    student: Student
    bank: list[ItemVersion]

    @property
    def start(self) -> datetime:
        return self.exam.scheduled_start

    def enrol(self, db: Session, student: Student, **facts: str | bool | None) -> None:
        factories.create_enrolment(
            db,
            student=student,
            discipline=self.discipline,
            term=self.exam.exam_session.term,
            **facts,  # type: ignore[arg-type]
        )

    def new_student(self, db: Session, **facts: str | bool | None) -> Student:
        student = factories.create_student(db, group=self.group)
        self.enrol(db, student, **facts)
        return student


def create_world(
    db: Session,
    *,
    start: datetime | None = None,
    bank_size: int = 30,
    opened: bool = True,
) -> World:
    term = factories.create_term(db)
    session = factories.create_exam_session(db, term=term)
    discipline = factories.create_discipline(db)
    group = factories.create_group(db)
    room = factories.create_room(db, seats=3)
    bank = create_bank(db, discipline, size=bank_size)
    exam = factories.create_exam(
        db,
        session=session,
        disciplines=[discipline],
        groups=[group],
        rooms=[room],
        start=start or utcnow() + timedelta(minutes=5),
    )
    exam_room = exam.rooms[0]
    if opened:
        exam_room.activated_at = utcnow()
    student = factories.create_student(db, group=group)
    factories.create_enrolment(db, student=student, discipline=discipline, term=term)
    db.flush()
    return World(
        exam=exam,
        exam_room=exam_room,
        room=room,
        seats=list(room.seats),
        discipline=discipline,
        group=group,
        student=student,
        bank=bank,
    )
