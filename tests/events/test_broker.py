"""The Redis broker (server/events/broker.py) carries a writer group's burst of events whole."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.events.broker import RedisBroker
from server.events.store import Envelope
from tests.support.aio import run_on_own_thread
from tests.support.redis_server import redis_server

BURST = 3000


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path / "redis") as url:
        yield url


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
        received = run_on_own_thread(scenario())

    assert received == list(range(1, BURST + 1))
    assert caplog.records == []
