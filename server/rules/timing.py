"""The exam's clock: preparation, check-in, late entry and the attempt deadline (R 4.2–4.4, 4.10).

All instants are timezone-aware (UTC) and come from the server's clock through the caller; a
naive datetime is a programmer error (ValueError). The intervals, with S the scheduled start:

* ``S - 15 min``: the proctor prepares the room (R 4.2 "емтихан басталғанға дейін 15 минут бұрын
  аудиторияны тестілеуге дайындайды" — "prepares the room 15 minutes before the exam starts").
* ``[S - 10 min, S]``: check-in is open (R 4.3 "емтихан басталғанға дейін 10 минут бұрын жеке
  куәлігі бойынша білім алушыларды кіргізеді" — "admits students by ID card 10 minutes before
  the start"). The handbook asks students to *arrive* 15 minutes early ("Студент емтихан
  басталғанға дейін 15 минут бұрын келуі тиіс"); that is when to be at the door, not when the door
  opens, so the two documents do not conflict. Arriving exactly at S is on time.
* ``(S, S + 30 min]``: a latecomer enters only with the proctor's permission.
* after ``S + 30 min``: entry is closed, permission or not.

Decisions:

* **Exactly S + 30:00 is still allowed.** R 4.10: "Кешігіп келген білім алушылар емтиханға тек
  проктордың рұқсатымен және емтиханның белгіленген уақытынан 30 минуттан кешіктірмей кіреді" —
  "latecomers enter only with the proctor's permission and *no later than* 30 minutes after the
  scheduled time". "Кешіктірмей" (not later than) includes the limit; one microsecond after it is
  refused.
* **The deadline is the same for everyone.** R 4.10 continues "Осы кезде емтиханның ұзақтығы
  оларға ұзартылмайды" — "the exam's duration is *not extended* for them", so the deadline is
  S + 60 min (R 4.4 "1 астрономиялық сағат" — "one astronomical hour"), whatever the entry time.
  Only room-wide extra time granted after an incident moves it, and it moves it for the whole room.
* **An answer made exactly at the deadline counts.** The deadline is the last instant of the
  attempt, read the same way as the late-entry limit ("not later than").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.rules._checks import require_aware, require_not_negative

EXAM_DURATION = timedelta(minutes=60)
CHECK_IN_OPENS_BEFORE = timedelta(minutes=10)
ROOM_PREPARATION_BEFORE = timedelta(minutes=15)
LATE_ENTRY_LIMIT = timedelta(minutes=30)


def room_preparation_starts_at(*, scheduled_start: datetime) -> datetime:
    """When the proctor must start preparing the room (R 4.2)."""
    return require_aware("scheduled_start", scheduled_start) - ROOM_PREPARATION_BEFORE


def check_in_opens_at(*, scheduled_start: datetime) -> datetime:
    """When the proctor starts admitting students (R 4.3)."""
    return require_aware("scheduled_start", scheduled_start) - CHECK_IN_OPENS_BEFORE


def late_entry_closes_at(*, scheduled_start: datetime) -> datetime:
    """The last instant at which a latecomer may still enter (R 4.10, inclusive)."""
    return require_aware("scheduled_start", scheduled_start) + LATE_ENTRY_LIMIT


def attempt_deadline(
    *,
    scheduled_start: datetime,
    duration: timedelta = EXAM_DURATION,
    room_extra_time: timedelta = timedelta(0),
) -> datetime:
    """The attempt's end, the same for every student in the room; never moved by a late entry."""
    require_aware("scheduled_start", scheduled_start)
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")
    require_not_negative("room_extra_time", room_extra_time)
    return scheduled_start + duration + room_extra_time


class EntryState(StrEnum):
    """Where the room's door stands at a given instant."""

    TOO_EARLY = "too_early"
    OPEN = "open"
    NEEDS_LATE_PERMISSION = "needs_late_permission"
    CLOSED = "closed"


def entry_state(*, scheduled_start: datetime, now: datetime) -> EntryState:
    """The state of the door at ``now`` for a sitting scheduled at ``scheduled_start``."""
    require_aware("now", now)
    if now < check_in_opens_at(scheduled_start=scheduled_start):
        return EntryState.TOO_EARLY
    if now <= scheduled_start:
        return EntryState.OPEN
    if now <= late_entry_closes_at(scheduled_start=scheduled_start):
        return EntryState.NEEDS_LATE_PERMISSION
    return EntryState.CLOSED


class EntryRefusal(StrEnum):
    """Why a student is not let into the room."""

    TOO_EARLY = "too_early"
    LATE_ENTRY_NEEDS_PERMISSION = "late_entry_needs_permission"
    LATE_ENTRY_CLOSED = "late_entry_closed"


@dataclass(frozen=True)
class EntryDecision:
    """Whether a student may enter now; ``reason`` is set exactly when they may not."""

    allowed: bool
    reason: EntryRefusal | None

    @classmethod
    def granted(cls) -> EntryDecision:
        return cls(allowed=True, reason=None)

    @classmethod
    def refused(cls, reason: EntryRefusal) -> EntryDecision:
        return cls(allowed=False, reason=reason)


def decide_entry(
    *, scheduled_start: datetime, now: datetime, late_entry_permitted: bool
) -> EntryDecision:
    """Let a student in, or say why not; a proctor's permission cannot reopen a closed door."""
    match entry_state(scheduled_start=scheduled_start, now=now):
        case EntryState.TOO_EARLY:
            return EntryDecision.refused(EntryRefusal.TOO_EARLY)
        case EntryState.OPEN:
            return EntryDecision.granted()
        case EntryState.NEEDS_LATE_PERMISSION:
            if late_entry_permitted:
                return EntryDecision.granted()
            return EntryDecision.refused(EntryRefusal.LATE_ENTRY_NEEDS_PERMISSION)
        case EntryState.CLOSED:
            return EntryDecision.refused(EntryRefusal.LATE_ENTRY_CLOSED)


def late_entry_permission_allowed(*, scheduled_start: datetime, now: datetime) -> bool:
    """Whether a proctor may still grant late entry: up to and including start + 30 min.

    Granting before the start is allowed too: a student who warns in advance that they will be
    late (H: "тестілеуге кешігу жағдайында уақытылы ескерту жасау") can be expected at the door.
    """
    require_aware("now", now)
    return now <= late_entry_closes_at(scheduled_start=scheduled_start)


def save_accepted(
    *,
    answered_at: datetime,
    received_at: datetime,
    deadline: datetime,
    transport_grace: timedelta,
) -> bool:
    """Whether an answer counts: made by the deadline and delivered within the transport grace.

    ``answered_at`` is the server-trusted time the answer was made; ``received_at`` is when the
    server got it. The grace only covers the network; it never buys thinking time.
    ``answered_at`` after ``received_at`` means the caller did not clamp the client's clock
    (ValueError).
    """
    require_aware("answered_at", answered_at)
    require_aware("received_at", received_at)
    require_aware("deadline", deadline)
    require_not_negative("transport_grace", transport_grace)
    if answered_at > received_at:
        raise ValueError("answered_at must not be after received_at; clamp the client's clock")
    return answered_at <= deadline and received_at <= deadline + transport_grace
