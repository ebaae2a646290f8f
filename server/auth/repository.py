"""Queries for accounts and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, select
from sqlalchemy.orm import Session

from server.db import table_of
from server.db.session import columns
from server.models import LoginFailure, User

# The reads of every sign-in are built once, as Core statements on the tables: at an exam's
# start 2,000 students sign in within a minute, and building these statements and passing them
# through the ORM was over half of what a sign-in's reads cost the server's interpreter.
_USERS = table_of(User)
_FAILURES = table_of(LoginFailure)
_CREDENTIALS = select(_USERS.c.id, _USERS.c.password_hash, _USERS.c.is_active).where(
    _USERS.c.login == bindparam("login")
)
_PASSWORD_HASH = select(_USERS.c.password_hash).where(_USERS.c.login == bindparam("login"))
# Two counts in one statement, each its own subquery so each keeps its own index.
_RECENT_FAILURES = select(
    select(func.count())
    .where(_FAILURES.c.login == bindparam("login"), _FAILURES.c.at >= bindparam("since"))
    .scalar_subquery(),
    select(func.count())
    .where(_FAILURES.c.address == bindparam("address"), _FAILURES.c.at >= bindparam("since"))
    .scalar_subquery(),
)


def credentials_of(db: Session, login: str) -> Row[int, str, bool] | None:
    """The account's ``id``, ``password_hash`` and ``is_active``, if the login has one."""
    return columns(db, _CREDENTIALS, {"login": login}).one_or_none()


def password_hash_of(db: Session, login: str) -> str | None:
    return columns(db, _PASSWORD_HASH, {"login": login}).scalar_one_or_none()


def recent_failures(db: Session, *, login: str, address: str, since: datetime) -> tuple[int, int]:
    """The failed sign-ins since ``since``: of ``login``, and from ``address``."""
    by_login, by_address = columns(
        db, _RECENT_FAILURES, {"login": login, "address": address, "since": since}
    ).one()
    return by_login, by_address


def oldest_failure_since(db: Session, *, login: str, since: datetime) -> datetime | None:
    return db.execute(
        select(func.min(LoginFailure.at)).where(
            LoginFailure.login == login, LoginFailure.at >= since
        )
    ).scalar_one()


# Built once, and on the table rather than the entity: every sign-in runs it, almost always
# deleting nothing, and the ORM's bulk DELETE (matching the session's objects) cost more than
# the statement.
_CLEAR_FAILURES = delete(_FAILURES).where(_FAILURES.c.login == bindparam("login"))


def clear_failures(db: Session, *, login: str) -> None:
    columns(db, _CLEAR_FAILURES, {"login": login})
