"""Room preparation: enrolling workstations, the seat cookie, the heartbeat and readiness."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import AuditEntry, Role, Room, Seat, SeatEnrolment, User
from server.seat import enrolment as service
from server.seat.enrolment import (
    EnrolmentCodeExpired,
    EnrolmentCodeOtherRoom,
    EnrolmentCodeUnknown,
    EnrolmentCodeUsed,
    EnrolmentState,
    SeatAlreadyEnrolled,
    SeatClaim,
    SebStatus,
    TooManyPendingEnrolments,
    UnknownSeatLabel,
)
from server.seat.errors import NotEnrolled, SeatReplaced, UnknownSeat
from server.seat.links import seat_token
from server.seat.seb import SebHeaders, SebVerdict, key_hash
from tests import factories
from tests.seat.factories import World, create_world

NOW = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
CHROMIUM_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
NO_SEB = SebHeaders(url="https://testserver/seat/heartbeat")


@pytest.fixture
def room(db: Session) -> Room:
    return factories.create_room(db, seats=3)


@pytest.fixture
def proctor(db: Session) -> User:
    return factories.create_user(db, role=Role.PROCTOR)


def _seat(room: Room, label: str = "PC-01") -> Seat:
    return next(seat for seat in room.seats if seat.label == label)


def _enrol(
    db: Session, room: Room, proctor: User, *, label: str = "PC-01", now: datetime = NOW
) -> SeatEnrolment:
    enrolment = service.request_enrolment(db, room=room, user_agent=CHROMIUM_UA, now=now)
    service.confirm_enrolment(
        db,
        room=room,
        code=enrolment.code,
        seat_label=label,
        replace=True,
        proctor=proctor,
        now=now + timedelta(minutes=1),
    )
    return enrolment


# --- asking for a code ------------------------------------------------------------------------


def test_a_code_is_six_digits_valid_ten_minutes_with_the_browser(db: Session, room: Room) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent=CHROMIUM_UA, now=NOW)
    assert len(enrolment.code) == 6
    assert enrolment.code.isdigit()
    assert enrolment.room_id == room.id
    assert enrolment.requested_at == NOW
    assert enrolment.expires_at == NOW + timedelta(minutes=10)
    assert enrolment.browser == CHROMIUM_UA
    assert enrolment.confirmed_at is None
    assert enrolment.seat_id is None


def test_a_code_still_waiting_anywhere_is_never_given_twice(db: Session, room: Room) -> None:
    other_room = factories.create_room(db)
    first = service.request_enrolment(
        db, room=other_room, user_agent="", now=NOW, new_code=lambda: "123456"
    )
    codes = iter(["123456", "123456", "654321"])
    second = service.request_enrolment(
        db, room=room, user_agent="", now=NOW, new_code=lambda: next(codes)
    )
    assert (first.code, second.code) == ("123456", "654321")
    # Once the first has expired its code may come round again.
    third = service.request_enrolment(
        db, room=room, user_agent="", now=NOW + timedelta(minutes=11), new_code=lambda: "123456"
    )
    assert third.code == "123456"


def test_a_room_holds_a_bounded_number_of_waiting_codes(
    db: Session, room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_PENDING_PER_ROOM", 2)
    service.request_enrolment(db, room=room, user_agent="", now=NOW)
    service.request_enrolment(db, room=room, user_agent="", now=NOW)
    with pytest.raises(TooManyPendingEnrolments):
        service.request_enrolment(db, room=room, user_agent="", now=NOW)
    # Expired codes no longer count.
    service.request_enrolment(db, room=room, user_agent="", now=NOW + timedelta(minutes=10))


def test_the_user_agent_is_cut_to_the_column(db: Session, room: Room) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent="x" * 1000, now=NOW)
    assert len(enrolment.browser) == 300


# --- confirming -------------------------------------------------------------------------------


def test_confirming_makes_the_pc_the_seat_and_is_audited(
    db: Session, room: Room, proctor: User
) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent=CHROMIUM_UA, now=NOW)
    later = NOW + timedelta(minutes=3)
    seat = service.confirm_enrolment(
        db,
        room=room,
        code=f" {enrolment.code[:3]} {enrolment.code[3:]} ",  # as people type long numbers
        seat_label="PC-02",
        replace=False,
        proctor=proctor,
        now=later,
    )
    assert seat.label == "PC-02"
    assert (seat.enrolment_generation, seat.enrolled_at) == (1, later)
    assert (enrolment.seat_id, enrolment.confirmed_at) == (seat.id, later)
    assert enrolment.confirmed_by_id == proctor.id
    entry = db.execute(
        select(AuditEntry).where(AuditEntry.subject == f"seat:{seat.id}")
    ).scalar_one()
    assert entry.action == "seat.enrolled"
    assert entry.actor_id == proctor.id
    assert entry.details["seat"] == "PC-02"
    assert entry.details["generation"] == 1
    assert entry.details["replaced"] is False
    assert service.pending_enrolments(db, room_id=room.id, now=later) == []


def _refused(
    db: Session,
    room: Room,
    proctor: User,
    error: type[Exception],
    *,
    code: str,
    label: str = "PC-01",
    replace: bool = False,
    now: datetime = NOW + timedelta(minutes=1),
) -> Exception:
    generations = {seat.id: seat.enrolment_generation for seat in room.seats}
    with pytest.raises(error) as refused:
        service.confirm_enrolment(
            db, room=room, code=code, seat_label=label, replace=replace, proctor=proctor, now=now
        )
    # Nothing changed: no seat moved on, no enrolment confirmed, nothing audited.
    assert {seat.id: seat.enrolment_generation for seat in room.seats} == generations
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "seat.enrolled")) is None
    return refused.value


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "000000"])
def test_a_wrong_or_malformed_code_is_refused(
    db: Session, room: Room, proctor: User, code: str
) -> None:
    service.request_enrolment(db, room=room, user_agent="", now=NOW, new_code=lambda: "111111")
    _refused(db, room, proctor, EnrolmentCodeUnknown, code=code)


def test_an_expired_code_is_refused(db: Session, room: Room, proctor: User) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent="", now=NOW)
    _refused(db, room, proctor, EnrolmentCodeExpired, code=enrolment.code, now=enrolment.expires_at)
    assert enrolment.confirmed_at is None


def test_a_code_of_another_room_is_refused_naming_that_room(
    db: Session, room: Room, proctor: User
) -> None:
    other = factories.create_room(db, code="LAB-999")
    enrolment = service.request_enrolment(db, room=other, user_agent="", now=NOW)
    refusal = _refused(db, room, proctor, EnrolmentCodeOtherRoom, code=enrolment.code)
    assert isinstance(refusal, EnrolmentCodeOtherRoom)
    assert "LAB-999" in refusal.translated()
    assert enrolment.confirmed_at is None


def test_a_code_is_confirmed_once(db: Session, room: Room, proctor: User) -> None:
    enrolment = _enrol(db, room, proctor)
    with pytest.raises(EnrolmentCodeUsed):
        service.confirm_enrolment(
            db,
            room=room,
            code=enrolment.code,
            seat_label="PC-02",
            replace=True,
            proctor=proctor,
            now=NOW + timedelta(minutes=2),
        )
    assert _seat(room, "PC-02").enrolment_generation == 0


def test_an_unknown_seat_label_is_refused(db: Session, room: Room, proctor: User) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent="", now=NOW)
    refusal = _refused(db, room, proctor, UnknownSeatLabel, code=enrolment.code, label="PC-99")
    assert "PC-99" in refusal.translated()
    assert enrolment.confirmed_at is None


def test_replacing_an_enrolled_seat_needs_an_explicit_replace(
    db: Session, room: Room, proctor: User
) -> None:
    _enrol(db, room, proctor, label="PC-01")
    newcomer = service.request_enrolment(db, room=room, user_agent="", now=NOW)
    with pytest.raises(SeatAlreadyEnrolled) as refused:
        service.confirm_enrolment(
            db,
            room=room,
            code=newcomer.code,
            seat_label="PC-01",
            replace=False,
            proctor=proctor,
            now=NOW + timedelta(minutes=2),
        )
    assert "PC-01" in refused.value.translated()
    assert _seat(room).enrolment_generation == 1
    assert newcomer.confirmed_at is None

    service.confirm_enrolment(
        db,
        room=room,
        code=newcomer.code,
        seat_label="PC-01",
        replace=True,
        proctor=proctor,
        now=NOW + timedelta(minutes=3),
    )
    assert _seat(room).enrolment_generation == 2
    last = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert last.details["replaced"] is True


# --- the waiting PC collects its seat ---------------------------------------------------------


def test_the_enrolment_status_the_pc_polls(db: Session, room: Room, proctor: User) -> None:
    enrolment = service.request_enrolment(db, room=room, user_agent="", now=NOW)
    status = service.enrolment_status(db, enrolment_id=enrolment.id, room=room, now=NOW)
    assert (status.state, status.claim) == (EnrolmentState.PENDING, None)
    expired = service.enrolment_status(
        db, enrolment_id=enrolment.id, room=room, now=enrolment.expires_at
    )
    assert expired.state == EnrolmentState.EXPIRED
    nothing = service.enrolment_status(db, enrolment_id=None, room=room, now=NOW)
    assert nothing.state == EnrolmentState.NONE
    elsewhere = service.enrolment_status(
        db, enrolment_id=enrolment.id, room=factories.create_room(db), now=NOW
    )
    assert elsewhere.state == EnrolmentState.NONE

    confirmed_at = NOW + timedelta(minutes=1)
    seat = service.confirm_enrolment(
        db,
        room=room,
        code=enrolment.code,
        seat_label="PC-03",
        replace=False,
        proctor=proctor,
        now=confirmed_at,
    )
    done = service.enrolment_status(db, enrolment_id=enrolment.id, room=room, now=confirmed_at)
    assert done.state == EnrolmentState.CONFIRMED
    assert done.claim == SeatClaim(seat_id=seat.id, generation=1)
    # The claim window closes ten minutes after the confirmation.
    late = service.enrolment_status(
        db,
        enrolment_id=enrolment.id,
        room=room,
        now=confirmed_at + timedelta(minutes=10, seconds=1),
    )
    assert late.state == EnrolmentState.NONE


def test_a_pc_replaced_before_it_collected_its_seat_gets_nothing(
    db: Session, room: Room, proctor: User
) -> None:
    first = _enrol(db, room, proctor, label="PC-01")
    _enrol(db, room, proctor, label="PC-01", now=NOW + timedelta(seconds=30))
    status = service.enrolment_status(
        db, enrolment_id=first.id, room=room, now=NOW + timedelta(minutes=2)
    )
    assert status.state == EnrolmentState.NONE
    assert status.claim is None


# --- the seat cookie --------------------------------------------------------------------------


def test_the_seat_cookie_is_signed(settings: Settings) -> None:
    value = service.seat_cookie_value(settings, seat_id=7, generation=3)
    assert service.read_seat_cookie(settings, value) == SeatClaim(seat_id=7, generation=3)
    other = Settings(secret_key="another-key", instance_dir=settings.instance_dir)
    assert service.read_seat_cookie(other, value) is None
    assert service.read_seat_cookie(settings, value[:-2] + "xx") is None
    assert service.read_seat_cookie(settings, None) is None
    assert service.read_seat_cookie(settings, "x" * 400) is None
    # A seat link's token is not a seat cookie (another salt).
    assert service.read_seat_cookie(settings, seat_token(settings, 7)) is None


def test_an_old_cookie_of_a_replaced_pc_is_refused(
    db: Session, settings: Settings, room: Room, proctor: User
) -> None:
    _enrol(db, room, proctor)
    seat = _seat(room)
    old = service.seat_cookie_value(settings, seat_id=seat.id, generation=1)
    assert service.enrolled_seat(db, settings, old) is seat
    _enrol(db, room, proctor, now=NOW + timedelta(minutes=5))
    with pytest.raises(SeatReplaced):
        service.enrolled_seat(db, settings, old)
    new = service.seat_cookie_value(settings, seat_id=seat.id, generation=2)
    assert service.enrolled_seat(db, settings, new) is seat
    with pytest.raises(NotEnrolled):
        service.enrolled_seat(db, settings, None)
    with pytest.raises(UnknownSeat):
        service.enrolled_seat(
            db, settings, service.seat_cookie_value(settings, seat_id=10**9, generation=1)
        )


# --- browsers, heartbeat, readiness -----------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (CHROMIUM_UA, "Chrome 156 / Linux"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chromium/156.0.7000.1 Chrome/156.0.7000.1 Safari/537.36",
            "Chromium 156 / Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/121.0.6167.184 Safari/537.36 SEB/3.7.0",
            "SEB 3.7 · Chrome 121 / Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
            "Edge 124 / Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox 128 / Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari 17 / macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/140.0.0.0 Safari/537.36",
            "Chrome 140 / Linux",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", ""),
    ],
)
def test_browser_summary(agent: str, summary: str) -> None:
    assert service.browser_summary(agent) == summary


def test_a_heartbeat_notes_the_seat_alive_with_its_browser(
    db: Session, settings: Settings, room: Room
) -> None:
    seat = _seat(room)
    verdict = service.heartbeat(
        db,
        settings,
        seat_id=seat.id,
        generation=None,
        user_agent=CHROMIUM_UA,
        seb=NO_SEB,
        now=NOW,
    )
    assert verdict == SebVerdict.NOT_REQUIRED
    db.refresh(seat)
    assert (seat.last_seen_at, seat.browser, seat.seb_valid) == (NOW, "Chrome 156 / Linux", None)


def test_a_heartbeat_of_a_replaced_pc_or_an_unknown_seat_changes_nothing(
    db: Session, settings: Settings, room: Room, proctor: User
) -> None:
    _enrol(db, room, proctor)
    _enrol(db, room, proctor, now=NOW + timedelta(minutes=5))
    seat = _seat(room)
    with pytest.raises(SeatReplaced):
        service.heartbeat(
            db, settings, seat_id=seat.id, generation=1, user_agent="", seb=NO_SEB, now=NOW
        )
    with pytest.raises(UnknownSeat):
        service.heartbeat(
            db, settings, seat_id=10**9, generation=None, user_agent="", seb=NO_SEB, now=NOW
        )
    db.refresh(seat)
    assert seat.last_seen_at is None


@pytest.fixture
def seb_world(db: Session) -> World:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    world.exam.seb_config_keys = ["ck-one"]
    db.flush()
    return world


def test_a_heartbeat_records_whether_seb_is_set_up_for_the_rooms_exam(
    db: Session, settings: Settings, seb_world: World
) -> None:
    seat = seb_world.seats[0]
    url = "https://testserver/seat/heartbeat"
    now = utcnow()
    good = SebHeaders(url=url, config_key_hash=key_hash(url, "ck-one"))
    assert (
        service.heartbeat(
            db, settings, seat_id=seat.id, generation=None, user_agent="", seb=good, now=now
        )
        == SebVerdict.VALID
    )
    db.refresh(seat)
    assert seat.seb_valid is True
    service.heartbeat(
        db,
        settings,
        seat_id=seat.id,
        generation=None,
        user_agent="",
        seb=SebHeaders(url=url),
        now=now,
    )
    db.refresh(seat)
    assert seat.seb_valid is False


@pytest.mark.parametrize(
    ("seen_ago", "online"),
    [(None, False), (0, True), (15, True), (45, True), (46, False), (3600, False)],
)
def test_a_seat_is_online_with_a_heartbeat_within_45_seconds(
    db: Session, settings: Settings, room: Room, seen_ago: int | None, online: bool
) -> None:
    seat = _seat(room)
    seat.last_seen_at = None if seen_ago is None else NOW - timedelta(seconds=seen_ago)
    db.flush()
    rows = {r.label: r for r in service.room_readiness(db, settings, room_id=room.id, now=NOW)}
    assert list(rows) == ["PC-01", "PC-02", "PC-03"]
    assert rows["PC-01"].online is online
    assert rows["PC-01"].seconds_since_seen == seen_ago
    assert rows["PC-01"].seb == SebStatus.NOT_REQUIRED


@pytest.mark.parametrize(
    ("keys", "seb_valid", "status"),
    [
        ([], None, SebStatus.NOT_REQUIRED),
        ([], False, SebStatus.NOT_REQUIRED),
        (["ck"], None, SebStatus.UNKNOWN),
        (["ck"], True, SebStatus.VALID),
        (["ck"], False, SebStatus.INVALID),
    ],
)
def test_readiness_says_whether_seb_is_required_and_set_up(
    db: Session,
    settings: Settings,
    keys: list[str],
    seb_valid: bool | None,
    status: SebStatus,
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=30))  # before preparation
    world.exam.seb_config_keys = keys
    world.seats[0].seb_valid = seb_valid
    db.flush()
    rows = service.room_readiness(db, settings, room_id=world.room.id, now=utcnow())
    assert rows[0].seb == status
    explicit = service.room_readiness(
        db, settings, room_id=world.room.id, exam=world.exam, now=utcnow()
    )
    assert explicit[0].seb == status


# --- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def pc(app: FastAPI) -> Iterator[TestClient]:
    """The workstation's browser (its own cookies), beside ``client``, the proctor's."""
    with TestClient(app, base_url="https://testserver") as browser:
        yield browser


@pytest.fixture
def proctor_client(client: TestClient, db: Session) -> TestClient:
    factories.sign_in(client, factories.create_user(db, role=Role.PROCTOR))
    return client


def _ask_for_code(pc: TestClient, room: Room) -> str:
    page = pc.get(f"/rooms/{room.code}/enrol")
    assert page.status_code == 200
    assert 'id="enrol-code"' not in page.text
    asked = pc.post(
        f"/rooms/{room.code}/enrol",
        data={"csrf_token": factories.csrf(pc)},
        headers={"User-Agent": CHROMIUM_UA},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/rooms/{room.code}/enrol"
    shown = pc.get(f"/rooms/{room.code}/enrol")
    assert 'id="enrol-code"' in shown.text
    assert "/static/js/enrol.js" in shown.text
    code = shown.text.split('id="enrol-code">', 1)[1].split("<", 1)[0]
    return code.replace(" ", "")


def _confirm(
    client: TestClient, room: Room, code: str, label: str, *, replace: bool = False
) -> httpx.Response:
    data = {"csrf_token": factories.csrf(client), "code": code, "seat_label": label}
    if replace:
        data["replace"] = "true"
    return client.post(f"/proctor/rooms/{room.id}/seats/confirm", data=data, follow_redirects=False)


def test_a_pc_is_enrolled_over_http_and_opens_its_seat(
    pc: TestClient, proctor_client: TestClient, db: Session, settings: Settings
) -> None:
    room = create_world(db).room  # an exam in the room soon: the sign-in form is shown
    code = _ask_for_code(pc, room)
    assert pc.get(f"/rooms/{room.code}/enrol/status").json() == {"state": "pending"}
    seats_page = proctor_client.get(f"/proctor/rooms/{room.id}/seats")
    assert seats_page.status_code == 200
    assert code in seats_page.text
    assert "Chrome 156 / Linux" in seats_page.text
    assert f"https://testserver/rooms/{room.code}/enrol" in seats_page.text

    confirmed = _confirm(proctor_client, room, code, "PC-02")
    assert confirmed.status_code == 303
    location = confirmed.headers["location"]
    assert location == f"/proctor/rooms/{room.id}/seats?enrolled=PC-02"
    assert "Workstation PC-02 is enrolled." in proctor_client.get(location).text

    status = pc.get(f"/rooms/{room.code}/enrol/status")
    assert status.json() == {"state": "confirmed", "redirect": "/seat"}
    set_cookie = "\n".join(status.headers.get_list("set-cookie"))
    assert "emtihan_seat=" in set_cookie
    seat_cookie = next(
        c for c in status.headers.get_list("set-cookie") if c.startswith("emtihan_seat=")
    )
    for attribute in ("HttpOnly", "SameSite=lax", "Secure", "Path=/", "Max-Age=34560000"):
        assert attribute.lower() in seat_cookie.lower()
    assert "emtihan_enrol=" in set_cookie  # cleared

    page = pc.get("/seat")
    assert page.status_code == 200
    assert "workstation PC-02" in page.text
    assert f'action="/seat/{seat_token(settings, _seat(room, "PC-02").id)}"' in page.text
    assert "/static/js/heartbeat.js" in page.text
    assert 'data-token=""' in page.text  # the cookie names the seat, not a token
    assert "emtihan_seat=" in page.headers["set-cookie"]  # renewed

    beat = pc.post(
        "/seat/heartbeat",
        json={},
        headers={"X-CSRF-Token": factories.csrf(pc), "User-Agent": CHROMIUM_UA},
    )
    assert beat.status_code == 204
    seat = _seat(room, "PC-02")
    db.refresh(seat)
    assert seat.last_seen_at is not None
    assert seat.browser == "Chrome 156 / Linux"
    readiness = proctor_client.get(
        f"/proctor/rooms/{room.id}/seats", headers={"HX-Request": "true"}
    )
    assert "<html" not in readiness.text  # only the block
    assert f'id="readiness-{room.id}"' in readiness.text
    assert "1 of 3 workstations online" in readiness.text


def test_the_pending_codes_block(pc: TestClient, proctor_client: TestClient, room: Room) -> None:
    code = _ask_for_code(pc, room)
    block = proctor_client.get(
        f"/proctor/rooms/{room.id}/seats/pending", headers={"HX-Request": "true"}
    )
    assert block.status_code == 200
    assert "<html" not in block.text
    assert 'id="pending"' in block.text
    assert code in block.text


def test_the_enrolment_page_of_an_unknown_room_is_404(pc: TestClient) -> None:
    assert pc.get("/rooms/NO-SUCH-ROOM/enrol").status_code == 404
    assert pc.get("/rooms/NO-SUCH-ROOM/enrol/status").status_code == 404


def test_an_expired_code_over_http(
    pc: TestClient, proctor_client: TestClient, db: Session, room: Room
) -> None:
    code = _ask_for_code(pc, room)
    enrolment = db.execute(select(SeatEnrolment).where(SeatEnrolment.code == code)).scalar_one()
    enrolment.expires_at = utcnow() - timedelta(seconds=1)
    db.flush()
    assert pc.get(f"/rooms/{room.code}/enrol/status").json() == {"state": "expired"}
    assert "Get a new code" in pc.get(f"/rooms/{room.code}/enrol").text
    refused = _confirm(proctor_client, room, code, "PC-01")
    assert refused.status_code == 409
    assert "This code has expired." in refused.text
    assert _seat(room).enrolment_generation == 0


@pytest.mark.parametrize("code", ["999999", "12", "<b>x</b>"])
def test_a_wrong_code_over_http_changes_nothing(
    pc: TestClient, proctor_client: TestClient, room: Room, code: str
) -> None:
    _ask_for_code(pc, room)
    refused = _confirm(proctor_client, room, code, "PC-01")
    assert refused.status_code == 422
    assert "No workstation is waiting with this code." in refused.text
    assert "<b>x</b>" not in refused.text
    assert _seat(room).enrolment_generation == 0
    assert pc.get(f"/rooms/{room.code}/enrol/status").json() == {"state": "pending"}


def test_a_code_of_another_room_over_http(
    pc: TestClient, proctor_client: TestClient, db: Session, room: Room
) -> None:
    other = factories.create_room(db, code="LAB-777")
    code = _ask_for_code(pc, other)
    refused = _confirm(proctor_client, room, code, "PC-01")
    assert refused.status_code == 409
    assert "LAB-777" in refused.text
    assert _seat(room).enrolment_generation == 0


def test_an_enrolled_seat_is_replaced_only_when_asked_and_the_old_pc_is_refused(
    app: FastAPI, pc: TestClient, proctor_client: TestClient, db: Session, room: Room
) -> None:
    _confirm(proctor_client, room, _ask_for_code(pc, room), "PC-01")
    pc.get(f"/rooms/{room.code}/enrol/status")
    assert pc.get("/seat").status_code == 200

    with TestClient(app, base_url="https://testserver") as new_pc:
        code = _ask_for_code(new_pc, room)
        asked = _confirm(proctor_client, room, code, "PC-01")
        assert asked.status_code == 409
        assert "Workstation PC-01 is already enrolled." in asked.text
        assert 'name="replace" value="true"' in asked.text
        assert _seat(room).enrolment_generation == 1

        replaced = _confirm(proctor_client, room, code, "PC-01", replace=True)
        assert replaced.status_code == 303
        assert _seat(room).enrolment_generation == 2
        new_pc.get(f"/rooms/{room.code}/enrol/status")
        assert new_pc.get("/seat").status_code == 200

    old = pc.get("/seat", headers={"Accept": "text/html"})
    assert old.status_code == 403
    assert "This workstation was replaced" in old.text
    assert "Ask IT to enrol it again." in old.text
    beat = pc.post("/seat/heartbeat", json={}, headers={"X-CSRF-Token": factories.csrf(pc)})
    assert beat.status_code == 403
    assert beat.json()["code"] == "seat_replaced"


def test_seat_without_a_cookie_is_refused(pc: TestClient) -> None:
    page = pc.get("/seat", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "This workstation is not enrolled as a seat." in page.text


def test_a_heartbeat_by_the_seat_links_token(
    pc: TestClient, db: Session, settings: Settings, room: Room
) -> None:
    seat = _seat(room, "PC-03")
    token = seat_token(settings, seat.id)
    page = pc.get(f"/seat/{token}")
    assert f'data-token="{token}"' in page.text
    headers = {"X-CSRF-Token": factories.csrf(pc), "Accept": "application/json"}
    assert pc.post("/seat/heartbeat", json={"token": token}, headers=headers).status_code == 204
    db.refresh(seat)
    assert seat.last_seen_at is not None
    forged = pc.post("/seat/heartbeat", json={"token": token + "x"}, headers=headers)
    assert (forged.status_code, forged.json()["code"]) == (404, "unknown_seat")
    nobody = pc.post("/seat/heartbeat", json={}, headers=headers)
    assert (nobody.status_code, nobody.json()["code"]) == (403, "not_enrolled")
    without_csrf = pc.post("/seat/heartbeat", json={"token": token})
    assert without_csrf.status_code == 403


@pytest.mark.parametrize("role", [Role.STUDENT, Role.REGISTRAR])
def test_only_proctors_see_and_confirm_the_seats(
    client: TestClient, db: Session, room: Room, role: Role
) -> None:
    user = (
        factories.create_student(db).user
        if role == Role.STUDENT
        else factories.create_user(db, role=role)
    )
    assert user is not None
    factories.sign_in(client, user)
    headers = {"Accept": "text/html"}
    assert client.get(f"/proctor/rooms/{room.id}/seats", headers=headers).status_code == 403
    assert client.get(f"/proctor/rooms/{room.id}/seats/pending", headers=headers).status_code == 403
    refused = client.post(
        f"/proctor/rooms/{room.id}/seats/confirm",
        data={"csrf_token": factories.csrf(client), "code": "123456", "seat_label": "PC-01"},
        headers=headers,
    )
    assert refused.status_code == 403


def test_the_seats_page_needs_a_signed_in_proctor(client: TestClient, room: Room) -> None:
    page = client.get(
        f"/proctor/rooms/{room.id}/seats", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=/proctor/rooms/{room.id}/seats"


def test_the_seats_page_of_an_unknown_room_is_404(proctor_client: TestClient) -> None:
    assert proctor_client.get("/proctor/rooms/999999/seats").status_code == 404
