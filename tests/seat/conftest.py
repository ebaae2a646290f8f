"""An attempt that is sitting: signed in, admitted by the proctor, its window taken."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Attempt, ItemType, ItemVersion, Language, Role
from server.proctor.service import admit
from server.seat.answers import RawAnswer
from server.seat.attempts import open_window
from server.seat.checkin import check_in
from server.seat.saves import Save, SaveReceipt, save_answer
from tests import factories
from tests.seat.factories import NEW_KINDS, World, create_world


@dataclass
class Sitting:
    world: World
    attempt: Attempt
    client: str

    @property
    def start(self) -> datetime:
        return self.world.start

    def save(
        self,
        seq: int,
        question: int,
        answer: RawAnswer,
        *,
        flagged: bool = False,
        answered_at: datetime | None = None,
        client: str | None = None,
    ) -> Save:
        return Save(
            client=client or self.client,
            seq=seq,
            question=question,
            answer=answer,
            flagged=flagged,
            answered_at=answered_at or self.start + timedelta(minutes=1),
        )

    def store(
        self,
        db: Session,
        settings: Settings,
        seq: int,
        question: int,
        answer: RawAnswer,
        *,
        minutes: int = 1,
    ) -> SaveReceipt:
        """Store a save ``minutes`` into the exam, as the writer does."""
        return save_answer(
            db,
            settings,
            attempt=self.attempt,
            start=self.start,
            save=self.save(seq, question, answer),
            now=self.start + timedelta(minutes=minutes),
        )

    def options(self, question: int) -> list[int]:
        """The paper's ``option_order``: a choice item's option ids (as stored), in shown order."""
        return list(self.attempt.paper[question - 1].option_order)

    def numbers(self, question: int) -> list[int]:
        """What the page sends for a choice item's options: 1, 2, … in the shown order."""
        return list(range(1, len(self.options(question)) + 1))

    def number_of(self, question: int, option_id: int) -> int:
        """The page's number of a choice option."""
        return self.options(question).index(option_id) + 1

    def position_of(self, db: Session, kind: ItemType) -> int:
        """Where the (first) item of this kind is on the paper."""
        for question in self.attempt.paper:
            if db.get_one(ItemVersion, question.item_version_id).type == kind:
                return question.position
        raise LookupError(f"no {kind} item on the paper")


def waiting(
    db: Session,
    settings: Settings,
    world: World,
    *,
    seat: int = 0,
    language: Language = Language.EN,
    before_start: timedelta = timedelta(minutes=5),
) -> Attempt:
    """The world's student signed in at a seat, on the proctor's list."""
    outcome = check_in(
        db,
        settings,
        seat=world.seats[seat],
        checked=factories.checked_password(db, settings, world.student.id_code),
        language=language,
        address="10.0.0.1",
        now=world.start - before_start,
        rng=random.Random(11),
    )
    assert outcome.attempt is not None
    return outcome.attempt


def sit(
    db: Session,
    settings: Settings,
    world: World,
    *,
    language: Language = Language.EN,
    seat: int = 0,
) -> Sitting:
    attempt = waiting(db, settings, world, language=language, seat=seat)
    proctor = factories.create_user(db, role=Role.PROCTOR)
    admit(
        db,
        settings,
        sitting=_sitting(world),
        attempt_id=attempt.id,
        proctor=proctor,
        late_entry_permitted=False,
        now=world.start - timedelta(minutes=4),
    )
    window = open_window(db, attempt=attempt, start=world.start, now=world.start)
    db.flush()
    return Sitting(world=world, attempt=attempt, client=window.client)


def _sitting(world: World):  # type: ignore[no-untyped-def]
    from server.seat.sittings import Sitting as RoomSitting

    return RoomSitting(exam=world.exam, exam_room=world.exam_room)


@pytest.fixture
def sitting(db: Session, settings: Settings) -> Sitting:
    return sit(db, settings, create_world(db))


@pytest.fixture
def mixed(db: Session, settings: Settings) -> Sitting:
    """A paper of 21 single-choice items and one of each kind beyond choice (the whole bank)."""
    return sit(db, settings, create_world(db, bank_size=25 - len(NEW_KINDS), kinds=NEW_KINDS))
