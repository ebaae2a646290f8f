"""The console's grid moves forward by events: payload events in place, others by a reload."""

from __future__ import annotations

from collections import Counter

import pytest

from server.events.store import Envelope
from server.models import AttemptState
from server.proctor.grid import AttemptCard, RoomGrid


def _card(attempt_id: int = 1, seat_id: int = 10, **changes: object) -> AttemptCard:
    values: dict[str, object] = {
        "attempt_id": attempt_id,
        "seat_id": seat_id,
        "student_name": "Aigerim",
        "id_code": "S1",
        "state": AttemptState.IN_PROGRESS,
        "signed_in_ms": 1,
        "answered": 0,
        "question_count": 25,
        "deadline_ms": 10_000,
        "late": False,
    }
    values.update(changes)
    return AttemptCard(**values)  # type: ignore[arg-type]


def _grid(*cards: AttemptCard) -> RoomGrid:
    return RoomGrid(
        exam_id=1,
        room_id=2,
        start_ms=0,
        seq=0,
        seats={10: "PC-01", 11: "PC-02"},
        attempts={card.attempt_id: card for card in cards},
    )


def _event(seq: int, kind: str, attempt_id: int | None = 1, **payload: object) -> Envelope:
    return Envelope(
        id=seq,
        exam_id=1,
        room_id=2,
        seq=seq,
        kind=kind,
        attempt_id=attempt_id,
        payload=dict(payload),
        at_ms=5_000 + seq,
    )


def test_a_save_moves_the_answered_count_and_the_last_save() -> None:
    grid = _grid(_card())
    touched = grid.apply(_event(1, "saved", answered=4, question=4), reload=None)
    assert touched == [10]
    card = grid.card(10).attempt
    assert card is not None
    assert (card.answered, card.last_save_ms, grid.seq) == (4, 5_001, 1)


def test_applying_a_save_twice_changes_nothing() -> None:
    grid = _grid(_card())
    grid.apply(_event(1, "saved", answered=4), reload=None)
    grid.apply(_event(1, "saved", answered=4), reload=None)
    assert grid.attempts[1].answered == 4


@pytest.mark.parametrize(
    ("online", "state", "shown"),
    [
        (False, AttemptState.IN_PROGRESS, "disconnected"),
        (True, AttemptState.IN_PROGRESS, "in_progress"),
        (False, AttemptState.WAITING, "waiting"),
        (False, AttemptState.SUBMITTED, "submitted"),
    ],
)
def test_a_student_whose_page_left_while_answering_is_disconnected(
    online: bool, state: AttemptState, shown: str
) -> None:
    grid = _grid(_card(state=state))
    grid.apply(_event(1, "presence", online=online), reload=None)
    assert grid.card(10).shown_state == shown


def test_a_move_redraws_both_seats() -> None:
    grid = _grid(_card(seat_id=10))
    touched = grid.apply(_event(1, "seat_moved"), reload=_card(seat_id=11))
    assert touched == [10, 11]
    assert grid.card(10).attempt is None
    assert grid.card(11).attempt is not None


def test_a_reload_keeps_what_only_the_events_know() -> None:
    grid = _grid(_card(online=True))
    grid.apply(_event(1, "signal"), reload=_card(signals=Counter({"copy": 1})))
    card = grid.attempts[1]
    assert (card.online, card.signals["copy"]) == (True, 1)


def test_an_open_attempt_is_shown_before_a_closed_one_at_the_same_seat() -> None:
    refused = _card(attempt_id=1, state=AttemptState.REFUSED, signed_in_ms=5)
    sitting = _card(attempt_id=2, state=AttemptState.IN_PROGRESS, signed_in_ms=1)
    card = _grid(refused, sitting).card(10).attempt
    assert card is not None
    assert card.attempt_id == 2


def test_the_summary_counts_each_state() -> None:
    grid = _grid(
        _card(attempt_id=1, state=AttemptState.WAITING),
        _card(attempt_id=2, seat_id=11, online=False),
    )
    assert grid.counts() == Counter({"waiting": 1, "disconnected": 1})
