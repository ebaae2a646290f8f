"""Queries for accounts and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from server.db import table_of
from server.models import LoginFailure, User


def user_by_login(db: Session, login: str) -> User | None:
    return db.execute(select(User).where(User.login == login)).scalar_one_or_none()


def password_hash_of(db: Session, login: str) -> str | None:
    return db.execute(select(User.password_hash).where(User.login == login)).scalar_one_or_none()


def failures_since(db: Session, *, login: str, since: datetime) -> int:
    return db.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.login == login, LoginFailure.at >= since)
    ).scalar_one()


def address_failures_since(db: Session, *, address: str, since: datetime) -> int:
    return db.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.address == address, LoginFailure.at >= since)
    ).scalar_one()


def oldest_failure_since(db: Session, *, login: str, since: datetime) -> datetime | None:
    return db.execute(
        select(func.min(LoginFailure.at)).where(
            LoginFailure.login == login, LoginFailure.at >= since
        )
    ).scalar_one()


_FAILURES = table_of(LoginFailure)
# Built once, and on the table rather than the entity: every sign-in runs it, almost always
# deleting nothing, and the ORM's bulk DELETE (matching the session's objects) cost more than
# the statement.
_CLEAR_FAILURES = delete(_FAILURES).where(_FAILURES.c.login == bindparam("login"))


def clear_failures(db: Session, *, login: str) -> None:
    db.execute(_CLEAR_FAILURES, {"login": login})
