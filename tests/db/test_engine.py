"""SQLite is configured for durability; both databases keep UTC instants aware."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.db import create_db_engine
from server.models import AuditEntry


def test_sqlite_pragmas_favour_durability(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_instants_come_back_as_aware_utc(db: Session) -> None:
    almaty = timezone(timedelta(hours=5))
    moment = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=almaty)
    entry = AuditEntry(
        seq=10_000,
        at=moment,
        action="t",
        subject="s",
        details={},
        prev_hash="p" * 64,
        hash="h" * 64,
    )
    db.add(entry)
    db.flush()
    db.expire_all()
    loaded = db.get(AuditEntry, entry.id)
    assert loaded is not None
    assert loaded.at == moment
    assert loaded.at.tzinfo is not None
    assert loaded.at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Session) -> None:
    db.add(
        AuditEntry(
            seq=10_001,
            at=datetime(2026, 1, 1),  # noqa: DTZ001  (the point of the test)
            action="t",
            subject="s",
            details={},
            prev_hash="q" * 64,
            hash="r" * 64,
        )
    )
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with engine.connect() as connection, connection.begin() as transaction:
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            connection.execute(text("INSERT INTO seats (room_id, label) VALUES (987654, 'X')"))
        transaction.rollback()
