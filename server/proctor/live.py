"""Live rooms in this process: one hub per watched sitting, fanning events out to its consoles.

A hub holds the room's grid (``grid.RoomGrid``) and applies the room's events strictly in
``seq`` order. A number it has not seen yet arriving early means a message was lost or overtaken
(the broker gives no order between threads or processes), so the hub reads the missing events
from the database: the log is the truth, the broker only makes it fast.

Each event is rendered once per language of the connected consoles, not once per console, and
put on every console's queue; a console that cannot keep up is dropped and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from server.db.session import reading
from server.events.store import Envelope, events_after
from server.i18n import set_locale
from server.proctor import frames
from server.proctor.grid import PAYLOAD_EVENTS, RoomGrid, load_cards, load_grid

log = logging.getLogger(__name__)

# Events shown in the console's log; a save only moves its seat's card.
LOGGED = frozenset(
    {
        "room_opened",
        "signed_in",
        "seat_changed",
        "admitted",
        "refused",
        "started",
        "window_replaced",
        "signal",
        "closed",
        "violation",
        "violation_revoked",
        "seat_moved",
        "incident",
        "presence",
    }
)
CONSOLE_QUEUE = 2_000
# The most events one frame carries (a catch-up sends the log in frames of this many).
MAX_BATCH = 200


@dataclass(eq=False)
class Console:
    """One connected console: its language and the frames waiting to be sent."""

    language: str
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(CONSOLE_QUEUE))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, frame: str) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped.set()


def render_frame(language: str, **parts: Any) -> str:
    """A console frame (``frames.frame``) in ``language``."""
    set_locale(language)
    return frames.frame(**parts)


def _reloads(envelope: Envelope) -> bool:
    """Whether the event changes its attempt's card in ways only the database knows."""
    return envelope.attempt_id is not None and envelope.kind not in PAYLOAD_EVENTS


class RoomHub:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        exam_id: int,
        room_id: int,
        start: datetime,
        timezone: str,
    ) -> None:
        self._factory = factory
        self.exam_id = exam_id
        self.room_id = room_id
        self._start = start
        self._timezone = timezone
        self.grid: RoomGrid | None = None
        self.ready = asyncio.Event()
        self.consoles: set[Console] = set()
        # The state counts of the summary line the consoles show, or None when they may show
        # others (a frame was applied with no console to send it to).
        self._counts_shown: Counter[str] | None = None
        self._inbox: asyncio.Queue[Envelope | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"room-hub-{exam_id}-{room_id}")

    # -- reading the database, in a worker thread --

    def _read(self, work: Callable[[Session], Any]) -> Any:
        with reading(self._factory) as db:
            return work(db)

    def _cards(self, attempt_ids: set[int]) -> Any:
        return self._read(lambda db: load_cards(db, attempt_ids=attempt_ids, start=self._start))

    async def _load(self) -> RoomGrid:
        grid: RoomGrid = await asyncio.to_thread(
            self._read,
            lambda db: load_grid(db, exam_id=self.exam_id, room_id=self.room_id, start=self._start),
        )
        return grid

    async def missing(self, after: int, upto: int | None = None) -> list[Envelope]:
        events: list[Envelope] = await asyncio.to_thread(
            self._read,
            lambda db: events_after(db, exam_id=self.exam_id, room_id=self.room_id, after=after),
        )
        return [e for e in events if upto is None or e.seq <= upto]

    # -- the hub's loop --

    def offer(self, envelope: Envelope | None) -> None:
        """An event for this room (``None``: the broker reconnected, check for gaps)."""
        self._inbox.put_nowait(envelope)

    async def _run(self) -> None:
        while True:
            try:
                self.grid = await self._load()
                break
            except Exception:
                log.exception("could not load room %s of exam %s", self.room_id, self.exam_id)
                await asyncio.sleep(1)
        self.ready.set()
        while True:
            waiting = self._waiting(await self._inbox.get())
            try:
                await self._take(waiting)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failed read (the database restarting) must not stop the room: reload it.
                log.exception("room hub %s/%s failed; reloading", self.exam_id, self.room_id)
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self._catch_up()

    def _waiting(self, first: Envelope | None) -> tuple[list[Envelope], bool]:
        """``first`` and the events already waiting behind it; whether a reconnection was among
        them (``None``: check the log for gaps once these are applied).

        Under load the room's events arrive faster than one frame each can be rendered (on the
        event loop, which every request shares): the events waiting are applied together and
        sent in one frame, which the consoles read as the range first_seq..seq.
        """
        batch: list[Envelope] = []
        resync = first is None
        if first is not None:
            batch.append(first)
        while len(batch) < MAX_BATCH and not self._inbox.empty():
            more = self._inbox.get_nowait()
            if more is None:
                resync = True
            else:
                batch.append(more)
        return batch, resync

    async def _take(self, waiting: tuple[list[Envelope], bool]) -> None:
        assert self.grid is not None
        batch, resync = waiting
        fresh = sorted(
            {envelope.seq: envelope for envelope in batch if envelope.seq > self.grid.seq}.values(),
            key=lambda envelope: envelope.seq,
        )
        expected = list(range(self.grid.seq + 1, self.grid.seq + 1 + len(fresh)))
        if resync or [envelope.seq for envelope in fresh] != expected:
            await self._catch_up()  # a gap, or a reconnection: the log has everything, in order
        elif fresh:
            await self._apply(fresh)

    async def _catch_up(self) -> None:
        assert self.grid is not None
        missed = await self.missing(self.grid.seq)
        for start in range(0, len(missed), MAX_BATCH):
            await self._apply(missed[start : start + MAX_BATCH])

    async def _apply(self, envelopes: list[Envelope]) -> None:
        """Move the grid through ``envelopes`` (consecutive) and send the consoles one frame."""
        assert self.grid is not None
        touched: dict[int, None] = {}
        applied: list[Envelope] = []
        # The cards the events change, read in one go: at an exam's start a batch holds a
        # room's sign-ins and admissions, and a thread hop and a session per card kept the
        # default pool's threads busy (docs/BENCHMARKS.md).
        stale = {e.attempt_id for e in envelopes if e.attempt_id is not None and _reloads(e)}
        read = await asyncio.to_thread(self._cards, stale) if stale else {}
        for envelope in envelopes:
            reload = read.get(envelope.attempt_id) if _reloads(envelope) else None
            if envelope.seq != self.grid.seq + 1:
                break  # a catch-up ran while the card was read
            touched.update(dict.fromkeys(self.grid.apply(envelope, reload)))
            applied.append(envelope)
        if not applied:
            return
        if not self.consoles:
            self._counts_shown = None
            return
        cards = [self.grid.card(seat_id) for seat_id in touched]
        # Most frames carry saves, which change no state: their summary line would be the one
        # the consoles show, and rendering it was half the cost of a save's frame. A frame
        # without a card carries no summary line, so its counts are not taken as shown.
        counts = self.grid.counts()
        recount = bool(cards) and counts != self._counts_shown
        if recount:
            self._counts_shown = counts
        frames: dict[str, str] = {}
        for console in list(self.consoles):
            if console.language not in frames:
                frames[console.language] = self.event_frame(
                    console.language, applied, cards=cards, recount=recount
                )
            console.put(frames[console.language])

    # -- frames --

    def _now_ms(self) -> int:
        return int(datetime.now(UTC).timestamp() * 1000)

    def event_frame(
        self,
        language: str,
        envelopes: list[Envelope],
        *,
        cards: list[Any] | None = None,
        recount: bool = True,
    ) -> str:
        """The consoles' frame for ``envelopes``; ``recount``: with the summary line."""
        assert self.grid is not None
        return render_frame(
            language,
            room_id=self.room_id,
            cards=cards or [],
            recount=recount,
            logged=[e for e in envelopes if e.kind in LOGGED],
            first_seq=envelopes[0].seq,
            seq=envelopes[-1].seq,
            emitted_ms=envelopes[-1].at_ms,
            grid=None,
            hub_grid=self.grid,
            timezone=self._timezone,
        )

    def grid_frame(self, language: str) -> str:
        assert self.grid is not None
        return render_frame(
            language,
            room_id=self.room_id,
            cards=[],
            recount=False,
            logged=[],
            first_seq=0,
            seq=self.grid.seq,
            emitted_ms=self._now_ms(),
            grid=self.grid,
            hub_grid=self.grid,
            timezone=self._timezone,
        )

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Dispatcher:
    """Every event this process hears goes to the hub of its room and to the student's page."""

    def __init__(self, factory: sessionmaker[Session], *, timezone: str) -> None:
        self._factory = factory
        self._timezone = timezone
        self.hubs: dict[tuple[int, int], RoomHub] = {}
        self.attempt_watchers: dict[int, set[asyncio.Queue[Envelope]]] = {}

    def hub(self, *, exam_id: int, room_id: int, start: datetime) -> RoomHub:
        key = (exam_id, room_id)
        if key not in self.hubs:
            self.hubs[key] = RoomHub(
                self._factory,
                exam_id=exam_id,
                room_id=room_id,
                start=start,
                timezone=self._timezone,
            )
        return self.hubs[key]

    def deliver(self, envelope: Envelope) -> None:
        hub = self.hubs.get((envelope.exam_id, envelope.room_id))
        if hub is not None:
            hub.offer(envelope)
        if envelope.attempt_id is not None:
            for queue in self.attempt_watchers.get(envelope.attempt_id, ()):
                queue.put_nowait(envelope)

    def resync(self) -> None:
        for hub in self.hubs.values():
            hub.offer(None)

    def watch_attempt(self, attempt_id: int) -> asyncio.Queue[Envelope]:
        queue: asyncio.Queue[Envelope] = asyncio.Queue()
        self.attempt_watchers.setdefault(attempt_id, set()).add(queue)
        return queue

    def unwatch_attempt(self, attempt_id: int, queue: asyncio.Queue[Envelope]) -> None:
        watchers = self.attempt_watchers.get(attempt_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self.attempt_watchers[attempt_id]

    async def close(self) -> None:
        for hub in self.hubs.values():
            await hub.close()
