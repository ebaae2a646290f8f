"""A proctor's console reduced to its websocket: what arrives, how late, and what is missing.

The protocol is docs/EVENTS.md ("The console's websocket"): after connecting the client sends
``{"after": {"<room_id>": <seq>}}``; every frame ends with a cursor
``<span id="cursor-{room}" hidden data-room=… data-first-seq=… data-seq=… data-emitted-ms=…>``.
An event frame carries the room's events ``first-seq`` to ``seq``; a grid frame (``first-seq``
0) is the room's state including every event up to ``seq``. The console counts each (room, seq)
once, however many frames or reconnections brought it. An event's latency is the frame's
arrival minus ``data-emitted-ms`` (when the server stored the frame's newest event, same
machine, same clock), taken for event frames only: a grid frame's time is when it was drawn.

A console that loses its connection (the server was killed, or dropped it as too slow with
1013) reconnects at once, backing off to 2 s, with the numbers it has seen, as the page does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Origin

_CURSOR = re.compile(r'<span\b[^>]*\bid="cursor-[^"]*"[^>]*>')
_ATTRIBUTE = re.compile(r'\bdata-(room|first-seq|seq|emitted-ms)="(\d+)"')


class ConsoleUnavailable(Exception):
    """The server refused the websocket (not built, 404; or not allowed, 4403)."""


@dataclass(frozen=True)
class Cursor:
    room: int
    first_seq: int | None  # None: an older server that does not say (a range is assumed)
    seq: int
    emitted_ms: int


def cursors(frame: str) -> list[Cursor]:
    """Every cursor of a frame."""
    found = []
    for tag in _CURSOR.findall(frame):
        values = dict(_ATTRIBUTE.findall(tag))
        if {"room", "seq", "emitted-ms"} <= values.keys():
            first = values.get("first-seq")
            found.append(
                Cursor(
                    room=int(values["room"]),
                    first_seq=None if first is None else int(first),
                    seq=int(values["seq"]),
                    emitted_ms=int(values["emitted-ms"]),
                )
            )
    return found


@dataclass
class Console:
    """One console: a room's (``room_id``) or the whole exam's (``room_id=None``)."""

    origin: str
    exam_id: int
    room_id: int | None
    session_cookie: str
    seen: dict[int, int] = field(default_factory=dict)  # the newest seq per room
    delivered_seqs: dict[int, set[int]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    frames: int = 0
    connections: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        if self.room_id is None:
            return f"/proctor/exams/{self.exam_id}/live"
        return f"/proctor/exams/{self.exam_id}/rooms/{self.room_id}/live"

    @property
    def delivered(self) -> int:
        return sum(len(seqs) for seqs in self.delivered_seqs.values())

    async def probe(self, timeout: float = 10) -> None:
        """Connect once; ConsoleUnavailable when the server refuses the websocket."""
        self._task = asyncio.create_task(self._run(), name=f"console {self.path}")
        done, _ = await asyncio.wait(
            [self._task, asyncio.create_task(self.connected.wait())],
            timeout=timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._task in done:
            error = self._task.exception()
            raise ConsoleUnavailable(str(error) if error else "closed at once")
        if not self.connected.is_set():
            await self.stop()
            raise ConsoleUnavailable(f"no answer within {timeout}s")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"console {self.path}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        url = "ws://" + self.origin.removeprefix("http://") + self.path
        delay = 0.25
        while True:
            try:
                async with connect(
                    url,
                    origin=Origin(self.origin),
                    additional_headers={"Cookie": self.session_cookie},
                    proxy=None,
                    max_size=None,
                    open_timeout=30,
                ) as socket:
                    after = {str(room): seq for room, seq in self.seen.items()}
                    await socket.send(json.dumps({"after": after}))
                    self.connections += 1
                    self.connected.set()
                    delay = 0.25
                    async for frame in socket:
                        received_ms = time.time() * 1000
                        self._receive(
                            frame if isinstance(frame, str) else frame.decode(), received_ms
                        )
            except InvalidStatus as refused:
                status = refused.response.status_code
                if not self.connected.is_set() or status in (403, 404):
                    raise ConsoleUnavailable(f"{self.path} answered HTTP {status}") from None
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code in (4401, 4403):
                    raise ConsoleUnavailable(f"{self.path} closed with {code}") from None
            except (OSError, TimeoutError, WebSocketException) as error:
                if not self.connected.is_set() and isinstance(error, WebSocketException):
                    raise ConsoleUnavailable(f"{self.path}: {error}") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _receive(self, frame: str, received_ms: float) -> None:
        self.frames += 1
        for cursor in cursors(frame):
            newest = self.seen.get(cursor.room, 0)
            if cursor.first_seq is None:
                first = newest + 1
            else:
                first = cursor.first_seq or 1
                if cursor.first_seq > 0 and cursor.seq > newest:
                    self.latencies_ms.append(received_ms - cursor.emitted_ms)
            self.delivered_seqs.setdefault(cursor.room, set()).update(range(first, cursor.seq + 1))
            self.seen[cursor.room] = max(newest, cursor.seq)
