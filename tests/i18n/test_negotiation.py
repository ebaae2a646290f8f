"""``server.i18n.negotiate``: the best of kk/ru/en for a browser's Accept-Language header."""

from __future__ import annotations

import pytest

from server.i18n import negotiate

CASES: list[tuple[str | None, str | None]] = [
    # q=0 refuses a language; the q parameter's name is case-insensitive.
    ("en;q=0, ru", "ru"),
    ("kk;q=0", None),
    ("de, RU;Q=0.1", "ru"),
    # No header, or nothing usable in it.
    (None, None),
    ("", None),
    (" , ,", None),
    # A bare language, and region or script subtags, in any case.
    ("kk", "kk"),
    ("ru", "ru"),
    ("en", "en"),
    ("kk-KZ", "kk"),
    ("KK-kz", "kk"),
    ("kk-Cyrl-KZ", "kk"),
    ("ru-KZ", "ru"),
    ("en-GB", "en"),
    # q-values: the highest acceptable quality wins, wherever it stands in the list.
    ("ru;q=0.5, en;q=0.9", "en"),
    ("ru; q=0.5, en; q=0.9", "en"),
    ("en;q=0.1, kk;q=0.2, ru;q=0.15", "kk"),
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
    ("de-DE,de;q=0.9,en;q=0.3", "en"),
    ("en-US,en;q=0.9,kk;q=1.0", "en"),  # equal quality: the first listed wins
    ("kk;q=0.8, ru;q=0.8", "kk"),
    ("ru, kk", "ru"),
    ("ru;q=not-a-number, en;q=0.1", "en"),  # a malformed q counts as the lowest preference
    # Languages we do not offer, alone, are None (the caller then uses the default).
    ("de", None),
    ("fr-FR, de;q=0.8", None),
    ("tr, uz;q=0.9, ky;q=0.8", None),
    ("kz", None),  # KZ is Kazakhstan's country code, not a language
    ("*", None),
    # ...and are skipped when one of ours follows.
    ("de, ru;q=0.1", "ru"),
    ("zh-Hant-TW, kk;q=0.2", "kk"),
    ("uz-Latn-UZ,uz;q=0.9,ru;q=0.8,en;q=0.7", "ru"),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_negotiate(header: str | None, expected: str | None) -> None:
    assert negotiate(header) == expected


def test_negotiate_only_returns_offered_locales() -> None:
    from server.i18n import LOCALES

    for header, _expected in CASES:
        chosen = negotiate(header)
        assert chosen is None or chosen in LOCALES
