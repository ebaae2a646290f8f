"""The Redis broker (server/events/broker.py) carries a writer group's burst of events whole."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.events.broker import LocalBroker, RedisBroker
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


def test_the_local_broker_delivers_on_its_loop_s_thread_whoever_publishes() -> None:
    async def scenario() -> tuple[list[int], list[int], set[int]]:
        received: list[int] = []
        threads: set[int] = set()

        def deliver(envelope: Envelope) -> None:
            received.append(envelope.seq)
            threads.add(threading.get_ident())

        broker = LocalBroker()
        await broker.start(deliver, lambda: None)
        broker.publish(_event(1))  # on the loop (the process writer's groups): at once
        at_once = list(received)
        publishing = threading.Thread(target=lambda: broker.publish(_event(2)))
        publishing.start()
        publishing.join()
        await asyncio.sleep(0)  # from another thread: on the loop's next turn
        await broker.stop()
        return at_once, received, threads - {threading.get_ident()}

    at_once, received, elsewhere = run_on_own_thread(scenario())
    assert at_once == [1]
    assert received == [1, 2]
    assert elsewhere == set()
