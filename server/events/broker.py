"""Carrying committed events to the consoles of every server process.

``LocalBroker`` hands events to this process's dispatcher. ``RedisBroker`` (``EMTIHAN_REDIS_URL``)
publishes them on one Redis channel that every process subscribes to, so a console served by one
uvicorn worker sees the save that another worker stored. Either way the broker only carries
events that are already committed; a message lost in transit is recovered from the database
(consoles notice the gap in the room's numbering, see ``hub``).

``publish`` is called from the thread that committed (FastAPI runs sync routes in a thread pool),
so it only hands the event to the event loop; called on the loop itself (the process writer
publishes a group's events there), it delivers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Protocol

from server.events.store import Envelope

log = logging.getLogger(__name__)

Deliver = Callable[[Envelope], None]
CHANNEL = "emtihan:room-events"


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs on ``loop``'s thread (the process writer publishes from there)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class Broker(Protocol):
    async def start(self, deliver: Deliver, on_resync: Callable[[], None]) -> None: ...

    def publish(self, envelope: Envelope) -> None: ...

    async def stop(self) -> None: ...


class LocalBroker:
    """One process: events go straight to this process's consoles."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver, on_resync: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._deliver = deliver

    def publish(self, envelope: Envelope) -> None:
        if self._loop is None or self._deliver is None or self._loop.is_closed():
            return
        if _on_loop(self._loop):
            self._deliver(envelope)
        else:
            self._loop.call_soon_threadsafe(self._deliver, envelope)

    async def stop(self) -> None:
        self._deliver = None


# The most events in one pipeline to Redis.
PUBLISH_BATCH = 500


class RedisBroker:
    """Several processes or hosts: every process publishes to and listens on one Redis channel."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._on_resync: Callable[[], None] = lambda: None
        self._ready = asyncio.Event()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver, on_resync: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._deliver = deliver
        self._on_resync = on_resync
        self._listener = asyncio.create_task(self._listen(), name="redis-events")
        self._publisher = asyncio.create_task(self._publish_waiting(), name="redis-publish")
        # Serve only once subscribed, so no event committed after start-up is missed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    def publish(self, envelope: Envelope) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        message = json.dumps(envelope.to_json(), separators=(",", ":"))
        if _on_loop(self._loop):
            self._outbox.put_nowait(message)
        else:
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, message)

    async def _publish_waiting(self) -> None:
        """Publish on one connection, in pipelines of whatever is waiting.

        A writer's group stores up to hundreds of events at once. One publish per event, each
        on a connection of the pool, emptied the pool at 2,000 examinees ("Too many
        connections") and the consoles fell back on reading the gaps from the database.
        """
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            await self._send(batch)

    async def _send(self, batch: list[str]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipeline:
                for message in batch:
                    pipeline.publish(CHANNEL, message)
                await pipeline.execute()
        except Exception:
            # The events are stored; consoles recover them from the database when they see
            # the gap.
            log.exception("could not publish %d room event(s) to Redis", len(batch))

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if self._ready.is_set():
                        # Reconnected: whatever passed meanwhile is in the database.
                        self._on_resync()
                    self._ready.set()
                    delay = 0.2
                    async for message in pubsub.listen():
                        if message.get("type") != "message" or self._deliver is None:
                            continue
                        self._deliver(Envelope.from_json(json.loads(message["data"])))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis subscription lost; reconnecting")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            waiting = []
            while not self._outbox.empty():
                waiting.append(self._outbox.get_nowait())
            if waiting:
                await self._send(waiting)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


def make_broker(redis_url: str) -> Broker:
    return RedisBroker(redis_url) if redis_url else LocalBroker()
