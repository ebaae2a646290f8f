"""Shared helpers: where the third-party corpus lives, and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Files in the corpus folder that are not question banks (the README, the items' images and
# stylesheet, the parse trees GIFT-grammar-PEG.js asserts).
NOT_BANKS = {".md", ".png", ".css", ".json"}


def shared_dir() -> Path:
    override = os.environ.get("EMTIHAN_SHARED_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared"


def corpus_dir() -> Path:
    """The corpus folder; a missing corpus fails the test (a skip would hide lost coverage)."""
    folder = shared_dir() / "corpora"
    if not folder.is_dir():
        pytest.fail(
            f"question-bank corpus not found at {folder}; set EMTIHAN_SHARED_DIR to the shared "
            "folder that holds corpora/",
            pytrace=False,
        )
    return folder


def corpus_files(*, banks_only: bool) -> list[str]:
    """Relative paths of the corpus files, or a marker that makes the test fail when missing."""
    folder = shared_dir() / "corpora"
    if not folder.is_dir():
        return ["<corpus missing>"]
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not (banks_only and (p.suffix in NOT_BANKS or "expected" in p.parts))
    )
