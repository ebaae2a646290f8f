"""Column helpers shared by the model modules."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum as SAEnum


def enum_column(enum: type[StrEnum], name: str) -> SAEnum:
    """A portable enum: VARCHAR + named CHECK constraint, the same on SQLite and PostgreSQL."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
