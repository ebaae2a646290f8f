"""First passwords for students, issued by the registrar's office (H, "Accounts").

A roster import creates each student's account (login = ID code) with an unusable password; the
registrar issues the first one here. Each is random, meets the handbook's policy
(``rules.accounts.password_problems``), is stored only as an argon2 hash and is returned exactly
once, for the printed slips or the CSV: it cannot be shown again, only replaced by a reset.

Issuing for a group touches only the accounts that have no password yet, so a second run never
overwrites a password a student may already be using; replacing one is a separate, per-student
reset. Every issue is audited without the password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from server.audit.service import record
from server.auth.passwords import UNUSABLE_PASSWORD, hash_password
from server.errors import Conflict, NotFound
from server.i18n import N_
from server.models import Role, Student, StudentGroup, User
from server.rules.accounts import PASSWORD_MIN_LENGTH, password_problems

PASSWORD_LENGTH = 10
# Read off paper and typed at a lab PC: no look-alikes (I/l/1, O/o/0), and no character that a
# spreadsheet would take for the start of a formula (= + - @) when the CSV is opened.
CAPITALS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SMALL_LETTERS = "abcdefghijkmnpqrstuvwxyz"
DIGITS = "23456789"
SPECIALS = "#%!?*&$"
ALPHABET = CAPITALS + SMALL_LETTERS + DIGITS + SPECIALS


class UnknownGroup(NotFound):
    message = N_("There is no group %(code)s.")


class UnknownStudent(NotFound):
    message = N_("There is no student with ID code %(code)s.")


class LoginTaken(Conflict):
    message = N_("The login %(code)s already belongs to another account.")


@dataclass(frozen=True)
class IssuedPassword:
    """One slip: who, and the password in clear — held in memory only, never stored."""

    id_code: str
    full_name: str
    group_code: str
    password: str


@dataclass(frozen=True)
class GroupIssue:
    group_code: str
    issued: list[IssuedPassword]
    already_set: int


@dataclass(frozen=True)
class StudentAccount:
    """A student of a group and whether they can sign in yet (for the registrar's list)."""

    id_code: str
    full_name: str
    has_password: bool


def generate_password() -> str:
    """A random password that meets the handbook's policy."""
    assert PASSWORD_LENGTH >= PASSWORD_MIN_LENGTH
    while True:
        # One of each class the policy asks for, the rest from the whole alphabet, shuffled.
        characters = [
            secrets.choice(CAPITALS),
            secrets.choice(DIGITS),
            secrets.choice(SPECIALS),
            *(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH - 3)),
        ]
        secrets.SystemRandom().shuffle(characters)
        password = "".join(characters)
        # The rule module decides what is acceptable, not this generator's construction.
        if not password_problems(password):
            return password


def _has_password(user: User | None) -> bool:
    return user is not None and bool(user.password_hash) and user.password_hash != UNUSABLE_PASSWORD


def _group(db: Session, code: str) -> StudentGroup:
    group = db.execute(
        select(StudentGroup).where(StudentGroup.code == code.strip())
    ).scalar_one_or_none()
    if group is None:
        raise UnknownGroup(code=code)
    return group


def _students_of(db: Session, group: StudentGroup) -> list[Student]:
    return list(
        db.execute(
            select(Student)
            .where(Student.group_id == group.id)
            .options(selectinload(Student.user))
            .order_by(Student.full_name, Student.id_code)
        ).scalars()
    )


def _account_for(db: Session, student: Student, *, now: datetime) -> User:
    """The student's account, created as a roster import would when it is missing."""
    if student.user is not None:
        return student.user
    taken = db.execute(select(User.id).where(User.login == student.id_code)).first()
    if taken is not None:
        raise LoginTaken(code=student.id_code)
    user = User(
        login=student.id_code,
        full_name=student.full_name,
        role=Role.STUDENT,
        password_hash=UNUSABLE_PASSWORD,
        password_changed_at=now,
    )
    student.user = user
    db.flush()
    return user


def _set_password(db: Session, user: User, *, only_if_unset: bool, now: datetime) -> str | None:
    """Store a new password's hash; None when ``only_if_unset`` and someone else set one first."""
    password = generate_password()
    statement = update(User).where(User.id == user.id)
    if only_if_unset:
        # Re-checked by the UPDATE itself: of two registrars issuing for the same group at once,
        # the second finds the row changed (PostgreSQL re-reads it after the first commits)
        # and prints no slip, rather than overwriting the password on the first one's slip.
        statement = statement.where(User.password_hash == UNUSABLE_PASSWORD)
    changed = db.execute(
        statement.values(password_hash=hash_password(password), password_changed_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount  # type: ignore[attr-defined]
    db.refresh(user)
    return password if changed == 1 else None


def _audit(
    db: Session, *, actor: User | None, user: User, student: Student, reset: bool, now: datetime
) -> None:
    record(
        db,
        actor=actor,
        action="registrar.password_reset" if reset else "registrar.first_password_issued",
        subject=f"user:{user.id}",
        details={"id_code": student.id_code, "group": student.group.code},
        at=now,
    )


def group_accounts(db: Session, *, group_code: str) -> list[StudentAccount]:
    """The students of a group, each with whether a password has been issued."""
    group = _group(db, group_code)
    return [
        StudentAccount(s.id_code, s.full_name, _has_password(s.user))
        for s in _students_of(db, group)
    ]


def issue_first_passwords(
    db: Session, *, actor: User | None, group_code: str, now: datetime
) -> GroupIssue:
    """Give every student of the group who has no password yet a first one."""
    group = _group(db, group_code)
    issued: list[IssuedPassword] = []
    already_set = 0
    for student in _students_of(db, group):
        user = _account_for(db, student, now=now)
        if _has_password(user):
            already_set += 1
            continue
        password = _set_password(db, user, only_if_unset=True, now=now)
        if password is None:
            already_set += 1
            continue
        _audit(db, actor=actor, user=user, student=student, reset=False, now=now)
        issued.append(IssuedPassword(student.id_code, student.full_name, group.code, password))
    return GroupIssue(group_code=group.code, issued=issued, already_set=already_set)


def reset_password(
    db: Session, *, actor: User | None, id_code: str, now: datetime
) -> IssuedPassword:
    """Replace one student's password (a forgotten or disclosed one) with a new random one."""
    student = db.execute(
        select(Student)
        .where(Student.id_code == id_code.strip())
        .options(selectinload(Student.user), selectinload(Student.group))
    ).scalar_one_or_none()
    if student is None:
        raise UnknownStudent(code=id_code)
    user = _account_for(db, student, now=now)
    reset = _has_password(user)
    password = _set_password(db, user, only_if_unset=False, now=now)
    assert password is not None  # an unconditional update always finds its row
    _audit(db, actor=actor, user=user, student=student, reset=reset, now=now)
    return IssuedPassword(student.id_code, student.full_name, student.group.code, password)
