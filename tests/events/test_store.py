"""Room events: numbered per room without gaps, published only after their commit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from server.db import create_db_engine, make_sessionmaker, utcnow
from server.db.migrate import upgrade
from server.db.session import savepoint
from server.events import store
from server.events.store import Envelope, emit, events_after, install_publisher
from server.models import ExamRoom
from tests.seat.factories import World, create_world


@pytest.fixture(scope="module")
def module_engine(fresh_database_url: Callable[[], str]) -> Iterator[Engine]:
    engine = create_db_engine(fresh_database_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(module_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(module_engine)


@pytest.fixture
def published() -> Iterator[list[Envelope]]:
    seen: list[Envelope] = []
    before = store._publisher
    install_publisher(seen.append)
    yield seen
    install_publisher(before)


@pytest.fixture
def world(factory: sessionmaker[Session]) -> World:
    with factory() as db:
        world = create_world(db)
        db.commit()
        return world


def _emit(db: Session, world: World, kind: str) -> None:
    emit(db, exam_id=world.exam.id, room_id=world.room.id, kind=kind, now=utcnow())


def test_events_are_numbered_per_room_from_one(
    factory: sessionmaker[Session], world: World, published: list[Envelope]
) -> None:
    with factory() as db:
        for kind in ("room_opened", "signed_in", "admitted"):
            _emit(db, world, kind)
        db.commit()
    with factory() as db:
        other = create_world(db)
        db.commit()
        _emit(db, other, "room_opened")
        db.commit()
    assert [(e.room_id, e.seq) for e in published] == [
        (world.room.id, 1),
        (world.room.id, 2),
        (world.room.id, 3),
        (other.room.id, 1),
    ]


def test_an_event_costs_postgresql_one_statement_and_changes_nothing_else_of_the_room(
    factory: sessionmaker[Session], module_engine: Engine, world: World
) -> None:
    """Every save emits an event: on PostgreSQL the number and the row are one round trip."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with factory() as db:
        db.execute(select(ExamRoom)).all()  # the session's own first statements
        event.listen(module_engine, "before_cursor_execute", seen)
        try:
            _emit(db, world, "signed_in")
        finally:
            event.remove(module_engine, "before_cursor_execute", seen)
        db.commit()
    assert len(statements) == (1 if module_engine.dialect.name == "postgresql" else 2)
    with factory() as db:
        room = db.execute(
            select(ExamRoom).where(
                ExamRoom.exam_id == world.exam.id, ExamRoom.room_id == world.room.id
            )
        ).scalar_one()
        assert (room.exam_id, room.room_id, room.event_seq) == (world.exam.id, world.room.id, 1)
        stored = events_after(db, exam_id=world.exam.id, room_id=world.room.id, after=0)
    assert [(e.seq, e.kind, e.attempt_id, e.payload) for e in stored] == [
        (1, "signed_in", None, {})
    ]


def test_nothing_is_published_before_the_commit_or_after_a_rollback(
    factory: sessionmaker[Session], world: World, published: list[Envelope]
) -> None:
    with factory() as db:
        _emit(db, world, "signed_in")
        db.flush()
        assert published == []
        db.rollback()
    assert published == []
    with factory() as db:
        _emit(db, world, "signed_in")
        db.commit()
    # The rolled-back event took no number: the room's log has no gap.
    assert [e.seq for e in published] == [1]


def test_a_released_savepoint_publishes_nothing_until_the_transaction_commits(
    factory: sessionmaker[Session], world: World, published: list[Envelope]
) -> None:
    # The group writer runs each piece in a savepoint once a group has had a refusal: a
    # piece's events wait for the group's commit, which may yet fail and store nothing.
    with factory() as db:
        with savepoint(db):
            _emit(db, world, "signed_in")
        assert published == []
        db.rollback()
    assert published == []
    with factory() as db:
        with savepoint(db):
            _emit(db, world, "signed_in")
        with contextlib.suppress(RuntimeError), savepoint(db):
            _emit(db, world, "admitted")
            raise RuntimeError
        assert published == []
        db.commit()
    assert [(e.seq, e.kind) for e in published] == [(1, "signed_in")]


def test_a_reconnecting_reader_gets_everything_after_its_number(
    factory: sessionmaker[Session], world: World, published: list[Envelope]
) -> None:
    with factory() as db:
        for kind in ("room_opened", "signed_in", "admitted", "started"):
            _emit(db, world, kind)
        db.commit()
    with factory() as db:
        after = events_after(db, exam_id=world.exam.id, room_id=world.room.id, after=2)
    assert [(e.seq, e.kind) for e in after] == [(3, "admitted"), (4, "started")]
    assert after == published[2:]


def test_an_envelope_survives_the_trip_through_json(
    factory: sessionmaker[Session], world: World, published: list[Envelope]
) -> None:
    with factory() as db:
        emit(
            db,
            exam_id=world.exam.id,
            room_id=world.room.id,
            kind="saved",
            payload={"question": 3, "answered": 7},
            now=utcnow(),
        )
        db.commit()
    (envelope,) = published
    assert Envelope.from_json(envelope.to_json()) == envelope
