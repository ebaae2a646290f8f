"""Safe Exam Browser: the request hashes, and the seat and exam pages refusing other browsers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from server.config import Settings
from server.db import utcnow
from server.models import Attempt, AttemptState, Seat
from server.rules.timing import ROOM_PREPARATION_BEFORE
from server.seat.links import seat_token
from server.seat.seb import (
    CONFIG_KEY_HEADER,
    REQUEST_HASH_HEADER,
    SebHeaders,
    SebKeys,
    SebVerdict,
    absolute_url,
    headers_of,
    key_hash,
    keys_for_seat,
    verify,
)
from tests import factories
from tests.seat.factories import World, create_world

URL = "https://exam.example.edu/seat/abc?x=1&y=2"
CONFIG_KEY = "SEB-CONFIG-KEY-0001"
CK = "a6f1e8f9b0b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9"  # a config key
BEK = "0d9c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c"  # a browser exam key


def test_the_hash_is_sha256_of_the_url_then_the_key_in_lowercase_hex() -> None:
    # Computed here with hashlib, and independently beforehand:
    #   printf '%s' 'https://exam.example.edu/seat/abc?x=1&y=2SEB-CONFIG-KEY-0001' | sha256sum
    expected = hashlib.sha256((URL + CONFIG_KEY).encode()).hexdigest()
    assert key_hash(URL, CONFIG_KEY) == expected
    assert key_hash(URL, CONFIG_KEY) == (
        "74689f8582e33467cabc35982228ebb9e5430597229d95d4cce9cda780f42860"
    )
    #   printf '%s%s' 'https://exam.example.edu/exam' "$CK" | sha256sum
    assert key_hash("https://exam.example.edu/exam", CK) == (
        "201bcb8c281d5ac4c2932a7d22c1ed19ef58f45f807dc05eb1c8eca2e9b6b222"
    )


@pytest.mark.parametrize(
    ("base", "path", "query", "url"),
    [
        ("https://exam.example.edu", "/exam", "", "https://exam.example.edu/exam"),
        ("https://exam.example.edu/", "/exam", "", "https://exam.example.edu/exam"),
        ("https://exam.example.edu", "/exam/", "", "https://exam.example.edu/exam/"),
        ("https://exam.example.edu", "/seat/abc", "x=1&y=2", URL),
        # A proxy that serves the application under a prefix and strips it.
        ("https://uni.example.kz/emtihan", "/exam", "", "https://uni.example.kz/emtihan/exam"),
        ("http://10.0.0.5:8000", "/seat/a%20b", "", "http://10.0.0.5:8000/seat/a%20b"),
    ],
)
def test_the_absolute_url(base: str, path: str, query: str, url: str) -> None:
    assert absolute_url(base_url=base, path=path, query=query) == url


def _h(url: str, key: str) -> str:
    return hashlib.sha256((url + key).encode()).hexdigest()


E = "https://exam.example.edu/exam"
BOTH = SebKeys.of([CK], [BEK])


@pytest.mark.parametrize(
    ("keys", "headers", "verdict"),
    [
        # No key: SEB is not asked for, whatever the headers.
        (SebKeys(), SebHeaders(url=E), SebVerdict.NOT_REQUIRED),
        (SebKeys.of(None, None), SebHeaders(url=E, config_key_hash="x"), SebVerdict.NOT_REQUIRED),
        (SebKeys.of(["", "  "], []), SebHeaders(url=E), SebVerdict.NOT_REQUIRED),
        # Config keys only.
        (SebKeys.of([CK], []), SebHeaders(url=E, config_key_hash=_h(E, CK)), SebVerdict.VALID),
        (SebKeys.of([CK], []), SebHeaders(url=E), SebVerdict.INVALID),  # header missing
        (SebKeys.of([CK], []), SebHeaders(url=E, config_key_hash=""), SebVerdict.INVALID),
        (SebKeys.of([CK], []), SebHeaders(url=E, config_key_hash=_h(E, BEK)), SebVerdict.INVALID),
        # SEB sends lowercase hex; uppercase is the same digest and is accepted.
        (
            SebKeys.of([CK], []),
            SebHeaders(url=E, config_key_hash=_h(E, CK).upper()),
            SebVerdict.VALID,
        ),
        (
            SebKeys.of([CK], []),
            SebHeaders(url=E, config_key_hash=f" {_h(E, CK)} "),
            SebVerdict.VALID,
        ),
        # Another URL: trailing slash, another query, another host, the fragment never counts.
        (
            SebKeys.of([CK], []),
            SebHeaders(url=E + "/", config_key_hash=_h(E, CK)),
            SebVerdict.INVALID,
        ),
        (
            SebKeys.of([CK], []),
            SebHeaders(url=E + "?a=1", config_key_hash=_h(E, CK)),
            SebVerdict.INVALID,
        ),
        (
            SebKeys.of([CK], []),
            SebHeaders(url=E + "?a=1", config_key_hash=_h(E + "?a=1", CK)),
            SebVerdict.VALID,
        ),
        (
            SebKeys.of([CK], []),
            SebHeaders(url="http://exam.example.edu/exam", config_key_hash=_h(E, CK)),
            SebVerdict.INVALID,
        ),
        # Any one of several keys; a stored key is read without spaces and in lowercase.
        (
            SebKeys.of(["other", CK], []),
            SebHeaders(url=E, config_key_hash=_h(E, CK)),
            SebVerdict.VALID,
        ),
        (
            SebKeys.of([f"  {CK.upper()}\n"], []),
            SebHeaders(url=E, config_key_hash=_h(E, CK)),
            SebVerdict.VALID,
        ),
        # Browser exam keys only: the request hash decides, the config key hash is not needed.
        (SebKeys.of([], [BEK]), SebHeaders(url=E, request_hash=_h(E, BEK)), SebVerdict.VALID),
        (SebKeys.of([], [BEK]), SebHeaders(url=E, config_key_hash=_h(E, BEK)), SebVerdict.INVALID),
        # Both kinds: both headers must match.
        (
            BOTH,
            SebHeaders(url=E, config_key_hash=_h(E, CK), request_hash=_h(E, BEK)),
            SebVerdict.VALID,
        ),
        (BOTH, SebHeaders(url=E, config_key_hash=_h(E, CK)), SebVerdict.INVALID),
        (BOTH, SebHeaders(url=E, request_hash=_h(E, BEK)), SebVerdict.INVALID),
        (
            BOTH,
            SebHeaders(url=E, config_key_hash=_h(E, BEK), request_hash=_h(E, CK)),
            SebVerdict.INVALID,
        ),
    ],
)
def test_verify(keys: SebKeys, headers: SebHeaders, verdict: SebVerdict) -> None:
    assert verify(keys, headers) == verdict


@pytest.mark.parametrize(
    ("verdict", "allowed", "flag"),
    [
        (SebVerdict.NOT_REQUIRED, True, None),
        (SebVerdict.VALID, True, True),
        (SebVerdict.INVALID, False, False),
    ],
)
def test_what_a_verdict_means(verdict: SebVerdict, allowed: bool, flag: bool | None) -> None:
    assert (verdict.allowed, verdict.flag) == (allowed, flag)


# --- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def seb_world(db: Session) -> World:
    # Started a minute ago, so a late student's whole attempt runs on the real clock.
    world = create_world(db, start=utcnow() - timedelta(minutes=1))
    world.exam.seb_config_keys = [CK]
    # Committed (a savepoint released): a refused request rolls back only what it did itself.
    db.commit()
    return world


def _seb(url: str, *, config_key: str = CK, bek: str | None = None) -> dict[str, str]:
    headers = {CONFIG_KEY_HEADER: key_hash(url, config_key)}
    if bek is not None:
        headers[REQUEST_HASH_HEADER] = key_hash(url, bek)
    return headers


def test_the_seat_page_refuses_a_browser_without_seb(
    client: TestClient, settings: Settings, seb_world: World
) -> None:
    token = seat_token(settings, seb_world.seats[0].id)
    page = client.get(f"/seat/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "must be taken in Safe Exam Browser" in page.text
    url = f"https://testserver/seat/{token}"
    wrong_key = client.get(f"/seat/{token}", headers=_seb(url, config_key=BEK))
    assert wrong_key.status_code == 403
    # The hash of the URL actually requested: the query string counts.
    ok = client.get(f"/seat/{token}", headers=_seb(f"https://testserver/seat/{token}"))
    assert ok.status_code == 200
    assert 'name="id_code"' in ok.text
    with_query = client.get(
        f"/seat/{token}?kiosk=1", headers=_seb(f"https://testserver/seat/{token}")
    )
    assert with_query.status_code == 403
    assert (
        client.get(
            f"/seat/{token}?kiosk=1", headers=_seb(f"https://testserver/seat/{token}?kiosk=1")
        ).status_code
        == 200
    )


def test_behind_a_proxy_the_public_base_url_is_hashed(
    client: TestClient, settings: Settings, seb_world: World
) -> None:
    settings.public_base_url = "https://exam.example.edu/"
    token = seat_token(settings, seb_world.seats[0].id)
    # The proxy speaks plain HTTP to the server; SEB hashed the address it saw.
    seen_by_server = _seb(f"https://testserver/seat/{token}")
    assert client.get(f"/seat/{token}", headers=seen_by_server).status_code == 403
    seen_by_seb = _seb(f"https://exam.example.edu/seat/{token}")
    assert client.get(f"/seat/{token}", headers=seen_by_seb).status_code == 200


def test_browser_exam_keys_need_the_request_hash(
    client: TestClient, db: Session, settings: Settings, seb_world: World
) -> None:
    seb_world.exam.seb_browser_exam_keys = [BEK]
    db.commit()
    token = seat_token(settings, seb_world.seats[0].id)
    url = f"https://testserver/seat/{token}"
    assert client.get(f"/seat/{token}", headers=_seb(url)).status_code == 403
    assert client.get(f"/seat/{token}", headers=_seb(url, bek=BEK)).status_code == 200


def test_a_sign_in_without_seb_is_refused_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings, seb_world: World
) -> None:
    token = seat_token(settings, seb_world.seats[0].id)
    form = {
        "id_code": seb_world.student.id_code,
        "password": factories.PASSWORD,
        "language": "en",
        "csrf_token": factories.csrf(client),
    }
    refused = client.post(f"/seat/{token}", data=form, follow_redirects=False)
    assert refused.status_code == 403
    assert db.scalar(select(Attempt.id).where(Attempt.student_id == seb_world.student.id)) is None
    signed_in = client.post(
        f"/seat/{token}",
        data=form,
        headers=_seb(f"https://testserver/seat/{token}"),
        follow_redirects=False,
    )
    assert signed_in.status_code == 303


def test_the_exam_pages_and_the_json_api_refuse_without_seb(
    client: TestClient, db: Session, settings: Settings, seb_world: World
) -> None:
    token = seat_token(settings, seb_world.seats[0].id)
    client.post(
        f"/seat/{token}",
        data={
            "id_code": seb_world.student.id_code,
            "password": factories.PASSWORD,
            "language": "en",
            "csrf_token": factories.csrf(client),
        },
        headers=_seb(f"https://testserver/seat/{token}"),
    )
    attempt = db.execute(
        select(Attempt).where(Attempt.student_id == seb_world.student.id)
    ).scalar_one()
    attempt.state = AttemptState.ADMITTED
    attempt.admitted_at = utcnow()
    db.commit()

    page = client.get("/exam", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "Safe Exam Browser" in page.text
    assert client.get("/exam", headers=_seb("https://testserver/exam")).status_code == 200

    api = {"Accept": "application/json", "X-CSRF-Token": factories.csrf(client)}
    status_url = f"/exam/attempts/{attempt.id}/status"
    refused = client.get(status_url, headers=api)
    assert refused.status_code == 403
    assert refused.json()["code"] == "seb_required"
    assert refused.json()["message"].startswith("This exam must be taken in Safe Exam Browser")
    assert (
        client.get(
            status_url, headers={**api, **_seb(f"https://testserver{status_url}")}
        ).status_code
        == 200
    )

    window_url = f"/exam/attempts/{attempt.id}/window"
    window = client.post(window_url, headers={**api, **_seb(f"https://testserver{window_url}")})
    assert window.status_code == 200
    save_url = f"/exam/attempts/{attempt.id}/saves"
    save = {
        "client": window.json()["client"],
        "seq": window.json()["last_seq"] + 1,
        "question": 1,
        "answer": [1],  # the first option shown
        "answered_at_ms": int(utcnow().timestamp() * 1000),
    }
    refused_save = client.post(save_url, headers=api, json=save)
    assert refused_save.status_code == 403
    assert refused_save.json()["code"] == "seb_required"
    db.refresh(attempt)
    assert attempt.last_seq == 0  # nothing was saved
    seb = _seb(f"https://testserver{save_url}")
    saved = client.post(save_url, headers={**api, **seb}, json=save)
    assert saved.status_code == 200
    assert saved.json()["status"] == "saved"


def test_an_exam_without_keys_asks_for_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    token = seat_token(settings, world.seats[0].id)
    assert client.get(f"/seat/{token}").status_code == 200


def test_the_heartbeat_is_not_refused_but_records_the_seb_state(
    client: TestClient, db: Session, settings: Settings, seb_world: World
) -> None:
    seat: Seat = seb_world.seats[0]
    token = seat_token(settings, seat.id)
    headers = {"X-CSRF-Token": factories.csrf(client), "Accept": "application/json"}
    assert client.post("/seat/heartbeat", json={"token": token}, headers=headers).status_code == 204
    db.refresh(seat)
    assert seat.seb_valid is False
    good = {**headers, **_seb("https://testserver/seat/heartbeat")}
    assert client.post("/seat/heartbeat", json={"token": token}, headers=good).status_code == 204
    db.refresh(seat)
    assert seat.seb_valid is True


def _request(headers: dict[str, str]) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "https",
            "server": ("testserver", 443),
            "path": "/exam/attempts/7/status",
            "raw_path": b"/exam/attempts/7/status",
            "query_string": b"x=1",
            "headers": [(b"host", b"testserver")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )


def test_the_url_is_taken_only_from_a_request_that_sends_a_seb_header(
    settings: Settings,
) -> None:
    settings.public_base_url = ""
    sent = headers_of(_request({CONFIG_KEY_HEADER: "ab"}), settings)
    assert sent == SebHeaders(
        url="https://testserver/exam/attempts/7/status?x=1", config_key_hash="ab"
    )

    plain = headers_of(_request({}), settings)
    assert plain == SebHeaders(url="")
    assert verify(SebKeys(config_keys=("k",)), plain) is SebVerdict.INVALID


# --- the keys a seat's sign-in is checked against -----------------------------------------------

_GRACE = timedelta(seconds=10)  # the settings fixture's transport grace
_TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("after_start", "asks"),
    [
        (-ROOM_PREPARATION_BEFORE - _TICK, False),
        (-ROOM_PREPARATION_BEFORE, True),
        (timedelta(0), True),
        (timedelta(minutes=60) + _GRACE, True),
        (timedelta(minutes=60) + _GRACE + _TICK, False),
    ],
)
def test_a_seat_has_the_keys_of_the_exam_its_room_holds_now(
    db: Session, settings: Settings, after_start: timedelta, asks: bool
) -> None:
    world = create_world(db)
    world.exam.seb_config_keys = [CK]
    world.exam.seb_browser_exam_keys = [BEK]
    db.flush()
    keys = keys_for_seat(db, settings, world.seats[0].id, world.start + after_start)
    assert keys == (SebKeys(config_keys=(CK,), browser_exam_keys=(BEK,)) if asks else SebKeys())


def test_the_room_s_extra_time_keeps_its_keys(db: Session, settings: Settings) -> None:
    world = create_world(db)
    world.exam.seb_config_keys = [CK]
    world.exam_room.extra_minutes = 15
    db.flush()
    late = world.start + timedelta(minutes=75)
    assert keys_for_seat(db, settings, world.seats[0].id, late).required


def test_an_unknown_seat_or_a_room_without_an_exam_has_no_keys(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    world.exam.seb_config_keys = [CK]
    elsewhere = factories.create_room(db)
    db.flush()
    assert keys_for_seat(db, settings, world.seats[0].id, world.start).required
    assert keys_for_seat(db, settings, elsewhere.seats[0].id, world.start) == SebKeys()
    assert keys_for_seat(db, settings, 10**9, world.start) == SebKeys()
