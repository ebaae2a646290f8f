"""A discipline's blueprint: how many questions of which topic and difficulty a paper holds.

The seat's paper draw calls ``quotas_for`` and ``candidates_for``; the department head's page
calls ``coverage`` to see, before the exam, whether the approved items fill every quota (R 6.3:
question sets ready on time) and how many different papers the blueprint allows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from server.audit.service import record
from server.bank import repository
from server.errors import Conflict, InvalidInput
from server.i18n import N_, gettext
from server.models import Blueprint, BlueprintRule, Discipline, ItemType, Language, User
from server.rules.draw import (
    Candidate,
    Quota,
    Shortfall,
    distinct_papers,
    shortfalls,
    whole_discipline,
)
from server.rules.scoring import QUESTIONS_PER_DISCIPLINE


@dataclass(frozen=True)
class BlueprintLine:
    topic_id: int | None
    difficulty: int | None
    count: int


def read_blueprint(db: Session, discipline_id: int) -> list[BlueprintLine]:
    return [BlueprintLine(*line) for line in repository.blueprint_rules(db, discipline_id)]


def _problems(
    lines: Sequence[BlueprintLine], topics: set[int], question_count: int
) -> dict[str, str]:
    problems: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if line.count <= 0:
            problems[f"count-{number}"] = gettext("A count is a whole number above zero.")
        if line.topic_id is not None and line.topic_id not in topics:
            problems[f"topic-{number}"] = gettext("Choose one of the discipline's topics.")
        if line.difficulty is not None and not 1 <= line.difficulty <= 5:
            problems[f"difficulty-{number}"] = gettext("Choose a difficulty from 1 to 5.")
    keys = [(line.topic_id, line.difficulty) for line in lines]
    if len(set(keys)) != len(keys):
        problems["rules"] = gettext("Each topic and difficulty may appear in one line only.")
    total = sum(line.count for line in lines)
    if not lines or total != question_count:
        problems["total"] = gettext(
            "The counts add up to %(total)s; a paper holds %(count)s questions."
        ) % {"total": total, "count": question_count}
    return problems


def save_blueprint(
    db: Session,
    *,
    actor: User,
    discipline: Discipline,
    lines: Sequence[BlueprintLine],
    now: datetime,
    question_count: int = QUESTIONS_PER_DISCIPLINE,
) -> Blueprint:
    """Replace the discipline's blueprint; the counts must add up to a paper's questions."""
    topics = {t.id for t in repository.topics_of(db, discipline.id)}
    problems = _problems(lines, topics, question_count)
    if problems:
        raise InvalidInput(N_("The blueprint was not saved."), field_errors=problems)
    blueprint = repository.blueprint_of(db, discipline.id)
    if blueprint is None:
        blueprint = Blueprint(discipline_id=discipline.id)
        db.add(blueprint)
    blueprint.rules.clear()
    # The old rules go first, or the (blueprint, position) unique key would clash.
    db.flush()
    blueprint.rules.extend(
        BlueprintRule(
            position=n, topic_id=line.topic_id, difficulty=line.difficulty, count=line.count
        )
        for n, line in enumerate(lines, start=1)
    )
    blueprint.updated_at = now
    blueprint.updated_by_id = actor.id
    db.flush()
    record(
        db,
        actor=actor,
        action="bank.blueprint_saved",
        subject=f"discipline:{discipline.id}",
        details={"rules": [[x.topic_id, x.difficulty, x.count] for x in lines]},
        at=now,
    )
    return blueprint


class BlueprintMismatch(Conflict):
    message = N_(
        "The blueprint of discipline %(discipline)s asks for %(total)s questions, "
        "but the paper needs %(count)s."
    )


def quotas_for(db: Session, discipline_id: int, question_count: int) -> list[Quota]:
    """The quotas a paper is drawn by: the blueprint, or any ``question_count`` items."""
    lines = read_blueprint(db, discipline_id)
    if not lines:
        return whole_discipline(question_count)
    total = sum(line.count for line in lines)
    if total != question_count:
        # Never stretch or trim a blueprint silently: the department head decides the mix.
        raise BlueprintMismatch(discipline=discipline_id, total=total, count=question_count)
    return [Quota(line.topic_id, line.difficulty, line.count) for line in lines]


def candidates_for(
    db: Session,
    discipline_id: int,
    *,
    types: Collection[ItemType],
    language: Language | None = None,
) -> list[Candidate]:
    """Approved, deliverable current versions of these types (with a text in ``language``)."""
    return [
        Candidate(item_version_id=version_id, topic_id=topic_id, difficulty=difficulty)
        for version_id, topic_id, difficulty in repository.approved_versions(
            db, discipline_id, types, language
        )
    ]


def humane_count(number: int) -> str:
    """A count of papers a person can read: exact up to a million, then a power of ten."""
    if number < 1_000_000:
        return f"{number:,}".replace(",", "\u202f")
    digits = len(str(number)) - 1
    mantissa = number / 10**digits
    return f"≈ {mantissa:.1f} × 10^{digits}"


@dataclass(frozen=True)
class Coverage:
    quotas: tuple[Quota, ...]
    shortfalls: tuple[Shortfall, ...]
    candidates: int
    papers: int
    papers_text: str
    has_blueprint: bool


def coverage(
    db: Session,
    discipline: Discipline,
    *,
    types: Collection[ItemType],
    question_count: int = QUESTIONS_PER_DISCIPLINE,
) -> Coverage:
    """Whether the approved items fill the blueprint, and how many distinct papers it allows."""
    has_blueprint = bool(read_blueprint(db, discipline.id))
    quotas = quotas_for(db, discipline.id, question_count)
    candidates = candidates_for(db, discipline.id, types=types)
    missing = shortfalls(candidates, quotas)
    papers = 0 if missing else distinct_papers(candidates, quotas)
    return Coverage(
        quotas=tuple(quotas),
        shortfalls=tuple(missing),
        candidates=len(candidates),
        papers=papers,
        papers_text=humane_count(papers),
        has_blueprint=has_blueprint,
    )
