"""Size limits that keep a hostile or broken upload from exhausting the server."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 50 * MB  # one file as uploaded
    max_unzipped_bytes: int = 200 * MB  # all members of a zip together
    max_zip_ratio: float = 100.0  # uncompressed / compressed, per member
    max_zip_members: int = 10_000
    # Small members compress absurdly well without being bombs (a 2 kB run of spaces).
    ratio_exempt_bytes: int = 1 * MB


DEFAULT_LIMITS = Limits()


def human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size} bytes"
