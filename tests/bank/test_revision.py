"""The bank's token: changed by the database itself whenever a paper's draw could change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from server.bank.blueprint import BlueprintLine, save_blueprint
from server.bank.revision import KeptUnderToken, bank_token
from server.db import utcnow
from server.models import (
    DRAW_TABLES,
    Discipline,
    Item,
    ItemStatus,
    ItemText,
    ItemVersion,
    Language,
    Topic,
    User,
)
from tests import factories
from tests.seat.factories import create_item


def _discipline_of(db: Session, version: ItemVersion) -> Discipline:
    return db.get_one(Discipline, db.get_one(Item, version.item_id).discipline_id)


def _insert_item(db: Session, version: ItemVersion) -> None:
    db.add(Item(discipline_id=_discipline_of(db, version).id, status=ItemStatus.DRAFT))


def _retire_item(db: Session, version: ItemVersion) -> None:
    db.execute(update(Item).where(Item.id == version.item_id).values(status=ItemStatus.RETIRED))


def _delete_item(db: Session, version: ItemVersion) -> None:
    db.execute(
        delete(Item).where(
            Item.discipline_id == _discipline_of(db, version).id, ~Item.versions.any()
        )
    )


def _insert_version(db: Session, version: ItemVersion) -> None:
    create_item(db, discipline=_discipline_of(db, version), number=99)


def _update_version(db: Session, version: ItemVersion) -> None:
    db.execute(update(ItemVersion).where(ItemVersion.id == version.id).values(difficulty=3))


def _insert_text(db: Session, version: ItemVersion) -> None:
    db.add(ItemText(item_version_id=version.id, language=Language.RU, text="Вопрос"))


def _delete_text(db: Session, version: ItemVersion) -> None:
    db.execute(
        delete(ItemText).where(
            ItemText.item_version_id == version.id, ItemText.language == Language.RU
        )
    )


def _save_blueprint(db: Session, version: ItemVersion) -> None:
    discipline = _discipline_of(db, version)
    topic = Topic(discipline_id=discipline.id, name="Sets")
    db.add(topic)
    db.flush()
    save_blueprint(
        db,
        actor=factories.create_user(db),
        discipline=discipline,
        lines=[BlueprintLine(topic_id=topic.id, difficulty=None, count=25)],
        now=utcnow(),
    )


Write = Callable[[Session, ItemVersion], None]


def _nothing(db: Session, version: ItemVersion) -> None:
    pass


# Each write a paper's draw depends on: (the tables written, what comes first, the write).
WRITES: list[tuple[str, Write, Write]] = [
    ("items", _nothing, _insert_item),
    ("items", _nothing, _retire_item),
    ("items", _insert_item, _delete_item),
    ("item_versions", _nothing, _insert_version),
    ("item_versions", _nothing, _update_version),
    ("item_texts", _delete_text, _insert_text),
    ("item_texts", _nothing, _delete_text),
    ("blueprints blueprint_rules", _nothing, _save_blueprint),
]


def test_every_draw_table_is_watched() -> None:
    assert {table for tables, _, _ in WRITES for table in tables.split()} == set(DRAW_TABLES)


@pytest.mark.parametrize(
    ("tables", "first", "write"), WRITES, ids=[write.__name__.strip("_") for *_, write in WRITES]
)
def test_a_write_to_a_draw_table_changes_the_token(
    db: Session, tables: str, first: Write, write: Write
) -> None:
    version = create_item(db, discipline=factories.create_discipline(db), number=1)
    first(db, version)
    db.flush()
    before = bank_token(db)
    write(db, version)
    db.flush()
    assert bank_token(db) != before, tables


def test_other_writes_leave_the_token(db: Session) -> None:
    create_item(db, discipline=factories.create_discipline(db), number=1)
    before = bank_token(db)
    user = factories.create_user(db)
    db.execute(update(User).where(User.id == user.id).values(full_name="Renamed"))
    factories.create_exam(
        db,
        session=factories.create_exam_session(db),
        disciplines=[factories.create_discipline(db)],
        groups=[factories.create_group(db)],
        rooms=[factories.create_room(db)],
    )
    assert bank_token(db) == before


def test_a_rolled_back_change_restores_the_token_before_it(db: Session) -> None:
    version = create_item(db, discipline=factories.create_discipline(db), number=1)
    before = bank_token(db)
    with db.begin_nested() as change:
        _retire_item(db, version)
        assert bank_token(db) != before
        change.rollback()
    assert bank_token(db) == before


def test_a_value_is_kept_while_its_token_stands() -> None:
    kept: KeptUnderToken[str, int] = KeptUnderToken()
    reads: list[str] = []

    def read(value: int) -> Callable[[], int]:
        def reading() -> int:
            reads.append(f"read {value}")
            return value

        return reading

    assert kept.get(1, "pool", read(10)) == 10
    assert kept.get(1, "pool", read(11)) == 10
    assert kept.get(1, "other", read(20)) == 20
    assert kept.get(2, "pool", read(12)) == 12  # a new token forgets every value
    assert kept.get(2, "other", read(21)) == 21
    assert kept.get(1, "pool", read(13)) == 13  # an old token is not remembered either
    assert reads == ["read 10", "read 20", "read 12", "read 21", "read 13"]


def test_a_failed_read_is_not_kept() -> None:
    kept: KeptUnderToken[str, int] = KeptUnderToken()

    def failing() -> int:
        raise LookupError("no blueprint")

    with pytest.raises(LookupError):
        kept.get(1, "pool", failing)
    assert kept.get(1, "pool", lambda: 5) == 5
