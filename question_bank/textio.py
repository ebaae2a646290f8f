"""Turning uploaded bytes into text, or into an error that says where the bytes went wrong."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from question_bank.i18n import _


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str | None
    error: str | None = None
    line: int | None = None


def looks_binary(data: bytes) -> bool:
    """NUL bytes never occur in UTF-8 text files; UTF-16 is told apart by its BOM first."""
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head


def decode_text(data: bytes) -> Decoded:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; newlines normalized to \\n."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    if encoding == "utf-8" and b"\x00" in data:
        return Decoded(None, _("the file is binary, not a text question bank"), None)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        return Decoded(
            None,
            _(
                "the file is not valid {encoding} (byte 0x{byte} on line {line}); save it as UTF-8"
            ).format(encoding=encoding.upper(), byte=bad, line=line),
            line,
        )
    return Decoded(text.replace("\r\n", "\n").replace("\r", "\n"))
