"""Kazakh, Russian and English: catalogs, the current language and the gettext callables.

The language of a request is chosen by the signed-in user's setting, else the language cookie,
else the browser's Accept-Language, else Kazakh. It lives in a context variable, so services and
templates translate without passing the request around (the thread pool copies the context).
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("kk", "ru", "en")
DEFAULT_LOCALE = "kk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

_current_locale: ContextVar[str] = ContextVar("emtihan_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=len(LOCALES))
def translations_for(locale: str) -> NullTranslations:
    """Compile the .po catalog in memory: no build step, and no stale .mo can ever be served."""
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current_locale.get()


def gettext(message: str) -> str:
    return translations_for(get_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(get_locale()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # the gettext convention for "mark only"
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


_ = gettext


def negotiate(accept_language: str | None) -> str | None:
    """The best of our locales for an Accept-Language header, or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().lower().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality <= 0:
            continue  # q=0 means "not this language"
        ranked.append((quality, tag.strip().lower().split("-")[0]))
    for _quality, lang in sorted(ranked, key=lambda pair: -pair[0]):
        if lang in LOCALES:
            return lang
    return None
