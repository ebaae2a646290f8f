"""The paper's draw: what it keeps of the bank between sign-ins, and when it reads it again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Item, ItemStatus, Language, PaperQuestion
from server.seat.checkin import check_in
from tests import factories
from tests.seat.factories import World, create_item, create_world
from tests.support.statements import statements as sent_statements


def _paper(db: Session, settings: Settings, world: World, seat: int) -> set[int]:
    """A new student signs in at ``seat``: the item versions of the paper drawn for them."""
    student = world.student if seat == 0 else world.new_student(db)
    now = world.start - timedelta(minutes=5)
    outcome = check_in(
        db,
        settings,
        seat=world.seats[seat],
        checked=factories.checked_password(db, settings, student.id_code, now=now),
        language=Language.EN,
        address="10.0.0.1",
        now=now,
        rng=random.Random(seat),
    )
    assert outcome.attempt is not None
    return set(
        db.execute(
            select(PaperQuestion.item_version_id).where(
                PaperQuestion.attempt_id == outcome.attempt.id
            )
        ).scalars()
    )


@pytest.fixture
def statements(db: Session) -> Iterator[list[str]]:
    """The SQL the session sends from now on."""
    with sent_statements(db) as sent:
        yield sent


def test_the_second_paper_reads_the_bank_token_only(
    db: Session, settings: Settings, statements: list[str]
) -> None:
    world = create_world(db)
    _paper(db, settings, world, seat=0)
    assert any("FROM items" in sql for sql in statements)
    statements.clear()
    _paper(db, settings, world, seat=1)
    assert not any("FROM items" in sql or "FROM item_options" in sql for sql in statements)
    assert sum("FROM bank_revision" in sql for sql in statements) == 1


def test_a_retired_item_is_never_drawn_and_a_new_one_is(db: Session, settings: Settings) -> None:
    # 25 items: every paper holds all of them.
    world = create_world(db, bank_size=25)
    assert _paper(db, settings, world, seat=0) == {version.id for version in world.bank}
    retired = world.bank[0]
    db.execute(update(Item).where(Item.id == retired.item_id).values(status=ItemStatus.RETIRED))
    added = create_item(db, discipline=world.discipline, number=26)
    paper = _paper(db, settings, world, seat=1)
    assert retired.id not in paper
    assert added.id in paper
