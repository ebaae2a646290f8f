"""A room's hub: the events waiting in its inbox go to the consoles in one frame, in order.

The hub's reads are replaced by a grid and a room log held here, so that what is waiting in the
inbox when the hub wakes is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine

from server.db import make_sessionmaker
from server.events.store import Envelope
from server.models import AttemptState
from server.proctor import live
from server.proctor.grid import AttemptCard, RoomGrid
from server.proctor.live import Console, RoomHub
from tests.proctor.test_grid import _card, _event, _grid

T = TypeVar("T")

CURSOR = re.compile(r'id="cursor-(\d+)"[^>]*data-first-seq="(\d+)" data-seq="(\d+)"')


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On a thread of its own: Playwright's sync API may keep a loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


class _Room:
    """What the database holds for the room: its grid at the start and its event log."""

    def __init__(self) -> None:
        self.log: list[Envelope] = []
        self.card_reads: list[int] = []
        self.reads = 0  # trips to the database for cards
        self.states: dict[int, AttemptState] = {}  # as stored now, where not in progress

    def grid(self) -> RoomGrid:
        return _grid(_card(1, 10), _card(2, 11))

    def card(self, attempt_id: int) -> AttemptCard:
        self.card_reads.append(attempt_id)
        state = self.states.get(attempt_id, AttemptState.IN_PROGRESS)
        seat = {1: 10, 2: 11}.get(attempt_id)  # another attempt has no seat in the room
        return _card(attempt_id, seat, answered=0, state=state)

    def cards(self, attempt_ids: set[int]) -> dict[int, AttemptCard]:
        self.reads += 1
        return {attempt_id: self.card(attempt_id) for attempt_id in sorted(attempt_ids)}

    def after(self, after: int) -> list[Envelope]:
        return [envelope for envelope in self.log if envelope.seq > after]


@pytest.fixture
def room(monkeypatch: pytest.MonkeyPatch) -> _Room:
    room = _Room()
    monkeypatch.setattr(live, "load_grid", lambda _db, **_kwargs: room.grid())
    monkeypatch.setattr(
        live, "load_cards", lambda _db, *, attempt_ids, start: room.cards(attempt_ids)
    )
    monkeypatch.setattr(live, "events_after", lambda _db, *, after, **_kwargs: room.after(after))
    return room


# The hub's reads are the room's above; its sessions never run a statement.
_NO_DATABASE = make_sessionmaker(create_engine("sqlite://"))


def _hub() -> RoomHub:
    return RoomHub(
        _NO_DATABASE,
        exam_id=1,
        room_id=2,
        start=datetime(2026, 12, 4, 9, tzinfo=UTC),
        timezone="Asia/Almaty",
    )


def _frames(room: _Room, *inbox: Envelope | None, until: int) -> list[tuple[int, int, str]]:
    """Puts ``inbox`` in the hub's inbox at once and returns the frames the console got, as
    (first_seq, seq, frame), once one has reached event ``until`` (and a moment more, for any
    frame that should not have come)."""

    async def scenario() -> list[str]:
        hub = _hub()
        await hub.ready.wait()
        console = Console(language="en")
        hub.consoles.add(console)
        for envelope in inbox:
            hub.offer(envelope)
        frames: list[str] = []
        for _ in range(1000):
            frames.append(await asyncio.wait_for(console.queue.get(), timeout=10))
            if f'data-seq="{until}"' in frames[-1]:
                break
        await asyncio.sleep(0.1)
        while not console.queue.empty():
            frames.append(console.queue.get_nowait())
        await hub.close()
        return frames

    result = []
    for frame in _run(scenario()):
        match = CURSOR.search(frame)
        assert match is not None
        result.append((int(match.group(2)), int(match.group(3)), frame))
    return result


def test_events_waiting_together_go_out_in_one_frame_with_the_last_state(room: _Room) -> None:
    saves = [_event(seq, "saved", answered=seq, question=seq) for seq in (1, 2, 3)]
    frames = _frames(room, *saves, until=3)
    assert [(first, last) for first, last, _ in frames] == [(1, 3)]
    assert (
        'data-seat="10" data-attempt="1" data-state="in_progress" data-answered="3"'
        in (frames[0][2])
    )


def test_a_gap_in_what_is_waiting_is_filled_from_the_log(room: _Room) -> None:
    room.log = [_event(seq, "saved", answered=seq, question=seq) for seq in (1, 2, 3)]
    frames = _frames(room, room.log[0], room.log[2], until=3)  # the message of event 2 was lost
    assert [(first, last) for first, last, _ in frames] == [(1, 3)]


def test_a_reconnection_among_the_events_reads_the_log(room: _Room) -> None:
    room.log = [_event(seq, "saved", answered=seq, question=seq) for seq in (1, 2, 3, 4)]
    frames = _frames(room, room.log[0], None, room.log[1], until=4)
    # Events 3 and 4 came only in the log: the reconnection's catch-up brings them.
    assert [(first, last) for first, last, _ in frames] == [(1, 4)]


def test_events_already_applied_send_nothing_again(room: _Room) -> None:
    first = _event(1, "saved", answered=1, question=1)
    frames = _frames(room, first, first, until=1)
    assert [(start, last) for start, last, _ in frames] == [(1, 1)]


def test_events_that_change_attempts_read_their_cards_once_together(room: _Room) -> None:
    frames = _frames(
        room,
        _event(1, "admitted", 1, late=False),
        _event(2, "admitted", 2, late=False),
        _event(3, "started", 1),
        until=3,
    )
    assert [(first, last) for first, last, _ in frames] == [(1, 3)]
    assert room.card_reads == [1, 2]
    assert room.reads == 1


def test_a_long_backlog_is_sent_in_frames_of_at_most_max_batch(room: _Room) -> None:
    count = live.MAX_BATCH + 5
    room.log = [_event(seq, "saved", answered=1, question=1) for seq in range(1, count + 1)]
    frames = _frames(room, None, until=count)
    assert [(first, last) for first, last, _ in frames] == [
        (1, live.MAX_BATCH),
        (live.MAX_BATCH + 1, count),
    ]


def _frame_per_event(*events: Envelope) -> list[str]:
    """Each event offered once the previous one's frame has come: one frame each."""

    async def scenario() -> list[str]:
        hub = _hub()
        await hub.ready.wait()
        console = Console(language="en")
        hub.consoles.add(console)
        frames = []
        for envelope in events:
            hub.offer(envelope)
            frames.append(await asyncio.wait_for(console.queue.get(), timeout=10))
        await hub.close()
        return frames

    return _run(scenario())


def test_the_summary_line_goes_out_only_when_the_state_counts_change(room: _Room) -> None:
    room.states[2] = AttemptState.SUBMITTED
    frames = _frame_per_event(
        _event(1, "saved", answered=1, question=1),
        _event(2, "saved", answered=2, question=2),
        _event(3, "closed", 2, state="submitted"),
        _event(4, "saved", 2, answered=3, question=3),
    )
    with_summary = ['id="summary-2"' in frame for frame in frames]
    # The first frame after the hub starts: the consoles may show any counts.
    assert with_summary == [True, False, True, False]
    assert "Finished: 1" in frames[2]
    assert all('data-seat="10"' in frame or 'data-seat="11"' in frame for frame in frames)


def test_counts_changed_by_an_event_without_a_card_go_out_with_the_next_card(
    room: _Room,
) -> None:
    room.states[3] = AttemptState.SUBMITTED
    frames = _frame_per_event(
        _event(1, "saved", answered=1, question=1),
        _event(2, "closed", 3, state="submitted"),
        _event(3, "saved", answered=2, question=2),
    )
    assert ['id="summary-2"' in frame for frame in frames] == [True, False, True]
    assert "Finished: 1" in frames[2]


def test_a_frame_applied_with_no_console_leaves_the_next_one_its_summary_line(
    room: _Room,
) -> None:
    async def scenario() -> list[str]:
        hub = _hub()
        await hub.ready.wait()
        console = Console(language="en")
        hub.consoles.add(console)
        hub.offer(_event(1, "saved", answered=1, question=1))
        frames = [await asyncio.wait_for(console.queue.get(), timeout=10)]
        hub.consoles.discard(console)
        hub.offer(_event(2, "saved", answered=2, question=2))
        while hub.grid is None or hub.grid.seq < 2:  # applied with no console
            await asyncio.sleep(0.01)
        hub.consoles.add(console)
        hub.offer(_event(3, "saved", answered=3, question=3))
        frames.append(await asyncio.wait_for(console.queue.get(), timeout=10))
        await hub.close()
        return frames

    frames = _run(scenario())
    assert ['id="summary-2"' in frame for frame in frames] == [True, True]


def test_a_frame_leaves_nothing_for_the_cycle_collector() -> None:
    # At 400 saves a second each frame's ~40 objects in cycles (Jinja macros built anew) were
    # most of the server's garbage, and each collection stops every thread (server/collector.py).
    grid = _grid(_card(1, 10), _card(2, 11))
    envelopes = [_event(1, "saved", answered=1, question=1), _event(2, "signed_in", 2)]

    def frame() -> str:
        return live.render_frame(
            "ru",
            room_id=2,
            cards=[grid.card(10), grid.card(11)],
            recount=True,
            logged=envelopes[1:],
            first_seq=1,
            seq=2,
            emitted_ms=1,
            grid=None,
            hub_grid=grid,
            timezone="Asia/Almaty",
        )

    frame()  # the templates compiled and imported once
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            assert 'id="seat-10"' in frame()
        gc.collect()
        left = [type(thing).__name__ for thing in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
