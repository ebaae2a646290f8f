"""The live console over HTTP and its websocket, on a real database and the app's own broker.

These tests run the application with its lifespan (broker, room hubs) on a fresh database, since
the hubs read the database from their own threads; each test makes its own exam and room.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.config import Settings
from server.db import create_db_engine, make_sessionmaker, utcnow
from server.db.migrate import upgrade
from server.events.store import install_publisher
from server.models import (
    Attempt,
    AttemptState,
    Discipline,
    Exam,
    ExamRoom,
    Language,
    Result,
    ResultBasis,
    Role,
    RoomEvent,
    Seat,
    Student,
    StudentGroup,
    User,
)
from server.proctor.service import admit
from server.seat.checkin import check_in
from server.seat.sittings import Sitting
from tests import factories
from tests.seat.factories import World, create_world

CURSOR = re.compile(r'id="cursor-(\d+)"[^>]*data-first-seq="(\d+)" data-seq="(\d+)"')


@pytest.fixture(scope="module")
def live_engine(fresh_database_url: Callable[[], str]) -> Iterator[Engine]:
    engine = create_db_engine(fresh_database_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(live_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(live_engine)


@dataclass
class Room:
    world: World
    proctor: User
    url: str

    @property
    def sitting(self) -> Sitting:
        return Sitting(exam=self.world.exam, exam_room=self.world.exam_room)


@pytest.fixture
def room(factory: sessionmaker[Session]) -> Room:
    with factory() as db:
        world = create_world(db, start=utcnow() + timedelta(minutes=5))
        proctor = factories.create_user(db, role=Role.PROCTOR)
        factories.assign_proctor(db, exam=world.exam, room=world.room, user=proctor)
        db.commit()
        return Room(
            world=world,
            proctor=proctor,
            url=f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}",
        )


@pytest.fixture
def client(
    settings: Settings, live_engine: Engine, factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    app = create_app(settings)
    app.state.engine = live_engine
    app.state.sessionmaker = factory
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def _sign_in_student(
    factory: sessionmaker[Session], settings: Settings, room: Room, seat: int
) -> int:
    """A student of the room's group signs in at ``seat`` (the world's own student at seat 0)."""
    world = room.world
    with factory() as db:
        exam = db.get_one(Exam, world.exam.id)
        if seat == 0:
            student = db.get_one(Student, world.student.id)
        else:
            student = factories.create_student(db, group=db.get_one(StudentGroup, world.group.id))
            factories.create_enrolment(
                db,
                student=student,
                discipline=db.get_one(Discipline, world.discipline.id),
                term=exam.exam_session.term,
            )
            db.commit()
        outcome = check_in(
            db,
            settings,
            seat=db.get_one(Seat, world.seats[seat].id),
            checked=factories.checked_password(db, settings, student.id_code),
            language=Language.EN,
            address="10.0.0.9",
            now=utcnow(),
        )
        assert outcome.attempt is not None
        db.commit()
        return outcome.attempt.id


def _frames_until(ws: object, pattern: str, limit: int = 20) -> list[str]:
    frames = []
    for _ in range(limit):
        frame = ws.receive_text()  # type: ignore[attr-defined]
        frames.append(frame)
        if pattern in frame:
            return frames
    raise AssertionError(f"{pattern!r} not in {len(frames)} frames")


def test_the_console_page_shows_every_seat(client: TestClient, room: Room) -> None:
    factories.sign_in(client, room.proctor)
    page = client.get(room.url)
    assert page.status_code == 200
    for label in ("PC-01", "PC-02", "PC-03"):
        assert label in page.text
    assert f'ws-connect="{room.url}/live"' in page.text


def test_a_change_reaches_the_console_live(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.sign_in(client, room.proctor)
    with client.websocket_connect(f"wss://testserver{room.url}/live") as ws:
        ws.send_text(json.dumps({"after": {}}))
        grid = ws.receive_text()
        assert f'id="grid-{room.world.room.id}"' in grid
        attempt_id = _sign_in_student(factory, settings, room, seat=1)
        frames = _frames_until(ws, f'data-attempt="{attempt_id}"')
    frame = frames[-1]
    assert room.world.seats[1].label in frame
    (cursor,) = CURSOR.findall(frame)
    assert cursor[1] == cursor[2]  # one live event per frame


def test_a_console_that_reconnects_gets_what_it_missed(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.sign_in(client, room.proctor)
    _sign_in_student(factory, settings, room, seat=0)
    _sign_in_student(factory, settings, room, seat=1)
    with client.websocket_connect(f"wss://testserver{room.url}/live") as ws:
        ws.send_text(json.dumps({"after": {str(room.world.room.id): 0}}))
        catch_up = ws.receive_text()
        grid = ws.receive_text()
    (cursor,) = CURSOR.findall(catch_up)
    assert (cursor[1], cursor[2]) == ("1", "2")
    assert catch_up.count("<li ") == 2
    assert 'data-first-seq="0"' in grid


def test_a_lost_message_is_read_from_the_log(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.sign_in(client, room.proctor)
    with client.websocket_connect(f"wss://testserver{room.url}/live") as ws:
        ws.send_text(json.dumps({"after": {}}))
        ws.receive_text()
        # The next event is stored but its message is lost on the way (no publisher).
        app_publisher = _current_publisher()
        install_publisher(None)
        try:
            first = _sign_in_student(factory, settings, room, seat=0)
        finally:
            install_publisher(app_publisher)
        second = _sign_in_student(factory, settings, room, seat=1)
        frames = _frames_until(ws, f'data-attempt="{second}"')
    joined = "".join(frames)
    assert f'data-attempt="{first}"' in joined
    seqs = [int(c[2]) for c in CURSOR.findall(joined)]
    assert seqs == sorted(seqs)
    assert seqs[-1] == 2


def _first_frame(client: TestClient, url: str, origin: str | None = None) -> str:
    headers = {"origin": origin} if origin else {}
    with client.websocket_connect(url, headers=headers) as ws:
        ws.send_text("{}")
        return ws.receive_text()


def _current_publisher():  # type: ignore[no-untyped-def]
    from server.events import store

    return store._publisher


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PROCTOR, Role.REGISTRAR])
def test_who_may_not_watch_the_room_is_refused(
    client: TestClient, room: Room, factory: sessionmaker[Session], role: Role
) -> None:
    with factory() as db:
        other = factories.create_user(db, role=role)  # a proctor of no room, say
        db.commit()
    factories.sign_in(client, other)
    assert client.get(room.url).status_code == 403
    with pytest.raises(WebSocketDisconnect):
        _first_frame(client, f"wss://testserver{room.url}/live")


def test_a_socket_from_another_site_is_refused(client: TestClient, room: Room) -> None:
    factories.sign_in(client, room.proctor)
    same_site = _first_frame(
        client, f"wss://testserver{room.url}/live", origin="https://testserver"
    )
    assert "seat-card" in same_site
    with pytest.raises(WebSocketDisconnect):
        _first_frame(client, f"wss://testserver{room.url}/live", origin="https://evil.example")


def _sitting_student(
    factory: sessionmaker[Session], settings: Settings, room: Room, seat: int
) -> int:
    attempt_id = _sign_in_student(factory, settings, room, seat=seat)
    with factory() as db:
        exam = db.get_one(Exam, room.world.exam.id)
        sitting = Sitting(exam=exam, exam_room=db.get_one(ExamRoom, room.world.exam_room.id))
        admit(
            db,
            settings,
            sitting=sitting,
            attempt_id=attempt_id,
            proctor=db.get_one(User, room.proctor.id),
            late_entry_permitted=False,
            now=utcnow(),
        )
        db.commit()
    return attempt_id


def _post(client: TestClient, url: str, data: dict[str, str]) -> object:
    return client.post(
        url,
        data={**data, "csrf_token": factories.csrf(client)},
        headers={"accept": "application/json"},
    )


def test_a_violation_removes_the_student_with_zero_and_f_once(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    attempt_id = _sitting_student(factory, settings, room, seat=0)
    factories.sign_in(client, room.proctor)
    response = _post(client, f"{room.url}/violations/{attempt_id}", {"kind": "phone_or_gadget"})
    assert response.status_code == 200  # type: ignore[attr-defined]
    again = _post(client, f"{room.url}/violations/{attempt_id}", {"kind": "copying"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "already" in again.json()["message"]  # type: ignore[attr-defined]
    with factory() as db:
        attempt = db.get_one(Attempt, attempt_id)
        assert attempt.state == AttemptState.REMOVED
        (result,) = db.execute(select(Result).where(Result.attempt_id == attempt_id)).scalars()
        assert (result.basis, result.exam_percent) == (ResultBasis.VIOLATION, 0)
        kinds = list(
            db.execute(
                select(RoomEvent.kind)
                .where(RoomEvent.attempt_id == attempt_id)
                .order_by(RoomEvent.seq)
            ).scalars()
        )
    assert kinds[-2:] == ["closed", "violation"]


def test_a_forged_violation_kind_changes_nothing(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    attempt_id = _sitting_student(factory, settings, room, seat=0)
    factories.sign_in(client, room.proctor)
    response = _post(client, f"{room.url}/violations/{attempt_id}", {"kind": "sneezing"})
    assert response.status_code == 422  # type: ignore[attr-defined]
    with factory() as db:
        assert db.get_one(Attempt, attempt_id).state == AttemptState.ADMITTED


def test_moving_to_an_occupied_seat_is_refused(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    first = _sitting_student(factory, settings, room, seat=0)
    _sitting_student(factory, settings, room, seat=1)
    factories.sign_in(client, room.proctor)
    taken = _post(client, f"{room.url}/moves/{first}", {"seat_id": str(room.world.seats[1].id)})
    assert taken.status_code == 409  # type: ignore[attr-defined]
    free = _post(client, f"{room.url}/moves/{first}", {"seat_id": str(room.world.seats[2].id)})
    assert free.status_code == 200  # type: ignore[attr-defined]
    with factory() as db:
        assert db.get_one(Attempt, first).seat_id == room.world.seats[2].id


def test_refusing_needs_a_reason_and_a_waiting_student(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    attempt_id = _sign_in_student(factory, settings, room, seat=0)
    factories.sign_in(client, room.proctor)
    empty = _post(client, f"{room.url}/refuse/{attempt_id}", {"reason": "  "})
    assert empty.status_code == 422  # type: ignore[attr-defined]
    done = _post(client, f"{room.url}/refuse/{attempt_id}", {"reason": "ID card of another person"})
    assert done.status_code == 200  # type: ignore[attr-defined]
    twice = _post(client, f"{room.url}/refuse/{attempt_id}", {"reason": "again"})
    assert twice.status_code == 409  # type: ignore[attr-defined]
    with factory() as db:
        attempt = db.get_one(Attempt, attempt_id)
        assert (attempt.state, attempt.refused_reason) == (
            AttemptState.REFUSED,
            "ID card of another person",
        )


def test_extra_time_moves_every_open_deadline_of_the_room_and_is_recorded(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    attempt_id = _sitting_student(factory, settings, room, seat=0)
    with factory() as db:
        before = db.get_one(Attempt, attempt_id).deadline
    factories.sign_in(client, room.proctor)
    no_note = _post(client, f"{room.url}/incidents", {"note": "", "extra_minutes": "10"})
    assert no_note.status_code == 422  # type: ignore[attr-defined]
    too_much = _post(
        client, f"{room.url}/incidents", {"note": "fire alarm", "extra_minutes": "600"}
    )
    assert too_much.status_code == 422  # type: ignore[attr-defined]
    ok = _post(client, f"{room.url}/incidents", {"note": "fire alarm", "extra_minutes": "10"})
    assert ok.status_code == 200  # type: ignore[attr-defined]
    with factory() as db:
        assert db.get_one(Attempt, attempt_id).deadline == before + timedelta(minutes=10)
        event = db.execute(
            select(RoomEvent).where(
                RoomEvent.kind == "incident", RoomEvent.room_id == room.world.room.id
            )
        ).scalar_one()
    assert event.payload["extra_minutes"] == 10


def test_late_entry_after_thirty_minutes_is_refused_by_the_server(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    with factory() as db:
        world = create_world(db, start=utcnow() - timedelta(minutes=29, seconds=58))
        proctor = factories.create_user(db, role=Role.PROCTOR)
        factories.assign_proctor(db, exam=world.exam, room=world.room, user=proctor)
        db.commit()
        outcome = check_in(
            db,
            settings,
            seat=world.seats[0],
            checked=factories.checked_password(db, settings, world.student.id_code),
            language=world.student.user.locale,
            address="x",
            now=utcnow(),
        )
        assert outcome.attempt is not None
        db.commit()
        attempt_id = outcome.attempt.id
    factories.sign_in(client, proctor)
    import time

    time.sleep(2.5)  # the door closes at start + 30 min, inclusive
    url = f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}"
    refused = _post(client, f"{url}/admit/{attempt_id}", {"late": "true"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    with factory() as db:
        assert db.get_one(Attempt, attempt_id).state == AttemptState.WAITING


def test_the_registrar_revokes_a_violation_with_a_reason(
    client: TestClient, room: Room, factory: sessionmaker[Session], settings: Settings
) -> None:
    attempt_id = _sitting_student(factory, settings, room, seat=0)
    factories.sign_in(client, room.proctor)
    _post(client, f"{room.url}/violations/{attempt_id}", {"kind": "talking_or_helping"})
    with factory() as db:
        registrar = factories.create_user(db, role=Role.REGISTRAR)
        db.commit()
        (violation_id,) = db.execute(
            select(RoomEvent.payload).where(
                RoomEvent.kind == "violation", RoomEvent.attempt_id == attempt_id
            )
        ).scalars()
    client.cookies.clear()
    factories.sign_in(client, registrar)
    url = f"/registrar/violations/{violation_id['violation_id']}/revoke"
    assert _post(client, url, {"reason": ""}).status_code == 422  # type: ignore[attr-defined]
    assert _post(client, url, {"reason": "the phone was off"}).status_code == 200  # type: ignore[attr-defined]
    assert _post(client, url, {"reason": "again"}).status_code == 409  # type: ignore[attr-defined]
    with factory() as db:
        (result,) = db.execute(select(Result).where(Result.attempt_id == attempt_id)).scalars()
    assert result.basis == ResultBasis.SCORED


def test_a_refused_action_gets_its_page_not_a_server_error(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    # The refusal rolls the request's session back, which expires what it holds; the page
    # around the refusal still names the signed-in proctor.
    with factory() as db:
        world = create_world(db, start=utcnow() + timedelta(minutes=5))
        proctor = factories.create_user(db, role=Role.PROCTOR)
        factories.assign_proctor(db, exam=world.exam, room=world.room, user=proctor)
        db.commit()
    factories.sign_in(client, proctor)
    url = f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}"
    refused = client.post(
        f"{url}/admit/999999",
        data={"csrf_token": factories.csrf(client)},
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 404
    assert proctor.full_name in refused.text
