"""Signing in at the seat: credentials, the room's door, the gates, the frozen paper."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import (
    AdmissionDecision,
    Attempt,
    AttemptSignal,
    AttemptState,
    Language,
    PaperQuestion,
)
from server.seat.checkin import check_in, paper_rng
from server.seat.errors import (
    CheckInNotOpen,
    EntryClosed,
    NoExamInRoom,
    NotAStudent,
    PaperNotReady,
    RoomNotOpen,
)
from tests import factories
from tests.seat.factories import World, create_world
from tests.support.statements import statements


def _sign_in(db: Session, settings: Settings, world: World, *, seat: int = 0, **kwargs: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "seat": world.seats[seat],
        "language": Language.RU,
        "address": "10.0.0.1",
        "now": world.start - timedelta(minutes=5),
        "rng": random.Random(7),
    }
    login = kwargs.pop("id_code", world.student.id_code)
    password = kwargs.pop("password", factories.PASSWORD)
    arguments.update(kwargs)
    arguments["checked"] = factories.checked_password(
        db,
        settings,
        str(login),
        password=str(password),
        now=arguments["now"],  # type: ignore[arg-type]
    )
    return check_in(db, settings, **arguments)  # type: ignore[arg-type]


def test_an_admitted_student_waits_with_a_frozen_paper(db: Session, settings: Settings) -> None:
    world = create_world(db)
    outcome = _sign_in(db, settings, world)
    attempt = outcome.attempt
    assert attempt is not None
    assert outcome.refused is None
    assert attempt.state == AttemptState.WAITING
    assert attempt.language == Language.RU
    assert attempt.seat_id == world.seats[0].id
    assert attempt.deadline == world.start + timedelta(minutes=60)
    paper = (
        db.execute(select(PaperQuestion).where(PaperQuestion.attempt_id == attempt.id))
        .scalars()
        .all()
    )
    assert len(paper) == 25
    assert len({q.item_version_id for q in paper}) == 25
    assert [q.position for q in paper] == list(range(1, 26))
    decision = db.get_one(AdmissionDecision, attempt.admission_id)
    assert decision.admitted
    assert decision.facts[world.discipline.code]["r1"] == "70.00"


def test_the_new_attempt_is_the_session_s_object_of_its_row(
    db: Session, settings: Settings
) -> None:
    """Inserted past the ORM, the attempt is still the one object the session has of its row,
    holding what the row holds; the user's language is stored as chosen."""
    world = create_world(db)
    attempt = _sign_in(db, settings, world, language=Language.EN).attempt
    assert attempt is not None
    assert inspect(attempt).persistent
    assert db.get(Attempt, attempt.id) is attempt
    as_given = {column: getattr(attempt, column) for column in _ROW}
    assert (attempt.started_at, attempt.client_token, attempt.last_seq) == (None, None, 0)
    db.expire(attempt)
    assert {column: getattr(attempt, column) for column in _ROW} == as_given
    assert as_given["student_id"] == world.student.id
    db.refresh(world.student.user)
    assert world.student.user.locale == Language.EN


_ROW = (
    "exam_id",
    "student_id",
    "room_id",
    "seat_id",
    "admission_id",
    "state",
    "language",
    "signed_in_at",
    "deadline",
    "last_seq",
    "answered",
)


def test_signing_in_again_elsewhere_keeps_the_paper_and_tells_the_proctor(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    first = _sign_in(db, settings, world).attempt
    assert first is not None
    paper = [(q.item_version_id, q.option_order) for q in first.paper]
    again = _sign_in(db, settings, world, seat=2, language=Language.EN).attempt
    assert again is not None
    assert again.id == first.id
    db.flush()
    db.refresh(again)
    assert [(q.item_version_id, q.option_order) for q in again.paper] == paper
    assert again.seat_id == world.seats[2].id
    assert again.language == Language.EN
    kinds = (
        db.execute(select(AttemptSignal.kind).where(AttemptSignal.attempt_id == again.id))
        .scalars()
        .all()
    )
    assert kinds == ["seat_changed"]


@pytest.mark.parametrize(
    ("facts", "reasons"),
    [
        ({"r1": "40", "r2": "50"}, ["midterm_average_below_50"]),
        ({"debt": True}, ["tuition_debt"]),
        ({"attendance": "79.99"}, ["attendance_below_80"]),
        (
            {"r1": "10", "r2": "10", "debt": True, "attendance": "50"},
            ["midterm_average_below_50", "tuition_debt", "attendance_below_80"],
        ),
    ],
)
def test_the_gates_refuse_with_every_reason_and_store_the_decision(
    db: Session, settings: Settings, facts: dict[str, object], reasons: list[str]
) -> None:
    world = create_world(db)
    student = world.new_student(db, **facts)  # type: ignore[arg-type]
    outcome = _sign_in(db, settings, world, id_code=student.id_code)
    assert outcome.attempt is None
    assert outcome.refused is not None
    assert sorted(outcome.refused.reasons) == sorted(reasons)
    stored = db.execute(
        select(AdmissionDecision).where(AdmissionDecision.student_id == student.id)
    ).scalar_one()
    assert not stored.admitted


def test_a_student_outside_the_exams_groups_is_refused(db: Session, settings: Settings) -> None:
    world = create_world(db)
    outsider = factories.create_student(db)
    world.enrol(db, outsider)
    outcome = _sign_in(db, settings, world, id_code=outsider.id_code)
    assert outcome.refused is not None
    assert "not_in_exam_groups" in outcome.refused.reasons


def test_a_wrong_password_is_returned_not_raised(db: Session, settings: Settings) -> None:
    world = create_world(db)
    outcome = _sign_in(db, settings, world, password="Wrong#Pass1")
    assert outcome.user is None
    assert outcome.wrong_credentials is not None


def test_staff_cannot_sit_an_exam(db: Session, settings: Settings) -> None:
    world = create_world(db)
    proctor = factories.create_user(db, login="proctor1")
    with pytest.raises(NotAStudent):
        _sign_in(db, settings, world, id_code=proctor.login)


@pytest.mark.parametrize(
    ("offset", "refusal"),
    [
        (timedelta(minutes=-10, microseconds=-1), CheckInNotOpen),
        (timedelta(minutes=30, microseconds=1), EntryClosed),
    ],
)
def test_the_door_is_shut_before_check_in_and_after_thirty_minutes(
    db: Session, settings: Settings, offset: timedelta, refusal: type[Exception]
) -> None:
    world = create_world(db)
    with pytest.raises(refusal):
        _sign_in(db, settings, world, now=world.start + offset)


@pytest.mark.parametrize("offset", [timedelta(minutes=-10), timedelta(0), timedelta(minutes=30)])
def test_the_door_is_open_at_its_boundaries(
    db: Session, settings: Settings, offset: timedelta
) -> None:
    world = create_world(db)
    assert _sign_in(db, settings, world, now=world.start + offset).attempt is not None


def test_a_room_the_proctor_has_not_opened_refuses(db: Session, settings: Settings) -> None:
    world = create_world(db, opened=False)
    with pytest.raises(RoomNotOpen):
        _sign_in(db, settings, world)


def test_a_room_without_an_exam_now_refuses(db: Session, settings: Settings) -> None:
    world = create_world(db)
    with pytest.raises(NoExamInRoom):
        _sign_in(db, settings, world, now=world.start - timedelta(hours=2))


def test_a_bank_too_small_for_a_paper_refuses(db: Session, settings: Settings) -> None:
    world = create_world(db, bank_size=24)
    with pytest.raises(PaperNotReady) as refused:
        _sign_in(db, settings, world)
    assert refused.value.params == {"discipline": world.discipline.name}


def test_each_paper_is_drawn_with_a_generator_of_its_own_seeded_by_the_operating_system() -> None:
    first, second = paper_rng(), paper_rng()
    # A seeded generator, not SystemRandom (one system call for every number it draws).
    assert type(first) is random.Random
    assert [first.getrandbits(64) for _ in range(4)] != [second.getrandbits(64) for _ in range(4)]


def test_the_account_its_student_and_its_attempt_are_one_read(
    db: Session, settings: Settings
) -> None:
    world = create_world(db)
    now = world.start - timedelta(minutes=5)
    for _ in range(2):  # a new attempt, then the same student resuming it
        checked = factories.checked_password(
            db, settings, world.student.id_code, password=factories.PASSWORD, now=now
        )
        db.expire_all()  # nothing of the account left in the session to spare a read
        with statements(db) as sent:
            outcome = check_in(
                db,
                settings,
                seat=world.seats[0],
                checked=checked,
                language=Language.RU,
                address="10.0.0.1",
                now=now,
            )
        assert outcome.attempt is not None
        reads = [s for s in sent if s.startswith("SELECT") and " students" in s]
        assert len(reads) == 1, reads
        assert " users" in reads[0]
        assert " attempts" in reads[0]
        assert not [
            s for s in sent if s.startswith("SELECT") and "FROM users" in s and s != reads[0]
        ]
