"""Append to and verify the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from server.db import table_of, utcnow
from server.models import AuditEntry, User

GENESIS_HASH = "0" * 64


def _canonical(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so what we hash is exactly what the database gives back later.
    return json.loads(json.dumps(details, default=str, ensure_ascii=False))  # type: ignore[no-any-return]


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor_id, action, subject, details, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_tail(db: Session) -> None:
    # On PostgreSQL, serialize appenders so two transactions never read the same tail. SQLite
    # writers are already serialized (writing requests begin IMMEDIATE), and the unique
    # prev_hash column refuses a fork in either database.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(7301)"))


_TAIL = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = insert(table_of(AuditEntry))


def record(
    db: Session,
    *,
    actor: User | None,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry after the current tail, in the caller's transaction.

    Returns the entry as written, not added to the session: a Core INSERT, since every sign-in
    appends two and the ORM's flush of one object cost more than the statement.
    """
    _lock_tail(db)
    tail = db.execute(_TAIL).first()
    seq = tail.seq + 1 if tail else 1
    prev_hash = tail.hash if tail else GENESIS_HASH
    moment = at or utcnow()
    clean = _canonical(details or {})
    actor_id = actor.id if actor else None
    values: dict[str, Any] = {
        "seq": seq,
        "at": moment,
        "actor_id": actor_id,
        "action": action,
        "subject": subject,
        "details": clean,
        "prev_hash": prev_hash,
    }
    values["hash"] = entry_hash(**values)
    db.execute(_APPEND, values)
    return AuditEntry(**values)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


@dataclass(frozen=True)
class Verification:
    entries: int
    breaks: tuple[ChainBreak, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(db: Session) -> Verification:
    """Walk the chain from the first entry; report every entry that does not link or hash."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            breaks.append(ChainBreak(entry.seq, f"expected entry {expected_seq}: entries missing"))
        if entry.prev_hash != expected_prev:
            breaks.append(ChainBreak(entry.seq, "does not link to the entry before it"))
        recomputed = entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject=entry.subject,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            breaks.append(ChainBreak(entry.seq, "content does not match its hash"))
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    return Verification(entries=count, breaks=tuple(breaks))
