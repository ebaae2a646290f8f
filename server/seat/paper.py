"""Drawing and freezing a student's paper: the exact item versions and option order (R 4.5).

The paper is drawn when the student signs in at the seat, before the proctor admits them, so
the start of the exam only unlocks what is already stored: a reload, a crash or a move to
another seat shows the same paper, and the exam-start moment does no drawing at all.

What ``option_order`` holds depends on the item type (see ``server.seat.answers``): the option
ids of a choice item, shuffled unless the item forbids it; nothing for short answer and
numerical (their options are the key and are never shown); the choice ids of a matching item
and the entry ids of an ordering item, always shuffled (as Moodle does: an ordering item shown
unshuffled, or matching answers listed in the stems' order, would show the key).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.bank.blueprint import BlueprintMismatch, candidates_for, quotas_for
from server.db import table_of
from server.models import Attempt, Exam, ItemOption, ItemType, ItemVersion, PaperQuestion
from server.rules.draw import DrawImpossible, draw_questions, option_order
from server.seat.answers import CHOICE_TYPES, id_count
from server.seat.errors import PaperNotReady

# The item types the seat renders and scores; other imported types (cloze, essays…) are never
# drawn.
SEAT_TYPES = frozenset(
    {
        ItemType.SINGLE_CHOICE,
        ItemType.MULTIPLE_RESPONSE,
        ItemType.TRUE_FALSE,
        ItemType.SHORT_ANSWER,
        ItemType.NUMERICAL,
        ItemType.MATCHING,
        ItemType.ORDERING,
    }
)


_INSERT_QUESTIONS = insert(table_of(PaperQuestion))


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


def _versions(db: Session, version_ids: list[int]) -> dict[int, tuple[ItemType, bool, Any]]:
    rows = db.execute(
        select(
            ItemVersion.id, ItemVersion.type, ItemVersion.shuffle_options, ItemVersion.content
        ).where(ItemVersion.id.in_(version_ids))
    ).all()
    return {version_id: (kind, shuffle, content) for version_id, kind, shuffle, content in rows}


def draw_paper(db: Session, *, attempt: Attempt, exam: Exam, rng: random.Random) -> None:
    """Store the attempt's paper: ``question_count`` questions per discipline, in exam order.

    PaperNotReady names the first discipline whose approved items in the student's language
    cannot fill its blueprint; the caller's transaction then stores nothing.
    """
    position = 1
    questions: list[dict[str, Any]] = []
    for exam_discipline in exam.disciplines:
        # Only items with a text in the student's language: a paper never mixes languages.
        pool = candidates_for(
            db, exam_discipline.discipline_id, types=SEAT_TYPES, language=attempt.language
        )
        try:
            plan = quotas_for(db, exam_discipline.discipline_id, exam_discipline.question_count)
            version_ids = draw_questions(pool, plan, rng)
        except (BlueprintMismatch, DrawImpossible):
            raise PaperNotReady(discipline=exam_discipline.discipline.name) from None
        options = _options_by_version(db, version_ids)
        versions = _versions(db, version_ids)
        for version_id in version_ids:
            kind, shuffle, content = versions[version_id]
            if kind in CHOICE_TYPES:
                order = option_order(options[version_id], shuffle=shuffle, rng=rng)
            else:
                ids = range(1, id_count(kind, content or {}, attempt.language) + 1)
                order = option_order(ids, shuffle=True, rng=rng)
            questions.append(
                {
                    "attempt_id": attempt.id,
                    "position": position,
                    "discipline_id": exam_discipline.discipline_id,
                    "item_version_id": version_id,
                    "option_order": order,
                }
            )
            position += 1
    if questions:
        # One Core INSERT of many rows: the ORM's unit of work for 25 objects cost more than
        # the draw itself.
        db.execute(_INSERT_QUESTIONS, questions)
