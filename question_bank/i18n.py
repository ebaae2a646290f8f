"""Message translation hook: the library marks its messages, the server decides the language.

The library cannot import the server (it must stay usable on its own), so the server installs its
gettext callable with `set_translator`; until then messages stay in English.
"""

from __future__ import annotations

from collections.abc import Callable

_translate: Callable[[str], str] = str


def set_translator(translate: Callable[[str], str]) -> None:
    global _translate
    _translate = translate


def _(message: str) -> str:
    return _translate(message)


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined; `_` translates it where it is used."""
    return message
