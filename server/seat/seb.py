"""Safe Exam Browser (SEB): is this request coming from SEB with the exam's configuration?

SEB, with "Use Browser & Config Keys (send in HTTP header)" on, adds two headers to every request:
``X-SafeExamBrowser-ConfigKeyHash`` = SHA-256 of (absolute URL + Config Key) and
``X-SafeExamBrowser-RequestHash`` = SHA-256 of (absolute URL + Browser Exam Key), both as hex,
URL first, without the fragment (SEB developer docs: "Config Key", "Browser Exam Key"). The keys
are never sent; the server holds them per exam (``Exam.seb_config_keys``,
``Exam.seb_browser_exam_keys``) and recomputes the hash for the URL it was asked for.

Decisions:
- An exam with no key at all does not require SEB. A header is checked only when the exam has
  keys of its kind: config keys → ConfigKeyHash, browser exam keys → RequestHash (both when both
  are configured). Any one key of a list may match (several SEB versions or configurations).
- The absolute URL is ``EMTIHAN_PUBLIC_BASE_URL`` (the address as the browser sees it, path
  prefix included) + the path as received + ``?query`` when there is one; without the setting,
  the request's own scheme and host. Behind a TLS proxy the setting is required.
- SEB sends lowercase hex; the header is compared case-insensitively (uppercase hex is the same
  digest) and stored keys are read lowercase (SEB keys are Base16), with ``hmac.compare_digest``.

The functions above ``# --- routes`` are pure; those below apply the check for the seat and exam
pages, in the same reader, argon2 or writer job as the page's own work, and refuse with
``SebRequired`` (403; JSON ``code: "seb_required"``) before anything is written, so a refused
request changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.session import columns
from server.models import Exam, ExamRoom, Seat
from server.seat.errors import SebRequired
from server.seat.sittings import NEAR, Sitting, SittingClock, near_now

CONFIG_KEY_HEADER = "X-SafeExamBrowser-ConfigKeyHash"
REQUEST_HASH_HEADER = "X-SafeExamBrowser-RequestHash"


class SebVerdict(enum.StrEnum):
    NOT_REQUIRED = "not_required"
    VALID = "valid"
    INVALID = "invalid"

    @property
    def allowed(self) -> bool:
        return self is not SebVerdict.INVALID

    @property
    def flag(self) -> bool | None:
        """What a seat's heartbeat stores: None when the exam does not ask for SEB."""
        return None if self is SebVerdict.NOT_REQUIRED else self is SebVerdict.VALID


def _clean(keys: Iterable[object]) -> tuple[str, ...]:
    return tuple(k.strip().lower() for k in keys if isinstance(k, str) and k.strip())


@dataclass(frozen=True)
class SebKeys:
    """The keys an exam accepts; empty tuples when it does not ask for SEB."""

    config_keys: tuple[str, ...] = ()
    browser_exam_keys: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, config_keys: Iterable[object] | None, browser_exam_keys: Iterable[object] | None
    ) -> SebKeys:
        return cls(_clean(config_keys or ()), _clean(browser_exam_keys or ()))

    @classmethod
    def of_exam(cls, exam: Exam | None) -> SebKeys:
        if exam is None:
            return cls()
        return cls.of(exam.seb_config_keys, exam.seb_browser_exam_keys)

    @property
    def required(self) -> bool:
        return bool(self.config_keys or self.browser_exam_keys)


@dataclass(frozen=True)
class SebHeaders:
    """What one request says about itself: its absolute URL and the two SEB headers."""

    url: str
    config_key_hash: str | None = None
    request_hash: str | None = None


def absolute_url(*, base_url: str, path: str, query: str = "") -> str:
    """The URL SEB hashed: base (no trailing slash) + path + ``?query`` when there is one."""
    return base_url.rstrip("/") + path + (f"?{query}" if query else "")


def key_hash(url: str, key: str) -> str:
    """Lowercase hex SHA-256 of the URL followed by the key, as SEB computes it."""
    return hashlib.sha256((url + key).encode()).hexdigest()


def _matches(sent: str | None, url: str, keys: Sequence[str]) -> bool:
    if not sent:
        return False
    sent_hex = sent.strip().lower().encode()
    matched = False
    for key in keys:  # no early exit: every key costs the same
        matched |= hmac.compare_digest(sent_hex, key_hash(url, key).encode())
    return matched


def verify(keys: SebKeys, headers: SebHeaders) -> SebVerdict:
    """Whether the request satisfies the exam's SEB keys."""
    if not keys.required:
        return SebVerdict.NOT_REQUIRED
    if keys.config_keys and not _matches(headers.config_key_hash, headers.url, keys.config_keys):
        return SebVerdict.INVALID
    if keys.browser_exam_keys and not _matches(
        headers.request_hash, headers.url, keys.browser_exam_keys
    ):
        return SebVerdict.INVALID
    return SebVerdict.VALID


def headers_of(request: Request, settings: Settings) -> SebHeaders:
    """The request's absolute URL (public base URL + path as received + query) and headers.

    Without either header the URL is never hashed (``_matches``), and it is left empty: parsing
    the request's URL cost 4% of the event loop's time under a storm of saves.
    """
    config_key_hash = request.headers.get(CONFIG_KEY_HEADER)
    request_hash = request.headers.get(REQUEST_HASH_HEADER)
    if config_key_hash is None and request_hash is None:
        return SebHeaders(url="")
    base = settings.public_base_url or f"{request.url.scheme}://{request.url.netloc}"
    raw_path = request.scope.get("raw_path")
    # The path as the browser sent it (percent-escapes kept), which is what SEB hashed.
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return SebHeaders(
        url=absolute_url(base_url=base, path=path, query=query),
        config_key_hash=config_key_hash,
        request_hash=request_hash,
    )


def room_sitting(sittings: Sequence[Sitting], settings: Settings, now: datetime) -> Sitting | None:
    """The sitting a room is preparing or holding, else the next one to come.

    Readiness is checked before the room's preparation begins, so a workstation is judged
    against the next exam when none is running.
    """
    for sitting in sittings:
        if sitting.holds(settings, now):
            return sitting
    for sitting in sittings:
        if sitting.start > now:
            return sitting
    return None


# --- routes ---------------------------------------------------------------------------------


def enforce(request: Request, keys: SebKeys) -> None:
    """Refuse the request unless it satisfies ``keys``."""
    enforce_headers(keys, headers_of(request, request.app.state.settings))


def enforce_headers(keys: SebKeys, headers: SebHeaders) -> None:
    """``enforce`` with the request's headers read beforehand (a write job has no request)."""
    if not verify(keys, headers).allowed:
        raise SebRequired()


_SEAT_KEYS = (
    select(
        Exam.scheduled_start,
        Exam.duration_minutes,
        ExamRoom.extra_minutes,
        Exam.seb_config_keys,
        Exam.seb_browser_exam_keys,
    )
    .join(ExamRoom, ExamRoom.exam_id == Exam.id)
    .join(Seat, Seat.room_id == ExamRoom.room_id)
    .where(Seat.id == bindparam("seat_id"), NEAR)
    .order_by(Exam.scheduled_start)
)


def keys_for_seat(db: Session, settings: Settings, seat_id: int, now: datetime) -> SebKeys:
    """The keys of the exam the seat's room holds now (from its preparation to the deadline),
    as columns in one statement: every sign-in reads them before argon2 runs, and the room's
    sitting loaded as objects, after the seat's room in a statement of its own, cost three
    times as much. None for an unknown seat.
    """
    rows = columns(db, _SEAT_KEYS, {"seat_id": seat_id, **near_now(now)})
    for start, duration_minutes, extra_minutes, config_keys, browser_exam_keys in rows:
        if SittingClock(start, duration_minutes, extra_minutes).holds(settings, now):
            return SebKeys.of(config_keys, browser_exam_keys)
    return SebKeys()


def keys_for_sitting(sitting: Sitting | None) -> SebKeys:
    """The keys of the sitting's exam; none when the room holds no exam now."""
    return SebKeys.of_exam(sitting.exam if sitting else None)


def enforce_for_sitting(request: Request, sitting: Sitting | None) -> None:
    """Refuse the request unless it satisfies the keys of the room's current sitting."""
    enforce(request, keys_for_sitting(sitting))
