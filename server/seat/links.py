"""Seat links: the address a lab workstation's browser opens, naming its room and seat.

IT staff set each workstation's start page to its link (R 4.2: the proctor checks every
workstation before the exam). The link is signed, so a student cannot make up another seat by
editing the address; it carries no expiry because a workstation keeps its link for years.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from server.config import Settings

_SALT = "emtihan.seat"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt=_SALT)


def seat_token(settings: Settings, seat_id: int) -> str:
    return str(_serializer(settings).dumps(seat_id))


def seat_from_token(settings: Settings, token: str) -> int | None:
    """The seat id a token names, or None when the token is forged or damaged."""
    if len(token) > 200:
        return None
    try:
        value = _serializer(settings).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
