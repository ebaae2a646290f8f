"""Write jobs for tests/db/test_writer.py, in a module the writer process can import."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.group_commit import ReadAhead, taken_ahead
from server.db.writer import write_job
from server.errors import TooManyAttempts
from server.events.store import stored_event


@write_job
def insert_mark(db: Session, settings: Settings, *, n: int) -> int:
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    return n * 10


@write_job
def refuse_after_writing(db: Session, settings: Settings, *, minutes: int) -> int:
    db.execute(text("INSERT INTO marks (n) VALUES (99)"))
    raise TooManyAttempts(minutes=minutes)


@write_job
def writer_pid(db: Session, settings: Settings) -> int:
    return os.getpid()


@write_job
def insert_slowly(db: Session, settings: Settings, *, n: int, seconds: float) -> int:
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    time.sleep(seconds)
    return n


def not_a_job(db: Session, settings: Settings) -> int:
    return 0


@write_job
def unpicklable_result(db: Session, settings: Settings, *, n: int) -> object:
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    return threading.Lock()  # cannot cross the pipe


@write_job
def insert_with_event(db: Session, settings: Settings, *, n: int) -> int:
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    stored_event(
        db,
        event_id=n,
        seq=n,
        exam_id=1,
        room_id=1,
        kind="mark",
        attempt_id=None,
        payload={"n": n},
        now=datetime(2026, 12, 6, tzinfo=UTC),
    )
    return n


_GROUPS = itertools.count(1)


def _group_of(db: Session, n: int) -> int:
    """Store mark ``n``; the number of the group (its session) it ran in."""
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    if "group" not in db.info:
        db.info["group"] = next(_GROUPS)
    return int(db.info["group"])


@write_job
def light_mark(db: Session, settings: Settings, *, n: int) -> int:
    return _group_of(db, n)


@write_job(heavy=True)
def heavy_mark(db: Session, settings: Settings, *, n: int) -> int:
    return _group_of(db, n)


def _read_marks_ahead(db: Session, run: list[Mapping[str, Any]]) -> dict[int, str]:
    numbers = [arguments["n"] for arguments in run]
    return {n: f"read with {numbers}" for n in numbers}


@write_job(ahead=ReadAhead(read=_read_marks_ahead, key=lambda arguments: arguments["n"]))
def mark_read_ahead(db: Session, settings: Settings, *, n: int) -> str | None:
    """Store mark ``n``; what was read ahead for it, with the run it was read for."""
    db.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": n})
    read: str | None = taken_ahead(db, n)
    return read
