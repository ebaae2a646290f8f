"""Account passwords (H, "ХАТУ студенттеріне арналған есептік жазба ... пайдалану ережелері").

H: "Құпиясөз күрделі болуы тиіс және келесі қауіпсіздік талаптарына сәйкес келуі қажет: кемінде
8 таңба, міндетті түрде сандар, бас әріптер, жоғарғы регистрдегі таңбалар және арнайы символдар
(!@#$% және т.б.)" — "the password must be complex: at least 8 characters, necessarily digits,
capital letters, upper-case characters and special symbols (!@#$% etc.)"; "Құпиясөздің
жарамдылық мерзімі – 42 күн, содан кейін оны ауыстыру қажет" — "a password is valid for 42 days,
after which it must be changed".

Decisions:

* **One of each class is enough.** The plurals ("сандар", digits; "бас әріптер", capitals) are
  the generic plural of Kazakh, not a count. "Бас әріптер" and "жоғарғы регистрдегі таңбалар"
  name the same class (capitals), so it is checked once. Lower-case letters are not required.
* **Length counts Unicode characters (code points)**, spaces included.
* **A capital is any Unicode upper-case letter** (``str.isupper``): Latin, Cyrillic and the
  Kazakh letters Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, Һ, І all count.
* **A digit is any Unicode decimal digit** (``str.isdecimal``); a superscript ² is not one.
* **A special character is any character that is neither alphanumeric nor whitespace**; "(!@#$%
  және т.б.)" — "etc." — makes the list open. A space is allowed in a password but is not special.
* **A password is expired from exactly 42 days after it was changed**: valid for 42 days, "содан
  кейін" (after that) it must be changed, so the instant the 42 days are complete is already
  outside the validity period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from server.rules._checks import require_aware

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_AGE = timedelta(days=42)


class PasswordProblem(StrEnum):
    """What a password lacks; member order is the order they are reported."""

    TOO_SHORT = "too_short"
    NO_DIGIT = "no_digit"
    NO_CAPITAL = "no_capital"
    NO_SPECIAL = "no_special"


def _is_special(character: str) -> bool:
    return not character.isalnum() and not character.isspace()


def password_problems(password: str) -> tuple[PasswordProblem, ...]:
    """Every requirement ``password`` fails, in a stable order; empty means acceptable."""
    problems: list[PasswordProblem] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(PasswordProblem.TOO_SHORT)
    if not any(character.isdecimal() for character in password):
        problems.append(PasswordProblem.NO_DIGIT)
    if not any(character.isupper() for character in password):
        problems.append(PasswordProblem.NO_CAPITAL)
    if not any(_is_special(character) for character in password):
        problems.append(PasswordProblem.NO_SPECIAL)
    return tuple(problems)


def password_expires_at(*, changed_at: datetime) -> datetime:
    """The first instant at which a password changed at ``changed_at`` is expired."""
    return require_aware("changed_at", changed_at) + PASSWORD_MAX_AGE


def password_expired(*, changed_at: datetime, now: datetime) -> bool:
    """Whether the password must be changed before it can be used again (42 days, H)."""
    require_aware("now", now)
    return now >= password_expires_at(changed_at=changed_at)
