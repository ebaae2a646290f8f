"""Numbers as teachers write them: `3.5`, `3,5` (the decimal comma of kk/ru locales), `1e-3`."""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """Shortest faithful spelling: 3 not 3.0, 3.1415 not 3.1415000000000002."""
    value = round(value, 12)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
