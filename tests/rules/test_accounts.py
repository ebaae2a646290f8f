from datetime import UTC, datetime, timedelta

import pytest

from server.rules.accounts import (
    PASSWORD_MAX_AGE,
    PasswordProblem,
    password_expired,
    password_expires_at,
    password_problems,
)

TOO_SHORT = PasswordProblem.TOO_SHORT
NO_DIGIT = PasswordProblem.NO_DIGIT
NO_CAPITAL = PasswordProblem.NO_CAPITAL
NO_SPECIAL = PasswordProblem.NO_SPECIAL


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        pytest.param("Emtihan1!", (), id="good"),
        pytest.param("Emtih1!x", (), id="exactly-8"),
        pytest.param("Emtih1!", (TOO_SHORT,), id="7-characters"),
        pytest.param("Emtihan!!", (NO_DIGIT,), id="no-digit"),
        pytest.param("emtihan1!", (NO_CAPITAL,), id="no-capital"),
        pytest.param("Emtihan12", (NO_SPECIAL,), id="no-special"),
        pytest.param("", (TOO_SHORT, NO_DIGIT, NO_CAPITAL, NO_SPECIAL), id="empty-all-in-order"),
        pytest.param("абвгдеж", (TOO_SHORT, NO_DIGIT, NO_CAPITAL, NO_SPECIAL), id="short-lower"),
        pytest.param("Емтихан1!", (), id="cyrillic-capital"),
        pytest.param("Қазақстан2025#", (), id="kazakh-capital"),
        pytest.param("ұлттық2025#", (NO_CAPITAL,), id="kazakh-lower-only"),
        pytest.param("EMTIHAN1 x", (NO_SPECIAL,), id="space-is-not-special"),
        pytest.param("Emtihan 1", (NO_SPECIAL,), id="space-counts-for-length"),
        pytest.param("Emtihan1_", (), id="underscore-is-special"),
        pytest.param("Emtihan1№", (), id="numero-sign-is-special"),
        pytest.param("Emtihan²!", (NO_DIGIT,), id="superscript-is-not-a-digit"),
        pytest.param("Emtihan٣!", (), id="arabic-indic-digit"),
        pytest.param("12345678", (NO_CAPITAL, NO_SPECIAL), id="digits-only"),
    ],
)
def test_password_problems(password: str, problems: tuple[PasswordProblem, ...]) -> None:
    assert password_problems(password) == problems


CHANGED = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        pytest.param(CHANGED, False, id="just-changed"),
        pytest.param(CHANGED + timedelta(days=42) - US, False, id="1us-before-42-days"),
        pytest.param(CHANGED + timedelta(days=42), True, id="exactly-42-days"),
        pytest.param(CHANGED + timedelta(days=43), True, id="43-days"),
    ],
)
def test_password_expired(now: datetime, expired: bool) -> None:
    assert timedelta(days=42) == PASSWORD_MAX_AGE
    assert password_expired(changed_at=CHANGED, now=now) is expired


def test_password_expires_at() -> None:
    assert password_expires_at(changed_at=CHANGED) == datetime(2026, 10, 13, 6, 0, tzinfo=UTC)


def test_password_expired_rejects_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        password_expired(changed_at=CHANGED, now=datetime(2026, 10, 13, 6, 0))  # noqa: DTZ001
