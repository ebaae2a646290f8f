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

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import JSON, Integer, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from server.bank.blueprint import BlueprintMismatch, candidates_for, quotas_for
from server.bank.revision import KeptUnderToken, bank_token
from server.db import table_of
from server.db.session import columns
from server.models import (
    Attempt,
    Discipline,
    Exam,
    ExamDiscipline,
    ItemOption,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
)
from server.rules.draw import Candidate, DrawImpossible, Quota, draw_questions, option_order
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


_paper = table_of(PaperQuestion)
_INSERT_QUESTIONS = insert(_paper)
# On PostgreSQL the paper's rows as one statement over four arrays. ``executemany`` sends them
# in one round trip, but the server still parses, plans and runs 25 INSERTs: in the sign-in
# minute of 2,000 examinees those were an eighth of its statements and a fifth of its execution
# time (pg_stat_statements, docs/BENCHMARKS.md). A VALUES list of 125 parameters did the same
# in one statement but cost SQLAlchemy more than the 25 rows cost (measured and dropped); the
# arrays are four parameters, whatever the paper's length. SQLite, in the process, keeps
# ``executemany``.
_rows = (
    func.unnest(
        bindparam("positions", type_=ARRAY(Integer)),
        bindparam("disciplines", type_=ARRAY(Integer)),
        bindparam("versions", type_=ARRAY(Integer)),
        bindparam("orders", type_=ARRAY(Text)),
    )
    .table_valued("position", "discipline_id", "item_version_id", "option_order")
    .render_derived(name="drawn")
)
_INSERT_QUESTIONS_FROM_ARRAYS = insert(_paper).from_select(
    ["attempt_id", "position", "discipline_id", "item_version_id", "option_order"],
    select(
        bindparam("attempt_id", type_=Integer),
        _rows.c.position,
        _rows.c.discipline_id,
        _rows.c.item_version_id,
        cast(_rows.c.option_order, JSON),
    ),
)


@dataclass(frozen=True)
class _Version:
    """What the draw needs of an item version to fix its option order."""

    kind: ItemType
    shuffle: bool
    content: Any
    option_ids: tuple[int, ...]


@dataclass(frozen=True)
class _Material:
    """Everything a discipline's draw reads, for one language and question count."""

    pool: list[Candidate]
    quotas: list[Quota]
    versions: dict[int, _Version]


# Kept per process under the bank's token (server.bank.revision): at an exam's start every
# sign-in drew from the same pool, and reading it, its blueprint and the drawn versions' options
# was a third of a check-in.
_materials: KeptUnderToken[tuple[int, Language, int], _Material] = KeptUnderToken()


def _read_material(
    db: Session, *, discipline_id: int, language: Language, question_count: int
) -> _Material:
    # Only items with a text in the student's language: a paper never mixes languages.
    pool = candidates_for(db, discipline_id, types=SEAT_TYPES, language=language)
    quotas = quotas_for(db, discipline_id, question_count)
    version_ids = [candidate.item_version_id for candidate in pool]
    options: dict[int, list[int]] = defaultdict(list)
    for version_id, option_id in db.execute(
        select(ItemOption.item_version_id, ItemOption.id)
        .where(ItemOption.item_version_id.in_(version_ids))
        .order_by(ItemOption.item_version_id, ItemOption.position)
    ):
        options[version_id].append(option_id)
    rows = db.execute(
        select(
            ItemVersion.id, ItemVersion.type, ItemVersion.shuffle_options, ItemVersion.content
        ).where(ItemVersion.id.in_(version_ids))
    )
    versions = {
        version_id: _Version(kind, shuffle, content or {}, tuple(options[version_id]))
        for version_id, kind, shuffle, content in rows
    }
    return _Material(pool=pool, quotas=quotas, versions=versions)


# The exam's disciplines in exam order, as columns: loading ``Exam.disciplines`` (a lazy load
# in each group's new session) was an eighth of a check-in (py-spy on bench-check-in).
_exam_disciplines = table_of(ExamDiscipline)
_DISCIPLINES = (
    select(_exam_disciplines.c.discipline_id, _exam_disciplines.c.question_count)
    .where(_exam_disciplines.c.exam_id == bindparam("exam_id"))
    .order_by(_exam_disciplines.c.position)
)


def draw_paper(db: Session, *, attempt: Attempt, exam: Exam, rng: random.Random) -> None:
    """Store the attempt's paper: ``question_count`` questions per discipline, in exam order.

    PaperNotReady names the first discipline whose approved items in the student's language
    cannot fill its blueprint; the caller's transaction then stores nothing.
    """
    token = bank_token(db)
    position = 1
    questions: list[dict[str, Any]] = []
    for discipline_id, question_count in columns(db, _DISCIPLINES, {"exam_id": exam.id}).all():
        try:
            material = _materials.get(
                token,
                (discipline_id, attempt.language, question_count),
                partial(
                    _read_material,
                    db,
                    discipline_id=discipline_id,
                    language=attempt.language,
                    question_count=question_count,
                ),
            )
            version_ids = draw_questions(material.pool, material.quotas, rng)
        except (BlueprintMismatch, DrawImpossible):
            discipline = db.get_one(Discipline, discipline_id)
            raise PaperNotReady(discipline=discipline.name) from None
        for version_id in version_ids:
            version = material.versions[version_id]
            if version.kind in CHOICE_TYPES:
                order = option_order(version.option_ids, shuffle=version.shuffle, rng=rng)
            else:
                ids = range(1, id_count(version.kind, version.content, attempt.language) + 1)
                order = option_order(ids, shuffle=True, rng=rng)
            questions.append(
                {
                    "attempt_id": attempt.id,
                    "position": position,
                    "discipline_id": discipline_id,
                    "item_version_id": version_id,
                    "option_order": order,
                }
            )
            position += 1
    if not questions:
        return
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            _INSERT_QUESTIONS_FROM_ARRAYS,
            {
                "attempt_id": attempt.id,
                "positions": [q["position"] for q in questions],
                "disciplines": [q["discipline_id"] for q in questions],
                "versions": [q["item_version_id"] for q in questions],
                "orders": [json.dumps(q["option_order"]) for q in questions],
            },
        )
    else:
        # One Core INSERT of many rows: the ORM's unit of work for 25 objects cost more than
        # the draw itself.
        db.execute(_INSERT_QUESTIONS, questions)
