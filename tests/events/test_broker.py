"""The Redis broker (server/events/broker.py) carries a writer group's burst of events whole."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from server.events.broker import RedisBroker
from server.events.store import Envelope
from tests.support.redis_server import redis_server

T = TypeVar("T")

BURST = 3000


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path / "redis") as url:
        yield url


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # On a thread of its own: Playwright's sync API keeps a loop running on the main thread.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _event(seq: int) -> Envelope:
    return Envelope(
        id=seq,
        exam_id=1,
        room_id=1,
        seq=seq,
        kind="saved",
        attempt_id=7,
        payload={"question": seq % 25 + 1},
        at_ms=1_700_000_000_000 + seq,
    )


def test_a_burst_published_from_another_thread_arrives_whole_and_in_order(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[int]:
        received: list[int] = []
        everything = asyncio.Event()

        def deliver(envelope: Envelope) -> None:
            received.append(envelope.seq)
            if len(received) == BURST:
                everything.set()

        broker = RedisBroker(redis_url)
        await broker.start(deliver, lambda: None)
        try:
            # As the writer's answers arrive: one thread publishes a whole group at once.
            publishing = threading.Thread(
                target=lambda: [broker.publish(_event(seq)) for seq in range(1, BURST + 1)]
            )
            publishing.start()
            publishing.join()
            await asyncio.wait_for(everything.wait(), timeout=30)
        finally:
            await broker.stop()
        return received

    with caplog.at_level(logging.ERROR, logger="server.events.broker"):
        received = _run(scenario())

    assert received == list(range(1, BURST + 1))
    assert caplog.records == []
