"""Signing in and out, password changes, the user's language."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth import repository
from server.auth.passwords import hash_password, needs_rehash, verify_password
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
    by_login = repository.failures_since(db, login=login, since=since)
    by_address = repository.address_failures_since(db, address=address, since=since)
    if by_login >= settings.login_max_failures:
        oldest = repository.oldest_failure_since(db, login=login, since=since) or now
        minutes = max(1, math.ceil((oldest + window - now).total_seconds() / 60))
        raise TooManyAttempts(minutes=minutes)
    if by_address >= settings.login_max_failures * ADDRESS_FAILURE_LIMIT_FACTOR:
        raise TooManyAttempts(minutes=math.ceil(window.total_seconds() / 60))


def sign_in(
    db: Session, settings: Settings, *, login: str, password: str, address: str, now: datetime
) -> SignIn:
    """Check the password. A failure is recorded (and committed) rather than raised."""
    login = login.strip()
    _check_rate_limit(db, settings, login=login, address=address, now=now)
    user = repository.user_by_login(db, login)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        db.add(LoginFailure(login=login[:64], address=address[:64], at=now))
        record(
            db,
            actor=None,
            action="auth.sign_in_failed",
            subject=login[:200],
            details={"address": address},
            at=now,
        )
        return SignIn(user=None, refusal=WrongCredentials())
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    repository.clear_failures(db, login=login)
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
