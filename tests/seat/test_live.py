"""The page's line (server/seat/live.py): the presence events its opening and closing store."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import AttemptState, RoomEvent
from server.seat.closing import CLOSED_STATES
from server.seat.live import record_presence
from tests.seat.conftest import Sitting


def _presence(db: Session, attempt_id: int) -> list[dict[str, bool]]:
    return list(
        db.execute(
            select(RoomEvent.payload)
            .where(RoomEvent.attempt_id == attempt_id, RoomEvent.kind == "presence")
            .order_by(RoomEvent.seq)
        ).scalars()
    )


def test_opening_and_closing_the_line_are_events_of_the_room(
    db: Session, settings: Settings, sitting: Sitting
) -> None:
    for online in (True, False):
        record_presence(db, settings, attempt_id=sitting.attempt.id, online=online, now=utcnow())

    assert _presence(db, sitting.attempt.id) == [{"online": True}, {"online": False}]


@pytest.mark.parametrize("state", sorted(CLOSED_STATES))
def test_a_closed_attempt_stores_no_presence(
    db: Session, settings: Settings, sitting: Sitting, state: AttemptState
) -> None:
    sitting.attempt.state = state
    db.flush()

    record_presence(db, settings, attempt_id=sitting.attempt.id, online=True, now=utcnow())

    assert _presence(db, sitting.attempt.id) == []


def test_an_unknown_attempt_stores_nothing(db: Session, settings: Settings) -> None:
    record_presence(db, settings, attempt_id=987654, online=True, now=utcnow())

    assert db.execute(select(RoomEvent).where(RoomEvent.kind == "presence")).first() is None
