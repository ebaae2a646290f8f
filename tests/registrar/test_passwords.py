"""First passwords: policy-conforming, hashed, audited without the password, never overwritten."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.passwords import UNUSABLE_PASSWORD, verify_password
from server.db import utcnow
from server.models import AuditEntry, Role, Student, StudentGroup, User
from server.registrar import passwords
from server.registrar.passwords import (
    ALPHABET,
    PASSWORD_LENGTH,
    UnknownGroup,
    UnknownStudent,
    generate_password,
    group_accounts,
    issue_first_passwords,
    reset_password,
)
from server.rules.accounts import password_problems
from tests.factories import create_group, create_student, create_user


def create_student_without_password(db: Session, *, group: StudentGroup) -> Student:
    """A student as a roster import leaves them: an account that cannot sign in yet."""
    student = create_student(db, group=group)
    assert student.user is not None
    student.user.password_hash = UNUSABLE_PASSWORD
    db.flush()
    return student


def _hash_of(db: Session, student: Student) -> str:
    return db.execute(
        select(User.password_hash)
        .join(Student, Student.user_id == User.id)
        .where(Student.id == student.id)
    ).scalar_one()


def _audit_entries(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_generated_passwords_meet_the_policy_and_differ() -> None:
    generated = [generate_password() for _ in range(300)]
    for password in generated:
        assert password_problems(password) == ()
        assert len(password) == PASSWORD_LENGTH
        assert set(password) <= set(ALPHABET)
        # A spreadsheet opening the CSV would read these as the start of a formula.
        assert password[0] not in "=+-@"
    assert len(set(generated)) == len(generated)


def test_issue_gives_a_password_to_each_student_without_one(db: Session) -> None:
    group = create_group(db)
    waiting = [create_student_without_password(db, group=group) for _ in range(3)]
    signed_up = create_student(db, group=group)
    hash_before = _hash_of(db, signed_up)
    registrar = create_user(db, role=Role.REGISTRAR)

    issue = issue_first_passwords(db, actor=registrar, group_code=group.code, now=utcnow())

    assert issue.already_set == 1
    assert sorted(slip.id_code for slip in issue.issued) == sorted(s.id_code for s in waiting)
    for slip in issue.issued:
        student = next(s for s in waiting if s.id_code == slip.id_code)
        assert slip.full_name == student.full_name
        assert slip.group_code == group.code
        stored = _hash_of(db, student)
        assert stored.startswith("$emtihan-argon2id$")
        assert slip.password not in stored
        assert verify_password(stored, slip.password)
    assert _hash_of(db, signed_up) == hash_before
    assert all(account.has_password for account in group_accounts(db, group_code=group.code))


def test_the_audit_names_each_student_but_never_the_password(db: Session) -> None:
    group = create_group(db)
    create_student_without_password(db, group=group)
    create_student_without_password(db, group=group)
    registrar = create_user(db, role=Role.REGISTRAR)

    issue = issue_first_passwords(db, actor=registrar, group_code=group.code, now=utcnow())

    entries = _audit_entries(db, "registrar.first_password_issued")
    assert sorted(e.details["id_code"] for e in entries) == sorted(s.id_code for s in issue.issued)
    assert {e.actor_id for e in entries} == {registrar.id}
    everything = [str(e.details) + e.subject for e in db.execute(select(AuditEntry)).scalars()]
    for slip in issue.issued:
        assert not any(slip.password in text for text in everything)


def test_a_second_issue_overwrites_nothing(db: Session) -> None:
    group = create_group(db)
    students = [create_student_without_password(db, group=group) for _ in range(2)]
    first = issue_first_passwords(db, actor=None, group_code=group.code, now=utcnow())
    hashes = [_hash_of(db, s) for s in students]

    second = issue_first_passwords(db, actor=None, group_code=group.code, now=utcnow())

    assert second.issued == []
    assert second.already_set == 2
    assert [_hash_of(db, s) for s in students] == hashes
    for slip, stored in zip(first.issued, hashes, strict=True):
        assert verify_password(stored, slip.password)


def test_a_password_set_after_the_group_was_read_is_not_overwritten(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UPDATE itself checks that the account still has no password (two registrars)."""
    group = create_group(db)
    student = create_student(db, group=group)  # got a password "meanwhile"
    before = _hash_of(db, student)
    monkeypatch.setattr(passwords, "_has_password", lambda user: False)  # a stale read

    issue = issue_first_passwords(db, actor=None, group_code=group.code, now=utcnow())

    assert issue.issued == []
    assert issue.already_set == 1
    assert _hash_of(db, student) == before


def test_reset_replaces_one_students_password(db: Session) -> None:
    group = create_group(db)
    student = create_student(db, group=group)
    other = create_student(db, group=group)
    other_hash = _hash_of(db, other)
    old_hash = _hash_of(db, student)
    registrar = create_user(db, role=Role.REGISTRAR)

    slip = reset_password(db, actor=registrar, id_code=student.id_code, now=utcnow())

    new_hash = _hash_of(db, student)
    assert new_hash != old_hash
    assert verify_password(new_hash, slip.password)
    assert _hash_of(db, other) == other_hash
    (entry,) = _audit_entries(db, "registrar.password_reset")
    assert entry.details == {"id_code": student.id_code, "group": group.code}
    assert slip.password not in str(entry.details)


def test_a_student_without_an_account_gets_one(db: Session) -> None:
    group = create_group(db)
    student = Student(id_code="NA-0001", full_name="No Account", group_id=group.id)
    db.add(student)
    db.flush()

    issue = issue_first_passwords(db, actor=None, group_code=group.code, now=utcnow())

    (slip,) = issue.issued
    db.refresh(student)
    assert student.user is not None
    assert (student.user.login, student.user.role) == ("NA-0001", Role.STUDENT)
    assert verify_password(student.user.password_hash, slip.password)


def test_unknown_group_and_student(db: Session) -> None:
    with pytest.raises(UnknownGroup) as group:
        issue_first_passwords(db, actor=None, group_code="NO-SUCH", now=utcnow())
    assert group.value.status_code == 404
    assert group.value.translated() == "There is no group NO-SUCH."
    with pytest.raises(UnknownStudent):
        reset_password(db, actor=None, id_code="NOBODY", now=utcnow())
