"""Signing in in two steps: the password checked with reads only, then the sign-in written.

Between the two another request may change the account; the write then refuses what the check
found, as the check would have.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth.passwords import KeyDerivation, hash_password, verify_password
from server.auth.service import check_password, record_sign_in
from server.config import Settings
from server.db import utcnow
from server.errors import TooManyAttempts
from server.models import AuditEntry, LoginFailure, User
from tests.factories import PASSWORD, create_user


def _failures(db: Session, login: str) -> int:
    return db.execute(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.login == login)
    ).scalar_one()


def _change_password(user: User) -> None:
    user.password_hash = hash_password("Another#Pass7")


def _deactivate(user: User) -> None:
    user.is_active = False


def _nothing(_user: User) -> None:
    return None


@pytest.mark.parametrize(
    ("between", "signed_in"),
    [(_nothing, True), (_change_password, False), (_deactivate, False)],
    ids=["unchanged", "password changed", "account deactivated"],
)
def test_the_write_refuses_a_check_the_account_has_outdated(
    db: Session, settings: Settings, between: Callable[[User], None], signed_in: bool
) -> None:
    user = create_user(db)
    now = utcnow()
    checked = check_password(
        db, settings, login=f"  {user.login} ", password=PASSWORD, address="10.0.0.1", now=now
    )
    assert checked.user_id == user.id
    between(user)
    db.flush()

    outcome = record_sign_in(db, checked, address="10.0.0.1", now=now)

    assert (outcome.user is not None) is signed_in
    assert (outcome.refusal is None) is signed_in
    assert _failures(db, user.login) == (0 if signed_in else 1)
    action = "auth.signed_in" if signed_in else "auth.sign_in_failed"
    assert db.execute(select(AuditEntry).where(AuditEntry.action == action)).first() is not None


@pytest.mark.parametrize(
    ("login", "password"),
    [("nobody-here", PASSWORD), (None, "Wrong#Pass1")],
    ids=["unknown login", "wrong password"],
)
def test_a_failed_check_is_recorded_as_a_failure(
    db: Session, settings: Settings, login: str | None, password: str
) -> None:
    user = create_user(db)
    login = login or user.login
    now = utcnow()
    checked = check_password(
        db, settings, login=login, password=password, address="10.0.0.1", now=now
    )
    assert checked.user_id is None

    outcome = record_sign_in(db, checked, address="10.0.0.1", now=now)

    assert outcome.user is None
    assert outcome.refusal is not None
    assert _failures(db, login) == 1


def test_a_hash_at_old_parameters_is_replaced_by_the_check(db: Session, settings: Settings) -> None:
    user = create_user(db)
    old_costs = KeyDerivation(salt=bytes(16), memory_kib=8 * 1024, time_cost=1, parallelism=1)
    user.password_hash = hash_password(PASSWORD, at=old_costs)
    db.flush()
    now = utcnow()

    checked = check_password(
        db, settings, login=user.login, password=PASSWORD, address="10.0.0.1", now=now
    )
    assert checked.new_hash is not None
    assert record_sign_in(db, checked, address="10.0.0.1", now=now).user is not None

    assert user.password_hash == checked.new_hash
    assert user.password_hash.startswith("$emtihan-argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(user.password_hash, PASSWORD)


# The limits at the settings' defaults: 5 failures of one login, or 50 from one address, within
# 15 minutes; ``age`` is how long before the check each failure was recorded.
WINDOW = 15 * 60


@pytest.mark.parametrize(
    ("same_login", "same_address", "age", "refused_for"),
    [
        (4, 0, 0, None),
        (5, 0, 0, 15),  # the oldest failure of the window frees the login in 15 minutes
        (5, 0, 60, 14),
        (5, 0, WINDOW, 1),  # the window's first instant still counts (at least one minute)
        (5, 0, WINDOW + 1, None),  # older failures do not count
        (0, 49, 0, None),  # other logins from the same address
        (0, 50, 0, 15),
        (0, 50, WINDOW + 1, None),
        (4, 49, 0, None),  # the two limits are counted apart
    ],
)
def test_too_many_recent_failures_refuse_the_check(
    db: Session,
    settings: Settings,
    same_login: int,
    same_address: int,
    age: int,
    refused_for: int | None,
) -> None:
    user = create_user(db)
    now = utcnow()
    at = now - timedelta(seconds=age)
    db.add_all(LoginFailure(login=user.login, address="10.0.0.9", at=at) for _ in range(same_login))
    db.add_all(
        LoginFailure(login=f"other-{n}", address="10.0.0.1", at=at) for n in range(same_address)
    )
    db.add(LoginFailure(login=user.login, address="10.0.0.1", at=now - timedelta(hours=1)))

    def check() -> int | None:
        checked = check_password(
            db, settings, login=user.login, password=PASSWORD, address="10.0.0.1", now=now
        )
        return checked.user_id

    if refused_for is None:
        assert check() == user.id
        return
    with pytest.raises(TooManyAttempts) as refusal:
        check()
    assert refusal.value.params == {"minutes": refused_for}


@pytest.mark.parametrize("login", ["nobody", ""])
def test_an_unknown_login_is_checked_and_matches_no_account(
    db: Session, settings: Settings, login: str
) -> None:
    checked = check_password(
        db, settings, login=login, password=PASSWORD, address="10.0.0.1", now=utcnow()
    )

    assert checked.user_id is None
