"""A sitting ready for the seat: a bank of approved items, a room, an enrolled student."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from question_bank.model import MatchPair, Option, Question, QuestionType
from server.bank.content import add_language, fill_version
from server.config import Settings
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
from server.seat.links import seat_token
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


# -- the imported types beyond choice, stored the way the importer stores them ---------------------

NEW_KINDS = (ItemType.SHORT_ANSWER, ItemType.NUMERICAL, ItemType.MATCHING, ItemType.ORDERING)
CAPITALS = (("Astana", 1.0), ("Nur-Sultan", 0.5))
GRAVITY = (("9.81", 1.0, 0.05), ("10", 0.5, 0.0))
UNITS = (("force", "newton"), ("energy", "joule"), ("power", "watt"), ("", "pascal"))
SPECTRUM = ("violet", "blue", "green", "red")
# Kazakh texts of the same items: the answers a Kazakh paper accepts and shows.
KK_CAPITALS = (("Астана", 1.0), ("Нұр-Сұлтан", 0.5))
KK_UNITS = (("күш", "ньютон"), ("энергия", "джоуль"), ("қуат", "ватт"), ("", "паскаль"))
KK_SPECTRUM = ("күлгін", "көк", "жасыл", "қызыл")


def short_answer_question(
    number: int,
    *,
    answers: Sequence[tuple[str, float]] = CAPITALS,
    case_sensitive: bool = False,
    text: str = "Question {n}: the capital of Kazakhstan?",
) -> Question:
    return Question(
        name=f"item-{number}",
        type=QuestionType.SHORT_ANSWER,
        source_type="shortanswer",
        text=text.format(n=number),
        options=tuple(Option(answer, fraction) for answer, fraction in answers),
        case_sensitive=case_sensitive,
    )


def numerical_question(
    number: int, *, answers: Sequence[tuple[str, float, float]] = GRAVITY
) -> Question:
    return Question(
        name=f"item-{number}",
        type=QuestionType.NUMERICAL,
        source_type="numerical",
        text=f"Question {number}: g at sea level, in m/s²?",
        options=tuple(
            Option(value, fraction, "", tolerance) for value, fraction, tolerance in answers
        ),
        shuffle=False,
    )


def matching_question(
    number: int, *, pairs: Sequence[tuple[str, str]] = UNITS, text: str = "Question {n}: units"
) -> Question:
    return Question(
        name=f"item-{number}",
        type=QuestionType.MATCHING,
        source_type="match",
        text=text.format(n=number),
        pairs=tuple(MatchPair(prompt, answer) for prompt, answer in pairs),
    )


def ordering_question(
    number: int, *, entries: Sequence[str] = SPECTRUM, text: str = "Question {n}: by wavelength"
) -> Question:
    return Question(
        name=f"item-{number}",
        type=QuestionType.ORDERING,
        source_type="ordering",
        text=text.format(n=number),
        ordering_items=tuple(entries),
    )


def kazakh(question: Question) -> Question:
    """The same item in Kazakh: same structure, Kazakh texts (numbers stay numbers)."""
    text = question.text.replace("Question", "Сұрақ")
    if question.type is QuestionType.SHORT_ANSWER:
        options = tuple(Option(a, f) for a, f in KK_CAPITALS[: len(question.options)])
        return replace(question, text=text, options=options)
    if question.type is QuestionType.MATCHING:
        pairs = tuple(MatchPair(p, a) for p, a in KK_UNITS[: len(question.pairs)])
        return replace(question, text=text, pairs=pairs)
    if question.type is QuestionType.ORDERING:
        return replace(
            question, text=text, ordering_items=KK_SPECTRUM[: len(question.ordering_items)]
        )
    return replace(question, text=text)


def _unchanged(markup: str) -> str:
    return markup


def create_imported_item(
    db: Session,
    *,
    discipline: Discipline,
    question: Question,
    translations: Sequence[tuple[Language, Question]] = (),
    status: ItemStatus = ItemStatus.APPROVED,
) -> ItemVersion:
    """An item stored by the importer's own code (server.bank.content), in English first."""
    item = Item(discipline_id=discipline.id, status=status)
    db.add(item)
    db.flush()
    version = ItemVersion(
        item_id=item.id, version=1, type=question.type, shuffle_options=question.shuffle
    )
    fill_version(version, question, Language.EN, _unchanged)
    for language, translated in translations:
        add_language(version, translated, language, _unchanged)
    db.add(version)
    db.flush()
    return version


QUESTION_OF_KIND = {
    ItemType.SHORT_ANSWER: short_answer_question,
    ItemType.NUMERICAL: numerical_question,
    ItemType.MATCHING: matching_question,
    ItemType.ORDERING: ordering_question,
}


def create_new_kind_items(
    db: Session, discipline: Discipline, *, first_number: int, kinds: Sequence[ItemType] = NEW_KINDS
) -> list[ItemVersion]:
    """One item of each kind, in English and Kazakh."""
    versions = []
    for number, kind in enumerate(kinds, start=first_number):
        question = QUESTION_OF_KIND[kind](number)
        versions.append(
            create_imported_item(
                db,
                discipline=discipline,
                question=question,
                translations=[(Language.KK, kazakh(question))],
            )
        )
    return versions


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
    kinds: Sequence[ItemType] = (),
) -> World:
    """A sitting ready for the seat; ``kinds``: one item of each of these kinds joins the bank.

    With ``bank_size + len(kinds) == 25`` the paper holds every item of the bank.
    """
    term = factories.create_term(db)
    session = factories.create_exam_session(db, term=term)
    discipline = factories.create_discipline(db)
    group = factories.create_group(db)
    room = factories.create_room(db, seats=3)
    bank = create_bank(db, discipline, size=bank_size)
    bank += create_new_kind_items(db, discipline, first_number=bank_size + 1, kinds=kinds)
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


def sign_in_at_seat(
    client: TestClient,
    settings: Settings,
    world: World,
    *,
    password: str = factories.PASSWORD,
    language: str = "en",
) -> httpx.Response:
    """The student opens the first seat's start page and signs in, as the workstation does."""
    token = seat_token(settings, world.seats[0].id)
    client.get(f"/seat/{token}")
    return client.post(
        f"/seat/{token}",
        data={
            "id_code": world.student.id_code,
            "password": password,
            "language": language,
            "csrf_token": factories.csrf(client),
        },
        follow_redirects=False,
    )
