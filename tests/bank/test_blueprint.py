"""Blueprints: validated, turned into quotas, and checked against the approved items."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from server.bank import blueprint, repository
from server.bank.blueprint import BlueprintLine
from server.db import utcnow
from server.errors import Conflict, InvalidInput
from server.models import ItemType
from server.rules.draw import Quota, whole_discipline
from tests.bank.factories import create_approved_items, create_head, import_text
from tests.factories import create_department, create_discipline

CHOICE = {ItemType.SINGLE_CHOICE, ItemType.TRUE_FALSE}


def test_without_a_blueprint_the_whole_discipline_is_one_quota(db: Session) -> None:
    discipline = create_discipline(db)
    assert blueprint.quotas_for(db, discipline.id, 25) == whole_discipline(25)


def test_a_saved_blueprint_gives_the_quotas(db: Session) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    head = create_head(db, department=department)
    create_approved_items(db, discipline=discipline, count=30, category="Algebra")
    (topic,) = repository.topics_of(db, discipline.id)
    lines = [BlueprintLine(topic.id, None, 20), BlueprintLine(None, 3, 5)]
    blueprint.save_blueprint(db, actor=head, discipline=discipline, lines=lines, now=utcnow())
    assert blueprint.read_blueprint(db, discipline.id) == lines
    assert blueprint.quotas_for(db, discipline.id, 25) == [
        Quota(topic.id, None, 20),
        Quota(None, 3, 5),
    ]
    with pytest.raises(Conflict):
        blueprint.quotas_for(db, discipline.id, 30)
    # Saved again: the old rules are replaced, not added to.
    blueprint.save_blueprint(
        db, actor=head, discipline=discipline, lines=[BlueprintLine(None, None, 25)], now=utcnow()
    )
    assert blueprint.quotas_for(db, discipline.id, 25) == whole_discipline(25)


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([BlueprintLine(None, None, 24)], "total"),
        ([BlueprintLine(None, None, 26)], "total"),
        ([], "total"),
        ([BlueprintLine(None, None, 30), BlueprintLine(None, 2, -5)], "count-2"),
        ([BlueprintLine(None, 9, 25)], "difficulty-1"),
        ([BlueprintLine(10**6, None, 25)], "topic-1"),
        ([BlueprintLine(None, 1, 20), BlueprintLine(None, 1, 5)], "rules"),
    ],
)
def test_invalid_blueprints_are_refused(
    db: Session, lines: list[BlueprintLine], field: str
) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    head = create_head(db, department=department)
    with pytest.raises(InvalidInput) as refused:
        blueprint.save_blueprint(db, actor=head, discipline=discipline, lines=lines, now=utcnow())
    assert field in refused.value.field_errors
    assert blueprint.read_blueprint(db, discipline.id) == []


def test_topics_of_another_discipline_are_refused(db: Session) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    other = create_discipline(db, department=department)
    create_approved_items(db, discipline=other, count=1, category="Elsewhere")
    (foreign,) = repository.topics_of(db, other.id)
    head = create_head(db, department=department)
    with pytest.raises(InvalidInput):
        blueprint.save_blueprint(
            db,
            actor=head,
            discipline=discipline,
            lines=[BlueprintLine(foreign.id, None, 25)],
            now=utcnow(),
        )


def test_candidates_are_approved_deliverable_current_versions_of_the_types(db: Session) -> None:
    discipline = create_discipline(db)
    create_approved_items(db, discipline=discipline, count=3)
    import_text(db, discipline=discipline, text="::S:: Unit? {=newton}\n", approve=True)
    import_text(db, discipline=discipline, text="::E:: Explain. {}\n", approve=True)
    import_text(db, discipline=discipline, text="::D:: Draft? {=a ~b}\n", approve=False)
    candidates = blueprint.candidates_for(db, discipline.id, types=CHOICE)
    assert len(candidates) == 3
    with_short = blueprint.candidates_for(db, discipline.id, types=CHOICE | {ItemType.SHORT_ANSWER})
    assert len(with_short) == 4
    from server.models import Language

    assert blueprint.candidates_for(db, discipline.id, types=CHOICE, language=Language.KK) == []


def test_coverage_shows_shortfalls_and_distinct_papers(db: Session) -> None:
    discipline = create_discipline(db)
    create_approved_items(db, discipline=discipline, count=20)
    short = blueprint.coverage(db, discipline, types=CHOICE)
    assert short.shortfalls
    assert short.shortfalls[0].available == 20
    assert short.papers == 0
    create_approved_items(db, discipline=discipline, count=6, category="More")
    full = blueprint.coverage(db, discipline, types=CHOICE)
    assert not full.shortfalls
    assert full.papers == 26
    assert full.papers_text == "26"


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1\u202f234"),
        (10**6, "≈ 1.0 × 10^6"),
        (3 * 10**45, "≈ 3.0 × 10^45"),
    ],
)
def test_humane_count(number: int, text: str) -> None:
    assert blueprint.humane_count(number) == text
