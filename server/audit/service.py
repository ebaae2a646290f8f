"""Append to and verify the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from server.db import table_of, utcnow
from server.db.group_commit import hold_to_commit
from server.db.session import columns
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


# The entries this transaction has appended, newest last, in ``Session.info``: the tail's lock
# is held to the transaction's end, so no one else appends meanwhile and the next entry follows
# the newest of them without taking the lock and reading the tail again. A check-in appends
# two, and the writer stores a group of check-ins in one transaction: the lock and the read are
# paid once a group (on PostgreSQL two round trips each). A list, so that ``savepoint`` drops
# what a rolled-back savepoint appended (its entries are gone, and a lock first taken in it is
# released); each entry names its transaction, so one of an earlier transaction is ignored.
_APPENDED = "audit_appended"


def _tail(db: Session) -> tuple[int, str]:
    """The number and hash of the entry the next one follows."""
    appended: list[tuple[object, int, str]] = db.info.setdefault(_APPENDED, [])
    if appended and appended[-1][0] is db.get_transaction():
        _, seq, hash_ = appended[-1]
        return seq, hash_
    appended.clear()
    _lock_tail(db)
    tail = columns(db, _TAIL).first()
    return (tail.seq, tail.hash) if tail else (0, GENESIS_HASH)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    # Not a savepoint's end ("after_commit" fires for a released savepoint too): ``savepoint``
    # takes care of those.
    if transaction.parent is None:
        session.info.pop(_APPENDED, None)


# On the table, not the mapped class, and run past the ORM's execution layer (``columns``): a
# check-in appends two entries, and an ORM statement costs its compilation state besides the
# read (the entries are Core INSERTs, so there is never one of them pending to flush first).
_audit = table_of(AuditEntry)
_TAIL = select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
_APPEND = insert(_audit)


def _append(db: Session, entries: list[dict[str, Any]]) -> None:
    columns(db, _APPEND, entries)


def record(
    db: Session,
    *,
    actor: User | int | None,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry after the current tail, in the caller's transaction. ``actor``: the
    account that acted, or its id (a job in the writer may know only the id), or None.

    Returns the entry as written, not added to the session: a Core INSERT, since every sign-in
    appends two and the ORM's flush of one object cost more than the statement.
    """
    last_seq, prev_hash = _tail(db)
    seq = last_seq + 1
    moment = at or utcnow()
    clean = _canonical(details or {})
    actor_id = actor.id if isinstance(actor, User) else actor
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
    # In the writer's group, written with the group's other entries just before its commit:
    # nothing reads an entry back but the next one, which follows it through ``_APPENDED``.
    hold_to_commit(db, _append, values)
    db.info[_APPENDED].append((db.get_transaction(), seq, values["hash"]))
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
