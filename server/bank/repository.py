"""Every query of the question bank: disciplines, topics, items, versions, media, uploads."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from server.models import (
    Attempt,
    BankUpload,
    Blueprint,
    BlueprintRule,
    Discipline,
    Item,
    ItemMedia,
    ItemOption,
    ItemStatus,
    ItemText,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
    Role,
    Student,
    Topic,
    User,
)


def disciplines_for(db: Session, user: User) -> list[Discipline]:
    """The disciplines whose bank the user manages: the department's, or all for an admin."""
    query = select(Discipline).order_by(Discipline.code)
    if user.role is not Role.ADMIN:
        query = query.where(Discipline.department_id == user.department_id)
    return list(db.execute(query).scalars())


def discipline_by_id(db: Session, discipline_id: int) -> Discipline | None:
    return db.get(Discipline, discipline_id)


def discipline_by_code(db: Session, code: str) -> Discipline | None:
    return db.execute(select(Discipline).where(Discipline.code == code)).scalar_one_or_none()


def topics_of(db: Session, discipline_id: int) -> list[Topic]:
    return list(
        db.execute(
            select(Topic).where(Topic.discipline_id == discipline_id).order_by(Topic.name)
        ).scalars()
    )


def items_by_ref(db: Session, discipline_id: int, refs: Collection[str]) -> dict[str, list[Item]]:
    """The discipline's items with these external references, by reference."""
    if not refs:
        return {}
    found: dict[str, list[Item]] = {}
    unique = sorted(set(refs))
    # Chunked: SQLite caps the number of bound parameters of one statement.
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = db.execute(
            select(Item)
            .where(Item.discipline_id == discipline_id, Item.external_ref.in_(chunk))
            .order_by(Item.id)
            .options(selectinload(Item.versions))
        ).scalars()
        for item in rows:
            assert item.external_ref is not None
            found.setdefault(item.external_ref, []).append(item)
    return found


def current_version(db: Session, item: Item) -> ItemVersion:
    return db.execute(
        select(ItemVersion)
        .where(ItemVersion.item_id == item.id, ItemVersion.version == item.current_version)
        .options(
            selectinload(ItemVersion.texts),
            selectinload(ItemVersion.options).selectinload(ItemOption.texts),
        )
    ).scalar_one()


def item_by_id(db: Session, item_id: int) -> Item | None:
    return db.get(Item, item_id)


@dataclass(frozen=True)
class ItemFilter:
    topic_id: int | None = None
    language: Language | None = None
    status: ItemStatus | None = None
    type: ItemType | None = None
    text: str = ""


def search_items(
    db: Session, discipline_id: int, where: ItemFilter, *, limit: int = 200
) -> list[tuple[Item, ItemVersion]]:
    """The discipline's items matching the filter, each with its current version."""
    query = (
        select(Item, ItemVersion)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version),
        )
        .where(Item.discipline_id == discipline_id)
        .options(selectinload(ItemVersion.texts))
        .order_by(Item.id)
        .limit(limit)
    )
    if where.topic_id is not None:
        query = query.where(Item.topic_id == where.topic_id)
    if where.status is not None:
        query = query.where(Item.status == where.status)
    if where.type is not None:
        query = query.where(ItemVersion.type == where.type)
    if where.language is not None:
        query = query.where(
            exists().where(
                ItemText.item_version_id == ItemVersion.id, ItemText.language == where.language
            )
        )
    if where.text.strip():
        pattern = f"%{where.text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Item.external_ref).like(pattern),
                exists().where(
                    ItemText.item_version_id == ItemVersion.id,
                    func.lower(ItemText.text).like(pattern),
                ),
            )
        )
    return [(row[0], row[1]) for row in db.execute(query)]


def approved_versions(
    db: Session, discipline_id: int, types: Collection[ItemType], language: Language | None
) -> list[tuple[int, int | None, int | None]]:
    """Current versions of approved, deliverable items of these types (and this language):
    (version id, topic id, difficulty) each.

    Columns, not entities: every sign-in draws a paper from the whole bank, and loading
    thousands of objects for three numbers each was most of the sign-in's time.
    """
    query = (
        select(ItemVersion.id, Item.topic_id, ItemVersion.difficulty)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version),
        )
        .where(
            Item.discipline_id == discipline_id,
            Item.status == ItemStatus.APPROVED,
            ItemVersion.deliverable.is_(True),
            ItemVersion.type.in_(list(types)),
        )
        .order_by(ItemVersion.id)
    )
    if language is not None:
        query = query.where(
            exists().where(
                ItemText.item_version_id == ItemVersion.id, ItemText.language == language
            )
        )
    return [(row[0], row[1], row[2]) for row in db.execute(query)]


def current_versions(db: Session, discipline_id: int) -> list[tuple[Item, ItemVersion]]:
    """Every item of the discipline with its current version, texts, options and media loaded."""
    rows = db.execute(
        select(Item, ItemVersion)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version),
        )
        .where(Item.discipline_id == discipline_id)
        .options(
            selectinload(ItemVersion.texts),
            selectinload(ItemVersion.options).selectinload(ItemOption.texts),
        )
        .order_by(Item.id)
    )
    return [(row[0], row[1]) for row in rows]


def media_of(db: Session, version_ids: Iterable[int]) -> dict[int, list[ItemMedia]]:
    ids = list(version_ids)
    found: dict[int, list[ItemMedia]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = db.execute(
            select(ItemMedia)
            .where(ItemMedia.item_version_id.in_(ids[start : start + 500]))
            .order_by(ItemMedia.id)
        ).scalars()
        for media in rows:
            found[media.item_version_id].append(media)
    return found


def media_with_owner(db: Session, media_id: int) -> tuple[ItemMedia, Discipline] | None:
    row = db.execute(
        select(ItemMedia, Discipline)
        .join(ItemVersion, ItemVersion.id == ItemMedia.item_version_id)
        .join(Item, Item.id == ItemVersion.item_id)
        .join(Discipline, Discipline.id == Item.discipline_id)
        .where(ItemMedia.id == media_id)
    ).first()
    return (row[0], row[1]) if row else None


def on_students_paper(db: Session, *, user_id: int, item_version_id: int) -> bool:
    """Whether an attempt of this user's student record holds the item version on its paper."""
    return db.execute(
        select(
            exists()
            .where(PaperQuestion.item_version_id == item_version_id)
            .where(Attempt.id == PaperQuestion.attempt_id)
            .where(Student.id == Attempt.student_id)
            .where(Student.user_id == user_id)
        )
    ).scalar_one()


def upload_by_id(db: Session, upload_id: int) -> BankUpload | None:
    return db.get(BankUpload, upload_id)


def blueprint_rules(db: Session, discipline_id: int) -> list[tuple[int | None, int | None, int]]:
    """The blueprint's lines as (topic, difficulty, count), in order; none without a blueprint.

    Columns in one query, not the entities: every sign-in at the seat reads it for its draw.
    """
    rows = db.execute(
        select(BlueprintRule.topic_id, BlueprintRule.difficulty, BlueprintRule.count)
        .join(Blueprint, Blueprint.id == BlueprintRule.blueprint_id)
        .where(Blueprint.discipline_id == discipline_id)
        .order_by(BlueprintRule.position)
    ).all()
    return [(topic_id, difficulty, count) for topic_id, difficulty, count in rows]


def blueprint_of(db: Session, discipline_id: int) -> Blueprint | None:
    return db.execute(
        select(Blueprint)
        .where(Blueprint.discipline_id == discipline_id)
        .options(selectinload(Blueprint.rules))
    ).scalar_one_or_none()
