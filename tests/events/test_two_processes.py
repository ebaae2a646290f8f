"""Two server processes, one Redis: a console on one sees a save made through the other.

Both processes serve the same database; ``EMTIHAN_REDIS_URL`` makes each publish its committed
events to Redis and deliver every event it hears to its own consoles.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from server.demo import STAFF_PASSWORD, STUDENT_PASSWORD
from tests.support.live_server import LiveServer, LiveServerFactory
from tests.support.redis_server import redis_server
from tests.support.seat_client import Answering, SeatClient


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path / "redis") as url:
        yield url


def _console_url(server: LiveServer, room_url: str) -> str:
    return server.url.replace("http://", "ws://") + room_url + "/live"


def _cookie(client: SeatClient) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.http.cookies.items())}


def _frames_until(socket, needle: str, timeout: float = 10) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        frame = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(frame)
        if needle in frame:
            return str(frame)
    raise AssertionError(f"{needle!r} did not arrive; got {len(seen)} frames")


def test_a_console_on_one_process_sees_a_save_made_through_the_other(
    live_server: LiveServerFactory, redis_url: str, tmp_path: Path
) -> None:
    env = {"EMTIHAN_REDIS_URL": redis_url}
    first = live_server(demo_starts_in=3, env=env)
    second = LiveServer(database_url=first.database_url, directory=tmp_path / "second", env=env)
    second.start()
    try:
        links = [
            line.split("\t")[1]
            for line in first.cli("seat", "links", "--room", "LAB-301", "--base-url", second.url)
            .strip()
            .splitlines()
        ]
        proctor = SeatClient(first.url)
        proctor.staff_sign_in("proctor", STAFF_PASSWORD)
        room_url = "/proctor/exams/" + re.search(
            r'href="/proctor/exams/([^"]+)"', proctor.http.get("/proctor").text
        ).group(1)  # type: ignore[union-attr]
        proctor.form(f"{room_url}/open")
        with connect(
            _console_url(first, room_url), additional_headers=_cookie(proctor), open_timeout=10
        ) as socket:
            socket.send(json.dumps({"after": {}}))
            socket.recv(timeout=10)  # the grid

            # Everything the student does goes through the second process.
            student = SeatClient(second.url)
            student.seat_sign_in(links[0], "S25001", STUDENT_PASSWORD)
            attempt_id = student.attempt_id()
            _frames_until(socket, f'data-attempt="{attempt_id}"')
            admitting = SeatClient(second.url)
            admitting.staff_sign_in("proctor", STAFF_PASSWORD)
            time.sleep(3)  # the demo exam starts three seconds after loading
            admitting.form(f"{room_url}/admit/{attempt_id}", {"late": "true"})
            answering = Answering(client=student, attempt_id=attempt_id)
            answering.take_window()
            assert answering.save(1, 0).status_code == 200
            frame = _frames_until(socket, "1 of 25 answered")
        assert f'data-attempt="{attempt_id}"' in frame
        for client in (proctor, student, admitting):
            client.close()
    finally:
        second.stop()
