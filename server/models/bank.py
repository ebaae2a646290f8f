"""Question items per discipline: topics, immutable versions, per-language texts and options.

An item's content never changes in place: editing creates a new ``ItemVersion``, and a paper keeps
pointing at the version it delivered, so an appeal always sees exactly what the student saw.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models._types import enum_column
from server.models.enums import ItemStatus, ItemType, Language


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("discipline_id", "name"),)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ItemStatus] = mapped_column(
        enum_column(ItemStatus, "item_status"), default=ItemStatus.DRAFT, index=True
    )
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.version"
    )


class ItemVersion(Base):
    __tablename__ = "item_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    version: Mapped[int] = mapped_column()
    type: Mapped[ItemType] = mapped_column(enum_column(ItemType, "item_type"))
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    difficulty: Mapped[int | None] = mapped_column()
    source_format: Mapped[str | None] = mapped_column(String(32))
    # False for a type the seat cannot deliver; the reason is shown to the department head.
    deliverable: Mapped[bool] = mapped_column(Boolean, default=True)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    # What a type needs beyond stem and options (tolerance, matching pairs, ordering, gaps).
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[Item] = relationship(back_populates="versions")
    texts: Mapped[list[ItemText]] = relationship(cascade="all, delete-orphan")
    options: Mapped[list[ItemOption]] = relationship(
        cascade="all, delete-orphan", order_by="ItemOption.position"
    )

    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
    )


class ItemText(Base):
    """The stem of one item version in one language."""

    __tablename__ = "item_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    language: Mapped[Language] = mapped_column(enum_column(Language, "language"))
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("item_version_id", "language"),)


class ItemOption(Base):
    """An option of an item version. ``fraction`` is the answer key: never sent to a student."""

    __tablename__ = "item_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    position: Mapped[int] = mapped_column()
    fraction: Mapped[Decimal] = mapped_column(Numeric(8, 5), default=Decimal(0))

    texts: Mapped[list[ItemOptionText]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("item_version_id", "position"),
        CheckConstraint("fraction >= -1 AND fraction <= 1", name="fraction_range"),
    )


class ItemOptionText(Base):
    __tablename__ = "item_option_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("item_options.id"), index=True)
    language: Mapped[Language] = mapped_column(enum_column(Language, "language"))
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("option_id", "language"),)


class ItemMedia(Base):
    """A file an item version shows (an image from Moodle XML or a QTI package).

    Served only to the examinee whose paper holds the version and to the department's staff.
    """

    __tablename__ = "item_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("item_version_id", "name"),)


class BankUpload(Base):
    """An uploaded bank file kept between preview and import, so the import reads what was shown."""

    __tablename__ = "bank_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Blueprint(Base):
    """How a discipline's questions are drawn for a paper: quotas by topic and difficulty."""

    __tablename__ = "blueprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    rules: Mapped[list[BlueprintRule]] = relationship(
        cascade="all, delete-orphan", order_by="BlueprintRule.position"
    )


class BlueprintRule(Base):
    """``count`` questions of a topic (any when null) and a difficulty (any when null)."""

    __tablename__ = "blueprint_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"), index=True)
    position: Mapped[int] = mapped_column()
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    difficulty: Mapped[int | None] = mapped_column()
    count: Mapped[int] = mapped_column()

    __table_args__ = (
        UniqueConstraint("blueprint_id", "position"),
        CheckConstraint("count > 0", name="count_positive"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
    )


# The tables a paper's draw reads besides the item versions themselves, which never change.
DRAW_TABLES = ("items", "item_versions", "item_texts", "blueprints", "blueprint_rules")


class BankRevision(Base):
    """One row whose ``token`` the database changes to a random number whenever a statement
    writes to one of ``DRAW_TABLES`` (triggers, migrations/versions/2026-12-06-0230_…).

    A writer process keeps what the draw reads for as long as the token it read them under is
    the current one. A random token rather than a counter: a rolled-back change restores the
    token before it, under which nothing of the rolled-back state can have been kept, while a
    counter would come again with other contents.
    """

    __tablename__ = "bank_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
