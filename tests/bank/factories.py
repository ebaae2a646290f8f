"""Factories for the question bank's tests (keyword-only; each flushes, none commits)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from question_bank import inspect_bytes
from server.bank import importer
from server.db import utcnow
from server.models import (
    Attempt,
    Department,
    Discipline,
    Item,
    Language,
    PaperQuestion,
    Role,
    Student,
    User,
)
from tests.factories import (
    create_discipline,
    create_exam,
    create_exam_session,
    create_group,
    create_room,
    create_user,
)

GIFT = """$CATEGORY: $course$/top/Physics/Optics

::Q1:: What colour is between orange and green? {=yellow ~red ~blue}

::Q2:: Light travels faster than sound. {T}

$CATEGORY: $course$/top/Physics/Units

::Q3:: The SI unit of force? {=newton =N}
"""


def create_head(db: Session, *, department: Department | int | None) -> User:
    user = create_user(db, role=Role.DEPARTMENT_HEAD)
    user.department_id = department.id if isinstance(department, Department) else department
    db.flush()
    return user


def import_text(
    db: Session,
    *,
    discipline: Discipline,
    text: str | bytes,
    name: str = "bank.gift",
    language: Language = Language.EN,
    actor: User | None = None,
    approve: bool = False,
) -> importer.ImportSummary:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importer.import_reports(
        db,
        discipline=discipline,
        reports=[inspect_bytes(data, name)],
        language=language,
        actor=actor,
        acknowledge_warnings=True,
        approve=approve,
        source=name,
        now=utcnow(),
    )


def create_bank(
    db: Session, *, discipline: Discipline | None = None, approve: bool = True
) -> Discipline:
    discipline = discipline or create_discipline(db)
    import_text(db, discipline=discipline, text=GIFT, approve=approve)
    return discipline


def create_approved_items(
    db: Session, *, discipline: Discipline, count: int, category: str = "Topic"
) -> None:
    blocks = [f"$CATEGORY: {category}"]
    blocks += [f"::{category}-{n}:: Is {n} a {category} number? {{=yes ~no}}" for n in range(count)]
    import_text(db, discipline=discipline, text="\n\n".join(blocks), approve=True)


def create_attempt_holding(
    db: Session, *, student: Student, item_version_id: int, discipline: Discipline
) -> Attempt:
    exam = create_exam(
        db,
        session=create_exam_session(db),
        disciplines=[discipline],
        groups=[create_group(db)],
        rooms=[create_room(db)],
    )
    attempt = Attempt(
        exam_id=exam.id,
        student_id=student.id,
        language=Language.EN,
        deadline=utcnow() + timedelta(hours=1),
    )
    db.add(attempt)
    db.flush()
    db.add(
        PaperQuestion(
            attempt_id=attempt.id,
            position=1,
            discipline_id=discipline.id,
            item_version_id=item_version_id,
            option_order=[],
        )
    )
    db.flush()
    return attempt


def items_of(db: Session, discipline: Discipline) -> list[Item]:
    from sqlalchemy import select

    return list(
        db.execute(select(Item).where(Item.discipline_id == discipline.id).order_by(Item.id))
        .scalars()
        .all()
    )
