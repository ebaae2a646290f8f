"""The proctor admits by ID card; after the start only with late-entry permission (R 4.3, 4.10)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.errors import NotFound
from server.models import Attempt, AttemptState, AuditEntry, ExamRoom, Language, Role, RoomEvent
from server.proctor.grid import load_cards, load_grid
from server.proctor.service import (
    AdmitTooEarly,
    AlreadyAdmitted,
    LateEntryClosed,
    LateEntryNeedsPermission,
    admit,
)
from server.rules.timing import EntryDecision, decide_entry
from server.seat.attempts import report_signal
from server.seat.checkin import check_in
from server.seat.live import record_presence
from server.seat.sittings import Sitting
from tests import factories
from tests.seat.conftest import waiting
from tests.seat.factories import World, create_world


def _waiting(db: Session, settings: Settings, world: World) -> Attempt:
    return waiting(
        db, settings, world, seat=1, language=Language.KK, before_start=timedelta(minutes=1)
    )


def _admit(
    db: Session, settings: Settings, world: World, attempt: Attempt, *, late: bool, at: timedelta
) -> Attempt:
    admit(
        db,
        settings,
        sitting=Sitting(exam=world.exam, exam_room=world.exam_room),
        attempt_id=attempt.id,
        proctor=factories.create_user(db, role=Role.PROCTOR),
        late_entry_permitted=late,
        now=world.start + at,
    )
    return attempt


def test_the_waiting_list_shows_name_id_code_and_seat(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    grid = load_grid(db, exam_id=world.exam.id, room_id=world.room.id, start=world.start)
    card = grid.card(world.seats[1].id)
    line = card.attempt
    assert line is not None
    assert (line.attempt_id, line.id_code, card.label, line.state) == (
        attempt.id,
        world.student.id_code,
        "PC-02",
        AttemptState.WAITING,
    )
    assert line.question_count == 25
    assert line.answered == 0


def test_cards_read_together_are_the_cards_of_the_grid(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    grid = load_grid(db, exam_id=world.exam.id, room_id=world.room.id, start=world.start)
    unknown = attempt.id + 1000
    cards = load_cards(db, attempt_ids={attempt.id, unknown}, start=world.start)
    assert cards == {attempt.id: grid.card(world.seats[1].id).attempt}
    assert load_cards(db, attempt_ids=set(), start=world.start) == {}


def test_a_card_counts_the_signals_by_kind_and_shows_the_latest_presence(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    other = check_in(
        db,
        settings,
        seat=world.seats[2],
        checked=factories.checked_password(db, settings, world.new_student(db).id_code),
        language=Language.RU,
        address="10.0.0.2",
        now=world.start - timedelta(minutes=1),
        rng=random.Random(12),
    ).attempt
    assert other is not None
    now = world.start
    for kind in ("focus_lost", "focus_lost", "fullscreen_left"):
        report_signal(db, attempt=attempt, client="", kind=kind, detail="", now=now)
    for online in (True, False, True, False):
        record_presence(db, settings, attempt_id=attempt.id, online=online, now=now)
    record_presence(db, settings, attempt_id=other.id, online=True, now=now)
    db.flush()
    cards = load_cards(db, attempt_ids={attempt.id, other.id}, start=world.start)
    assert cards[attempt.id].signals == {"focus_lost": 2, "fullscreen_left": 1}
    assert cards[attempt.id].online is False
    assert (cards[other.id].signals, cards[other.id].online) == ({}, True)
    assert cards[other.id].id_code != cards[attempt.id].id_code
    grid = load_grid(db, exam_id=world.exam.id, room_id=world.room.id, start=world.start)
    assert grid.attempts == cards


@pytest.mark.parametrize("at", [timedelta(minutes=-10), timedelta(0)])
def test_admission_before_the_start_needs_no_permission(
    db: Session, settings: Settings, at: timedelta
) -> None:
    world = create_world(db)
    attempt = _admit(db, settings, world, _waiting(db, settings, world), late=False, at=at)
    assert attempt.state == AttemptState.ADMITTED
    assert attempt.late_entry_permitted_by_id is None


def test_admission_before_check_in_is_refused(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    with pytest.raises(AdmitTooEarly):
        _admit(db, settings, world, attempt, late=False, at=timedelta(minutes=-10, seconds=-1))


def test_late_entry_needs_the_proctors_permission(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    with pytest.raises(LateEntryNeedsPermission):
        _admit(db, settings, world, attempt, late=False, at=timedelta(microseconds=1))
    admitted = _admit(db, settings, world, attempt, late=True, at=timedelta(minutes=30))
    assert admitted.late_entry_permitted_by_id == admitted.admitted_by_id
    # The deadline does not move for a latecomer (R 4.10).
    assert admitted.deadline == world.start + timedelta(minutes=60)
    with pytest.raises(AlreadyAdmitted):
        _admit(db, settings, world, attempt, late=True, at=timedelta(minutes=30))


def test_an_admission_is_audited_and_told_to_the_room(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _admit(
        db, settings, world, _waiting(db, settings, world), late=False, at=timedelta(minutes=-1)
    )
    assert attempt.admitted_at == world.start - timedelta(minutes=1)
    entry = db.execute(
        select(AuditEntry).where(AuditEntry.action == "attempt.admitted")
    ).scalar_one()
    assert (entry.actor_id, entry.subject) == (attempt.admitted_by_id, f"attempt:{attempt.id}")
    event = db.execute(
        select(RoomEvent).where(RoomEvent.kind == "admitted", RoomEvent.attempt_id == attempt.id)
    ).scalar_one()
    assert (event.actor_id, event.payload) == (attempt.admitted_by_id, {"late": False})


def test_an_attempt_of_another_room_or_none_is_not_found(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    other_room = factories.create_room(db)
    elsewhere = Sitting(
        exam=world.exam, exam_room=ExamRoom(exam_id=world.exam.id, room_id=other_room.id)
    )
    for sitting, attempt_id in (
        (elsewhere, attempt.id),
        (Sitting(exam=world.exam, exam_room=world.exam_room), attempt.id + 1000),
    ):
        with pytest.raises(NotFound):
            admit(
                db,
                settings,
                sitting=sitting,
                attempt_id=attempt_id,
                proctor=factories.create_user(db, role=Role.PROCTOR),
                late_entry_permitted=False,
                now=world.start,
            )
    db.refresh(attempt)
    assert attempt.state == AttemptState.WAITING


def test_a_student_admitted_by_another_proctor_meanwhile_is_refused(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt read as waiting, then admitted by another proctor before this admission's
    write (on PostgreSQL two proctors' transactions can interleave so): refused, nothing of
    this admission written."""
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    other = factories.create_user(db, role=Role.PROCTOR)

    def admitted_meanwhile(**entry: Any) -> EntryDecision:
        db.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(state=AttemptState.ADMITTED, admitted_by_id=other.id)
        )
        return decide_entry(**entry)

    monkeypatch.setattr("server.proctor.service.decide_entry", admitted_meanwhile)
    with pytest.raises(AlreadyAdmitted):
        _admit(db, settings, world, attempt, late=False, at=timedelta(minutes=-1))
    db.refresh(attempt)
    assert (attempt.admitted_by_id, attempt.admitted_at) == (other.id, None)
    assert (
        db.execute(select(AuditEntry.id).where(AuditEntry.action == "attempt.admitted")).first()
        is None
    )


def test_after_thirty_minutes_even_permission_cannot_admit(db: Session, settings: Settings) -> None:
    world = create_world(db)
    attempt = _waiting(db, settings, world)
    with pytest.raises(LateEntryClosed):
        _admit(db, settings, world, attempt, late=True, at=timedelta(minutes=30, microseconds=1))
