"""Room preparation (R 4.2): enrolling workstations as seats, their heartbeat and readiness.

Enrolment ties a PC's browser to a seat without typing any link: IT opens the room's enrolment
page on the PC, which asks for a one-time code (6 digits, valid 10 minutes) and shows it; a
proctor confirms the code on the room's seats page and picks the seat. The PC's next poll gets
the signed seat cookie ``emtihan_seat`` (seat id + the seat's enrolment generation) and opens
``/seat``. Every confirmation raises the seat's generation, so the cookie of a PC that was
replaced no longer works. The seat link ``/seat/{token}`` keeps working beside this.

The enrolment page's own cookie (``emtihan_enrol``) names the pending enrolment, so only the
browser that asked for the code receives the seat cookie.

The heartbeat is what a workstation's pages send every 15 s: it keeps ``last_seen_at``, a short
summary of the browser and whether Safe Exam Browser is set up for the room's exam, so the
proctor sees which seats are ready.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from server.audit.service import record
from server.config import Settings
from server.errors import Conflict, InvalidInput, NotFound
from server.i18n import N_
from server.models import Exam, Room, Seat, SeatEnrolment, User
from server.seat.errors import NotEnrolled, SeatReplaced, UnknownSeat
from server.seat.seb import SebHeaders, SebKeys, SebVerdict, room_sitting, verify
from server.seat.sittings import sittings_in_room

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=10)
# After the proctor confirms, the PC has this long to collect its seat cookie (it polls every
# two seconds; the window only covers a PC that was briefly offline).
CLAIM_WINDOW = timedelta(minutes=10)
# A room has at most this many codes waiting at once: the enrolment page is public.
MAX_PENDING_PER_ROOM = 100
HEARTBEAT_EVERY = timedelta(seconds=15)
ONLINE_WITHIN = timedelta(seconds=45)

SEAT_COOKIE = "emtihan_seat"
# Chromium caps a cookie's lifetime at 400 days; every visit to /seat renews it.
SEAT_COOKIE_MAX_AGE = 400 * 24 * 3600
ENROL_COOKIE = "emtihan_enrol"
ENROL_COOKIE_PATH = "/rooms/"
_ENROL_COOKIE_MAX_AGE = int((CODE_VALID_FOR + CLAIM_WINDOW).total_seconds())


class UnknownRoom(NotFound):
    message = N_("There is no room with this code.")


class TooManyPendingEnrolments(Conflict):
    message = N_(
        "Too many workstations of this room are waiting for confirmation. Ask the proctor to "
        "confirm them, or wait ten minutes."
    )


class EnrolmentCodeUnknown(InvalidInput):
    message = N_("No workstation is waiting with this code. Check the code on its screen.")


class EnrolmentCodeExpired(Conflict):
    message = N_(
        "This code has expired. Press “Get a new code” on the workstation and confirm the new one."
    )


class EnrolmentCodeUsed(Conflict):
    message = N_("This code has already been confirmed.")


class EnrolmentCodeOtherRoom(Conflict):
    message = N_(
        "This code was asked for in room %(room)s, not in this room. Confirm it on that "
        "room's page, or open this room's enrolment page on the workstation."
    )


class UnknownSeatLabel(InvalidInput):
    message = N_("This room has no workstation %(seat)s.")


class SeatAlreadyEnrolled(Conflict):
    message = N_(
        "Workstation %(seat)s is already enrolled. To put this PC in its place, confirm again "
        "with “Replace”: the PC enrolled now will no longer work as this seat."
    )


# --- signed cookies -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatClaim:
    """What a seat cookie says: this browser is ``seat_id``, as enrolled at ``generation``."""

    seat_id: int
    generation: int


def _seat_serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt="emtihan.seat-cookie")


def _enrol_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt="emtihan.enrolment")


def seat_cookie_value(settings: Settings, *, seat_id: int, generation: int) -> str:
    return str(_seat_serializer(settings).dumps({"s": seat_id, "g": generation}))


def read_seat_cookie(settings: Settings, value: str | None) -> SeatClaim | None:
    """The claim a seat cookie makes, or None when it is missing, forged or damaged."""
    if not value or len(value) > 300:
        return None
    try:
        data = _seat_serializer(settings).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    seat_id, generation = data.get("s"), data.get("g")
    if type(seat_id) is not int or type(generation) is not int:
        return None
    return SeatClaim(seat_id=seat_id, generation=generation)


def write_seat_cookie(response: Response, settings: Settings, claim: SeatClaim) -> None:
    # Lax like the session cookie: the workstation's start page may be opened from a link.
    response.set_cookie(
        SEAT_COOKIE,
        seat_cookie_value(settings, seat_id=claim.seat_id, generation=claim.generation),
        max_age=SEAT_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


def write_enrol_cookie(response: Response, settings: Settings, enrolment_id: int) -> None:
    response.set_cookie(
        ENROL_COOKIE,
        str(_enrol_serializer(settings).dumps({"e": enrolment_id})),
        max_age=_ENROL_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path=ENROL_COOKIE_PATH,
    )


def read_enrol_cookie(settings: Settings, value: str | None) -> int | None:
    if not value or len(value) > 300:
        return None
    try:
        data = _enrol_serializer(settings).loads(value, max_age=_ENROL_COOKIE_MAX_AGE)
    except BadSignature:
        return None
    enrolment_id = data.get("e") if isinstance(data, dict) else None
    return enrolment_id if type(enrolment_id) is int else None


def clear_enrol_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        ENROL_COOKIE,
        path=ENROL_COOKIE_PATH,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def enrolled_seat(db: Session, settings: Settings, cookie: str | None) -> Seat:
    """The seat a seat cookie names; refused when absent or issued before a later enrolment."""
    claim = read_seat_cookie(settings, cookie)
    if claim is None:
        raise NotEnrolled()
    seat = db.get(Seat, claim.seat_id)
    if seat is None:
        raise UnknownSeat()
    if seat.enrolment_generation != claim.generation:
        raise SeatReplaced()
    return seat


# --- enrolment ------------------------------------------------------------------------------


def room_by_code(db: Session, code: str) -> Room:
    room = db.execute(select(Room).where(Room.code == code)).scalar_one_or_none()
    if room is None:
        raise UnknownRoom()
    return room


def random_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _waiting(now: datetime) -> list[ColumnElement[bool]]:
    return [SeatEnrolment.confirmed_at.is_(None), SeatEnrolment.expires_at > now]


def request_enrolment(
    db: Session,
    *,
    room: Room,
    user_agent: str,
    now: datetime,
    new_code: Callable[[], str] = random_code,
) -> SeatEnrolment:
    """A new one-time code for a workstation of ``room``, unique among all codes still waiting."""
    waiting = db.scalar(
        select(SeatEnrolment.id)
        .where(SeatEnrolment.room_id == room.id, *_waiting(now))
        .offset(MAX_PENDING_PER_ROOM - 1)
        .limit(1)
    )
    if waiting is not None:
        raise TooManyPendingEnrolments()
    taken = set(db.execute(select(SeatEnrolment.code).where(*_waiting(now))).scalars())
    for _ in range(50):
        code = new_code()
        if code not in taken:
            break
    else:  # a million codes and a hundred per room: only a broken generator gets here
        raise TooManyPendingEnrolments()
    enrolment = SeatEnrolment(
        room_id=room.id,
        code=code,
        browser=user_agent[:300],
        requested_at=now,
        expires_at=now + CODE_VALID_FOR,
    )
    db.add(enrolment)
    db.flush()
    return enrolment


def pending_enrolments(db: Session, *, room_id: int, now: datetime) -> list[SeatEnrolment]:
    """Codes of ``room`` still waiting for a proctor, oldest first."""
    return list(
        db.execute(
            select(SeatEnrolment)
            .where(SeatEnrolment.room_id == room_id, *_waiting(now))
            .order_by(SeatEnrolment.requested_at, SeatEnrolment.id)
        ).scalars()
    )


def normalise_code(code: str) -> str:
    """What the proctor typed, without the spaces and dashes people put in long numbers."""
    return re.sub(r"[\s\-]", "", code)


def _enrolment_for_code(db: Session, *, room: Room, code: str, now: datetime) -> SeatEnrolment:
    code = normalise_code(code)
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        raise EnrolmentCodeUnknown()
    candidates = list(
        db.execute(
            select(SeatEnrolment)
            .where(SeatEnrolment.code == code)
            .order_by(SeatEnrolment.requested_at.desc(), SeatEnrolment.id.desc())
            .with_for_update()
        ).scalars()
    )
    waiting = [e for e in candidates if e.confirmed_at is None and e.expires_at > now]
    here = [e for e in waiting if e.room_id == room.id]
    if here:
        return here[0]
    if waiting:
        other = db.get_one(Room, waiting[0].room_id)
        raise EnrolmentCodeOtherRoom(room=other.code)
    mine = [e for e in candidates if e.room_id == room.id]
    if any(e.confirmed_at is None for e in mine):
        raise EnrolmentCodeExpired()
    if mine:
        raise EnrolmentCodeUsed()
    raise EnrolmentCodeUnknown()


def confirm_enrolment(
    db: Session,
    *,
    room: Room,
    code: str,
    seat_label: str,
    replace: bool,
    proctor: User,
    now: datetime,
) -> Seat:
    """Make the workstation waiting with ``code`` the seat ``seat_label`` of ``room``."""
    enrolment = _enrolment_for_code(db, room=room, code=code, now=now)
    seat = db.execute(
        select(Seat).where(Seat.room_id == room.id, Seat.label == seat_label).with_for_update()
    ).scalar_one_or_none()
    if seat is None:
        raise UnknownSeatLabel(seat=seat_label)
    replaced = seat.enrolled_at is not None
    if replaced and not replace:
        raise SeatAlreadyEnrolled(seat=seat.label)
    seat.enrolment_generation += 1
    seat.enrolled_at = now
    enrolment.seat_id = seat.id
    enrolment.confirmed_at = now
    enrolment.confirmed_by_id = proctor.id
    db.flush()
    record(
        db,
        actor=proctor,
        action="seat.enrolled",
        subject=f"seat:{seat.id}",
        details={
            "room": room.code,
            "seat": seat.label,
            "generation": seat.enrolment_generation,
            "enrolment_id": enrolment.id,
            "replaced": replaced,
            "browser": enrolment.browser,
        },
        at=now,
    )
    return seat


class EnrolmentState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    # No enrolment for this browser, or another enrolment of the seat came after it.
    NONE = "none"


@dataclass(frozen=True)
class EnrolmentStatus:
    state: EnrolmentState
    enrolment: SeatEnrolment | None = None
    claim: SeatClaim | None = None


def enrolment_status(
    db: Session, *, enrolment_id: int | None, room: Room, now: datetime
) -> EnrolmentStatus:
    """Where this browser's enrolment is; with the seat cookie's claim once confirmed."""
    enrolment = db.get(SeatEnrolment, enrolment_id) if enrolment_id is not None else None
    if enrolment is None or enrolment.room_id != room.id:
        return EnrolmentStatus(EnrolmentState.NONE)
    if enrolment.confirmed_at is None or enrolment.seat_id is None:
        if enrolment.expires_at <= now:
            return EnrolmentStatus(EnrolmentState.EXPIRED, enrolment)
        return EnrolmentStatus(EnrolmentState.PENDING, enrolment)
    if enrolment.confirmed_at + CLAIM_WINDOW < now:
        return EnrolmentStatus(EnrolmentState.NONE)
    latest = db.scalar(
        select(SeatEnrolment.id)
        .where(SeatEnrolment.seat_id == enrolment.seat_id, SeatEnrolment.confirmed_at.is_not(None))
        .order_by(SeatEnrolment.confirmed_at.desc(), SeatEnrolment.id.desc())
        .limit(1)
    )
    if latest != enrolment.id:  # the seat was enrolled again since: this PC is not it
        return EnrolmentStatus(EnrolmentState.NONE)
    seat = db.get_one(Seat, enrolment.seat_id)
    return EnrolmentStatus(
        EnrolmentState.CONFIRMED,
        enrolment,
        SeatClaim(seat_id=seat.id, generation=seat.enrolment_generation),
    )


# --- heartbeat and readiness ----------------------------------------------------------------

_SEB = re.compile(r"\bSEB/(\d+(?:\.\d+)?)")
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chromium", re.compile(r"\bChromium/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Headless)?Chrome/(\d+)|\bCriOS/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)
_SYSTEMS = (
    ("Windows", re.compile(r"Windows")),
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def browser_summary(user_agent: str) -> str:
    """A short name for a User-Agent: "Chrome 121 / Windows", "SEB 3.7 · Chrome 121 / Windows".

    Only what the proctor needs to tell the lab's browsers apart; unknown agents are shown cut
    short as they are.
    """
    agent = user_agent.strip()
    if not agent:
        return ""
    name = ""
    for label, pattern in _BROWSERS:
        found = pattern.search(agent)
        if found:
            version = next(group for group in found.groups() if group)
            name = f"{label} {version}"
            break
    system = next((label for label, pattern in _SYSTEMS if pattern.search(agent)), "")
    if not name:
        return agent[:60]
    summary = f"{name} / {system}" if system else name
    seb = _SEB.search(agent)
    return f"SEB {seb.group(1)} · {summary}" if seb else summary


def heartbeat(
    db: Session,
    settings: Settings,
    *,
    seat_id: int,
    generation: int | None,
    user_agent: str,
    seb: SebHeaders,
    now: datetime,
) -> SebVerdict:
    """Note that the workstation is alive, with its browser and SEB state; one UPDATE.

    ``generation`` is the seat cookie's (None for a seat link): a replaced PC is refused.
    """
    row = db.execute(
        select(Seat.room_id, Seat.enrolment_generation).where(Seat.id == seat_id)
    ).first()
    if row is None:
        raise UnknownSeat()
    if generation is not None and generation != row.enrolment_generation:
        raise SeatReplaced()
    sitting = room_sitting(
        sittings_in_room(db, settings, room_id=row.room_id, now=now), settings, now
    )
    verdict = verify(SebKeys.of_exam(sitting.exam if sitting else None), seb)
    db.execute(
        update(Seat)
        .where(Seat.id == seat_id)
        .values(last_seen_at=now, browser=browser_summary(user_agent)[:300], seb_valid=verdict.flag)
        .execution_options(synchronize_session=False)
    )
    return verdict


class SebStatus(enum.StrEnum):
    NOT_REQUIRED = "not_required"
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"  # the exam asks for SEB; the workstation has not said yet


SEB_STATUS_NAMES: dict[str, str] = {
    SebStatus.NOT_REQUIRED.value: N_("not required"),
    SebStatus.VALID.value: N_("Safe Exam Browser set up"),
    SebStatus.INVALID.value: N_("not Safe Exam Browser, or the wrong settings"),
    SebStatus.UNKNOWN.value: N_("not checked yet"),
}


@dataclass(frozen=True)
class SeatReadiness:
    """One workstation as room preparation sees it."""

    seat_id: int
    label: str
    enrolled_at: datetime | None
    online: bool
    last_seen_at: datetime | None
    seconds_since_seen: int | None
    browser: str
    seb: SebStatus


def _seb_status(keys: SebKeys, seb_valid: bool | None) -> SebStatus:
    if not keys.required:
        return SebStatus.NOT_REQUIRED
    if seb_valid is None:
        return SebStatus.UNKNOWN
    return SebStatus.VALID if seb_valid else SebStatus.INVALID


def readiness_exam(db: Session, settings: Settings, *, room_id: int, now: datetime) -> Exam | None:
    """The exam readiness is judged against: the one the room holds now, else the next."""
    sitting = room_sitting(sittings_in_room(db, settings, room_id=room_id, now=now), settings, now)
    return sitting.exam if sitting else None


def room_readiness(
    db: Session,
    settings: Settings,
    *,
    room_id: int,
    exam: Exam | None = None,
    now: datetime,
) -> list[SeatReadiness]:
    """Every seat of the room: online (a heartbeat within 45 s), browser, SEB for ``exam``.

    Without ``exam``, the room's current or next exam decides whether SEB is required.
    """
    if exam is None:
        exam = readiness_exam(db, settings, room_id=room_id, now=now)
    keys = SebKeys.of_exam(exam)
    seats = db.execute(select(Seat).where(Seat.room_id == room_id).order_by(Seat.label)).scalars()
    return [
        SeatReadiness(
            seat_id=seat.id,
            label=seat.label,
            enrolled_at=seat.enrolled_at,
            online=seat.last_seen_at is not None and now - seat.last_seen_at <= ONLINE_WITHIN,
            last_seen_at=seat.last_seen_at,
            seconds_since_seen=(
                max(0, int((now - seat.last_seen_at).total_seconds()))
                if seat.last_seen_at is not None
                else None
            ),
            browser=seat.browser or "",
            seb=_seb_status(keys, seat.seb_valid),
        )
        for seat in seats
    ]
