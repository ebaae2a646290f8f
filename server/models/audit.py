"""The append-only audit log, chained by hash.

Each entry stores the hash of the one before it, so deleting or editing any entry breaks the chain
at that point; ``emtihan audit verify`` walks it. The database also refuses UPDATE and DELETE on
the table (triggers created by the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Dense 1, 2, 3, ...: a gap shows a deletion even where the hashes were recomputed.
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unique: two writers racing from the same tail cannot fork the chain.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
