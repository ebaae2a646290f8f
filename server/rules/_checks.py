"""Guards for programmer errors, shared by the rules.

A rule raises ``ValueError`` only when its caller broke the contract: an R1 of 130, a naive
datetime, a question count of zero. Anything that can happen to a real student (a refusal, a
missed deadline, an F) is a returned value, never an exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def require_percent(name: str, value: Decimal) -> Decimal:
    """Return ``value`` if it is a finite percentage in [0, 100]; otherwise raise ValueError."""
    # is_finite() first: comparing a NaN Decimal with < raises InvalidOperation, not ValueError.
    if not value.is_finite() or not ZERO <= value <= HUNDRED:
        raise ValueError(f"{name} must be a percentage in [0, 100], got {value}")
    return value


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` if it is timezone-aware; a naive instant is ambiguous across the labs."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware instant (UTC), got {value!r}")
    return value


def require_not_negative(name: str, value: timedelta) -> timedelta:
    """Return ``value`` if it is zero or positive; otherwise raise ValueError."""
    if value < timedelta(0):
        raise ValueError(f"{name} must not be negative, got {value}")
    return value
