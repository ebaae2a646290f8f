"""Drawing and freezing a student's paper: the exact item versions and option order (R 4.5).

The paper is drawn when the student signs in at the seat, before the proctor admits them, so
the start of the exam only unlocks what is already stored: a reload, a crash or a move to
another seat shows the same paper, and the exam-start moment does no drawing at all.
"""

from __future__ import annotations

import random
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import (
    Attempt,
    Blueprint,
    Exam,
    Item,
    ItemOption,
    ItemStatus,
    ItemType,
    ItemVersion,
    PaperQuestion,
)
from server.rules.draw import (
    Candidate,
    DrawImpossible,
    Quota,
    draw_questions,
    option_order,
    whole_discipline,
)
from server.seat.errors import PaperNotReady

# The item types the seat renders and scores today; other imported types are never drawn.
SEAT_TYPES = frozenset({ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_RESPONSE, ItemType.TRUE_FALSE})


def candidates(db: Session, discipline_id: int) -> list[Candidate]:
    """The current versions of the discipline's approved items that the seat can deliver."""
    rows = db.execute(
        select(ItemVersion.id, Item.topic_id, ItemVersion.difficulty)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(
            Item.discipline_id == discipline_id,
            Item.status == ItemStatus.APPROVED,
            ItemVersion.version == Item.current_version,
            ItemVersion.deliverable.is_(True),
            ItemVersion.type.in_(SEAT_TYPES),
        )
    ).all()
    return [Candidate(item_version_id=v, topic_id=t, difficulty=d) for v, t, d in rows]


def quotas(db: Session, discipline_id: int, question_count: int) -> list[Quota]:
    blueprint = db.execute(
        select(Blueprint).where(Blueprint.discipline_id == discipline_id)
    ).scalar_one_or_none()
    if blueprint is None or not blueprint.rules:
        return whole_discipline(question_count)
    return [
        Quota(topic_id=rule.topic_id, difficulty=rule.difficulty, count=rule.count)
        for rule in blueprint.rules
    ]


def _options_by_version(db: Session, version_ids: list[int]) -> dict[int, list[int]]:
    rows = db.execute(
        select(ItemOption.item_version_id, ItemOption.id)
        .where(ItemOption.item_version_id.in_(version_ids))
        .order_by(ItemOption.item_version_id, ItemOption.position)
    ).all()
    options: dict[int, list[int]] = defaultdict(list)
    for version_id, option_id in rows:
        options[version_id].append(option_id)
    return options


def _shuffles(db: Session, version_ids: list[int]) -> dict[int, bool]:
    rows = db.execute(
        select(ItemVersion.id, ItemVersion.shuffle_options).where(ItemVersion.id.in_(version_ids))
    ).all()
    return dict(rows)


def draw_paper(db: Session, *, attempt: Attempt, exam: Exam, rng: random.Random) -> None:
    """Store the attempt's paper: ``question_count`` questions per discipline, in exam order.

    PaperNotReady names the first discipline whose approved items cannot fill its blueprint;
    the caller's transaction then stores nothing.
    """
    position = 1
    for exam_discipline in exam.disciplines:
        pool = candidates(db, exam_discipline.discipline_id)
        plan = quotas(db, exam_discipline.discipline_id, exam_discipline.question_count)
        if sum(q.count for q in plan) != exam_discipline.question_count:
            raise PaperNotReady(discipline=exam_discipline.discipline.name)
        try:
            version_ids = draw_questions(pool, plan, rng)
        except DrawImpossible:
            raise PaperNotReady(discipline=exam_discipline.discipline.name) from None
        options = _options_by_version(db, version_ids)
        shuffles = _shuffles(db, version_ids)
        for version_id in version_ids:
            db.add(
                PaperQuestion(
                    attempt_id=attempt.id,
                    position=position,
                    discipline_id=exam_discipline.discipline_id,
                    item_version_id=version_id,
                    option_order=option_order(
                        options[version_id], shuffle=shuffles[version_id], rng=rng
                    ),
                )
            )
            position += 1
    db.flush()
