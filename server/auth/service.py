"""Signing in and out, password changes, the user's language."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth import repository
from server.auth.passwords import (
    KeyDerivation,
    derivation_for,
    hash_password,
    needs_rehash,
    verify_key,
    verify_password,
)
from server.config import Settings
from server.errors import InvalidInput, TooManyAttempts
from server.i18n import N_, gettext
from server.models import Language, LoginFailure, User
from server.rules.accounts import PasswordProblem, password_problems

# Many lab PCs may sit behind one address; this only stops a single machine from spraying guesses.
ADDRESS_FAILURE_LIMIT_FACTOR = 10

PASSWORD_PROBLEM_MESSAGES: dict[PasswordProblem, str] = {
    PasswordProblem.TOO_SHORT: N_("at least 8 characters"),
    PasswordProblem.NO_DIGIT: N_("at least one digit"),
    PasswordProblem.NO_CAPITAL: N_("at least one capital letter"),
    PasswordProblem.NO_SPECIAL: N_("at least one special character such as # or !"),
}


class WrongCredentials(InvalidInput):
    status_code = 401
    message = N_("The login or password is not correct.")


class PasswordPolicyBroken(InvalidInput):
    message = N_("The new password does not meet the policy.")


@dataclass(frozen=True)
class SignIn:
    user: User | None
    refusal: WrongCredentials | None = None


def _check_rate_limit(
    db: Session, settings: Settings, *, login: str, address: str, now: datetime
) -> None:
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    by_login, by_address = repository.recent_failures(db, login=login, address=address, since=since)
    if by_login >= settings.login_max_failures:
        oldest = repository.oldest_failure_since(db, login=login, since=since) or now
        minutes = max(1, math.ceil((oldest + window - now).total_seconds() / 60))
        raise TooManyAttempts(minutes=minutes)
    if by_address >= settings.login_max_failures * ADDRESS_FAILURE_LIMIT_FACTOR:
        raise TooManyAttempts(minutes=math.ceil(window.total_seconds() / 60))


@dataclass(frozen=True)
class CheckedPassword:
    """A login and password checked against the stored hash; nothing written yet.

    ``user_id`` is None when they do not match. ``password_hash`` is the hash they matched:
    if it has changed by the time the sign-in is written, the password was changed in between
    and the check no longer counts. ``new_hash`` rehashes the password at the current argon2
    parameters, computed here so the write does not wait for it.
    """

    login: str
    user_id: int | None
    password_hash: str | None = None
    new_hash: str | None = None


@dataclass(frozen=True)
class StoredCredentials:
    """What the database holds for a login, read before argon2 runs (``read_credentials``)."""

    login: str
    user_id: int | None = None
    password_hash: str | None = None
    active: bool = False


def read_credentials(
    db: Session, settings: Settings, *, login: str, address: str, now: datetime
) -> StoredCredentials:
    """The reads of a password check: the rate limit, then the login's stored hash.

    Raises ``TooManyAttempts`` when the login or address has failed too often. The count is read
    here, outside the write, so two guesses racing each other may both be checked: the limit is
    there against a machine spraying guesses, which it still stops.
    """
    login = login.strip()
    _check_rate_limit(db, settings, login=login, address=address, now=now)
    account = repository.credentials_of(db, login)
    if account is None:
        return StoredCredentials(login=login)
    return StoredCredentials(
        login=login,
        user_id=account.id,
        password_hash=account.password_hash,
        active=account.is_active,
    )


def key_derivation(db: Session, settings: Settings, *, login: str) -> KeyDerivation:
    """What the sign-in page derives the key of ``login``'s password with: the stored salt and
    costs, or made-up ones for a login with none (``passwords.derivation_for``)."""
    login = login.strip()
    stored = repository.password_hash_of(db, login)
    return derivation_for(stored, login=login, secret=settings.resolved_secret_key())


def verify_credentials(stored: StoredCredentials, password: str) -> CheckedPassword:
    """argon2 alone, no database: ~20 ms of a core (docs/SECURITY.md). It must not run inside a
    write transaction, where on SQLite every other writer would wait for it. An unknown login is
    checked against a dummy hash, so both cost the same time."""
    if not _matches(stored, verify_password(stored.password_hash, password)):
        return CheckedPassword(login=stored.login, user_id=None)
    assert stored.password_hash is not None
    new_hash = hash_password(password) if needs_rehash(stored.password_hash) else None
    return CheckedPassword(
        login=stored.login,
        user_id=stored.user_id,
        password_hash=stored.password_hash,
        new_hash=new_hash,
    )


def verify_key_credentials(stored: StoredCredentials, key: bytes) -> CheckedPassword:
    """The password's key, which the sign-in page derived (``passwords.derivation_for``): one
    SHA-256, no argon2 here. A hash at old costs stays as it is: only the password can remake it."""
    if not _matches(stored, verify_key(stored.password_hash, key)):
        return CheckedPassword(login=stored.login, user_id=None)
    return CheckedPassword(
        login=stored.login, user_id=stored.user_id, password_hash=stored.password_hash
    )


def _matches(stored: StoredCredentials, proof_holds: bool) -> bool:
    return (
        proof_holds
        and stored.user_id is not None
        and stored.password_hash is not None
        and stored.active
    )


def check_password(
    db: Session, settings: Settings, *, login: str, password: str, address: str, now: datetime
) -> CheckedPassword:
    """Check a password with reads only (``read_credentials``, then ``verify_credentials``)."""
    stored = read_credentials(db, settings, login=login, address=address, now=now)
    return verify_credentials(stored, password)


def record_sign_in(db: Session, checked: CheckedPassword, *, address: str, now: datetime) -> SignIn:
    """Write what ``check_password`` found. A failure is recorded (and committed) rather than
    raised, so it counts towards the rate limit."""
    user = db.get(User, checked.user_id) if checked.user_id is not None else None
    if user is None or not user.is_active or user.password_hash != checked.password_hash:
        db.add(LoginFailure(login=checked.login[:64], address=address[:64], at=now))
        record(
            db,
            actor=None,
            action="auth.sign_in_failed",
            subject=checked.login[:200],
            details={"address": address},
            at=now,
        )
        return SignIn(user=None, refusal=WrongCredentials())
    if checked.new_hash is not None:
        user.password_hash = checked.new_hash
    repository.clear_failures(db, login=checked.login)
    record(
        db,
        actor=user,
        action="auth.signed_in",
        subject=f"user:{user.id}",
        details={"address": address},
        at=now,
    )
    return SignIn(user=user)


def policy_messages(password: str) -> list[str]:
    return [gettext(PASSWORD_PROBLEM_MESSAGES[p]) for p in password_problems(password)]


def change_password(
    db: Session, *, user: User, current: str, new: str, repeat: str, now: datetime
) -> None:
    if not verify_password(user.password_hash, current):
        raise InvalidInput(
            N_("The current password is not correct."),
            field_errors={"current": gettext("The current password is not correct.")},
        )
    if new != repeat:
        raise InvalidInput(
            N_("The two new passwords differ."),
            field_errors={"repeat": gettext("The two new passwords differ.")},
        )
    if new == current:
        raise InvalidInput(
            N_("The new password must differ from the current one."),
            field_errors={"new": gettext("The new password must differ from the current one.")},
        )
    problems = policy_messages(new)
    if problems:
        raise PasswordPolicyBroken(field_errors={"new": "; ".join(problems)})
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    record(db, actor=user, action="auth.password_changed", subject=f"user:{user.id}", at=now)


def set_language(db: Session, *, user: User | None, language: str) -> Language:
    try:
        chosen = Language(language)
    except ValueError as exc:
        raise InvalidInput(N_("Unknown language.")) from exc
    if user is not None:
        user.locale = chosen
    return chosen
