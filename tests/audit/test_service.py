"""The audit log is a hash chain that the database will not let anyone edit."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from server.audit.service import GENESIS_HASH, record, verify
from server.db.group_commit import GroupWriter
from server.db.session import savepoint
from server.models import AuditEntry
from tests.factories import create_user
from tests.support.aio import run_on_own_thread
from tests.support.statements import statements


def test_entries_chain_by_hash(db: Session) -> None:
    actor = create_user(db)
    first = record(db, actor=actor, action="a.one", subject="x", details={"n": 1})
    second = record(db, actor=None, action="a.two", subject="y", details={"price": "1.50"})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert verify(db).ok


def test_first_entry_links_to_genesis(db: Session) -> None:
    if db.query(AuditEntry).count() == 0:
        entry = record(db, actor=None, action="a", subject="s")
        assert entry.prev_hash == GENESIS_HASH
    assert verify(db).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET subject = 'forged'",
        "DELETE FROM audit_log",
    ],
)
def test_database_refuses_edits(db: Session, statement: str) -> None:
    record(db, actor=None, action="a", subject="s")
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))


def _drop_protection(db: Session) -> None:
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER audit_log_no_update"))
        db.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def test_verify_finds_an_edited_entry(db: Session) -> None:
    record(db, actor=None, action="a", subject="honest")
    target = record(db, actor=None, action="b", subject="honest")
    record(db, actor=None, action="c", subject="honest")
    _drop_protection(db)  # rolled back with the test's transaction
    db.execute(
        text("UPDATE audit_log SET subject = 'forged' WHERE seq = :seq"), {"seq": target.seq}
    )
    db.expire_all()
    result = verify(db)
    assert not result.ok
    assert [b.seq for b in result.breaks] == [target.seq]


def test_verify_finds_a_deleted_entry(db: Session) -> None:
    record(db, actor=None, action="a", subject="s")
    gone = record(db, actor=None, action="b", subject="s")
    after = record(db, actor=None, action="c", subject="s")
    _drop_protection(db)
    db.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": gone.seq})
    db.expire_all()
    result = verify(db)
    assert not result.ok
    assert {b.seq for b in result.breaks} == {after.seq}


def _tail_reads(sent: list[str]) -> list[str]:
    return [
        statement for statement in sent if "FROM audit_log ORDER BY audit_log.seq DESC" in statement
    ]


def test_a_transaction_reads_the_tail_once(db: Session) -> None:
    with statements(db) as sent:
        entries = [record(db, actor=None, action="a", subject=str(n)) for n in range(3)]
    assert len(_tail_reads(sent)) == 1
    assert [e.seq for e in entries] == [entries[0].seq, entries[0].seq + 1, entries[0].seq + 2]
    assert verify(db).ok


def test_after_a_commit_the_tail_is_read_again(db: Session) -> None:
    with statements(db) as sent:
        first = record(db, actor=None, action="a", subject="s")
        db.commit()
        second = record(db, actor=None, action="b", subject="s")
    assert len(_tail_reads(sent)) == 2
    assert second.prev_hash == first.hash
    assert verify(db).ok


def test_an_entry_of_a_rolled_back_savepoint_is_not_followed(db: Session) -> None:
    before = record(db, actor=None, action="a", subject="kept")
    with contextlib.suppress(RuntimeError), savepoint(db):
        record(db, actor=None, action="b", subject="rolled back")
        raise RuntimeError
    after = record(db, actor=None, action="c", subject="kept")
    assert (after.seq, after.prev_hash) == (before.seq + 1, before.hash)
    assert verify(db).ok


def test_a_first_entry_in_a_rolled_back_savepoint_leaves_the_next_to_lock_again(
    db: Session,
) -> None:
    with statements(db) as sent:
        with contextlib.suppress(RuntimeError), savepoint(db):
            record(db, actor=None, action="a", subject="rolled back")
            raise RuntimeError
        record(db, actor=None, action="b", subject="kept")
    # On PostgreSQL the tail's lock went with the savepoint: the next entry takes it again.
    assert len(_tail_reads(sent)) == 2
    assert verify(db).ok


def test_an_entry_of_a_released_savepoint_is_followed(db: Session) -> None:
    with statements(db) as sent:
        with savepoint(db):
            inner = record(db, actor=None, action="a", subject="s")
        after = record(db, actor=None, action="b", subject="s")
    assert len(_tail_reads(sent)) == 1
    assert after.prev_hash == inner.hash
    assert verify(db).ok


def test_after_a_rollback_the_tail_is_read_again(db: Session) -> None:
    with statements(db) as sent:
        record(db, actor=None, action="a", subject="rolled back")
        db.rollback()
        record(db, actor=None, action="b", subject="kept")
    assert len(_tail_reads(sent)) == 2
    assert verify(db).ok


def test_in_the_writer_s_group_the_entries_are_written_in_one_statement_before_its_commit(
    db: Session,
) -> None:
    def appends_three(session: Session) -> list[AuditEntry]:
        entries = [record(session, actor=None, action="a", subject=str(n)) for n in range(3)]
        # Held to the group's end: the log does not have them yet.
        assert session.query(AuditEntry).filter(AuditEntry.seq >= entries[0].seq).count() == 0
        return entries

    async def in_a_group(writer: GroupWriter) -> list[AuditEntry]:
        return await writer.write(appends_three)

    writer = GroupWriter(lambda: db, close=False)
    writer.start()
    try:
        with statements(db) as sent:
            entries = run_on_own_thread(in_a_group(writer))
    finally:
        writer.stop()
    assert len([s for s in sent if s.startswith("INSERT INTO audit_log")]) == 1
    stored = db.query(AuditEntry).filter(AuditEntry.seq >= entries[0].seq).order_by(AuditEntry.seq)
    assert [(e.seq, e.hash) for e in stored] == [(e.seq, e.hash) for e in entries]
    assert verify(db).ok
