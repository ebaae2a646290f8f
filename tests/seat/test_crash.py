"""Crash safety: kill -9 the real server in the middle of an attempt; nothing acknowledged is lost.

The server runs as its own process on a file database. A student saves answers as fast as the
server answers while the test kills the process with SIGKILL; after a restart every save the
server had acknowledged is in the database with its content, the deadline is unchanged, and the
student carries on in the same attempt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from server.models import Attempt, PaperQuestion, Response
from tests.support.live_server import LiveServer, LiveServerFactory
from tests.support.seat_client import Answering, SeatClient

DEMO_STAFF_PASSWORD = "Demo#2026pass"
DEMO_STUDENT = ("S25001", "Student#2026")


@pytest.fixture
def clients() -> Iterator[list[SeatClient]]:
    made: list[SeatClient] = []
    yield made
    for client in made:
        client.close()


def _sitting_student(
    live_server: LiveServerFactory, clients: list[SeatClient]
) -> tuple[LiveServer, SeatClient, Answering]:
    # The exam started two seconds after the demo loaded: the student enters late, with the
    # proctor's permission, so the attempt is open at once.
    server = live_server(demo_starts_in=2)
    seat_url = server.cli("seat", "links", "--room", "LAB-301", "--base-url", server.url)
    seat_url = seat_url.splitlines()[0].split("\t")[1]
    time.sleep(2.5)
    proctor = SeatClient(server.url)
    clients.append(proctor)
    proctor.staff_sign_in("proctor", DEMO_STAFF_PASSWORD)
    room_page = proctor.http.get("/proctor").text
    room_path = room_page.split('href="/proctor/exams/')[1].split('"')[0]
    room_url = f"/proctor/exams/{room_path}"
    assert proctor.form(f"{room_url}/open").status_code == 303
    student = SeatClient(server.url)
    clients.append(student)
    student.seat_sign_in(seat_url, *DEMO_STUDENT)
    attempt_id = student.attempt_id()
    response = proctor.form(f"{room_url}/admit/{attempt_id}", {"late": "true"})
    assert response.status_code == 303, response.text
    answering = Answering(client=student, attempt_id=attempt_id)
    answering.take_window()
    return server, student, answering


def test_kill_9_loses_no_acknowledged_answer(
    live_server: LiveServerFactory, clients: list[SeatClient]
) -> None:
    server, _student, answering = _sitting_student(live_server, clients)
    with server.session() as db:
        deadline = db.get_one(Attempt, answering.attempt_id).deadline

    stop = threading.Event()
    errors: list[str] = []

    def keep_answering() -> None:
        question = 0
        while not stop.is_set():
            question = question % 25 + 1
            try:
                answering.save(question, question % 4)
            except httpx.HTTPError as failure:
                errors.append(type(failure).__name__)
                return  # the server is gone: this save was never acknowledged

    worker = threading.Thread(target=keep_answering)
    worker.start()
    time.sleep(1.5)
    server.kill()
    worker.join(timeout=15)
    stop.set()
    assert errors, "the server was killed while a save was in flight"
    acknowledged = dict(answering.acknowledged)
    assert len(acknowledged) > 20, f"only {len(acknowledged)} saves before the kill"

    server.start()
    with server.session() as db:
        stored = {
            r.seq: r
            for r in db.execute(
                select(Response).where(Response.attempt_id == answering.attempt_id)
            ).scalars()
        }
        # The page sends an option's number on the paper; the option's id is stored.
        orders = dict(
            db.execute(
                select(PaperQuestion.position, PaperQuestion.option_order).where(
                    PaperQuestion.attempt_id == answering.attempt_id
                )
            ).all()
        )
        assert db.get_one(Attempt, answering.attempt_id).deadline == deadline
    missing = sorted(set(acknowledged) - set(stored))
    assert missing == [], f"acknowledged but lost: {missing}"
    for seq, body in acknowledged.items():
        order = orders[body["question"]]
        assert stored[seq].answer == [order[number - 1] for number in body["answer"]]

    # The same student carries on after the restart: the window is taken again, numbering
    # continues after everything the server has, and the next save is acknowledged.
    answering.take_window()
    assert answering.seq >= max(acknowledged)
    assert answering.save(1, 0).status_code == 200


@pytest.mark.parametrize("rounds", [3])
def test_repeated_kills_keep_every_acknowledged_answer(
    live_server: LiveServerFactory, clients: list[SeatClient], rounds: int
) -> None:
    server, _student, answering = _sitting_student(live_server, clients)
    for _ in range(rounds):
        for question in range(1, 6):
            assert answering.save(question, 1).status_code == 200
        server.kill()
        server.start()
        answering.take_window()
    with server.session() as db:
        seqs = set(
            db.execute(
                select(Response.seq).where(Response.attempt_id == answering.attempt_id)
            ).scalars()
        )
    assert set(answering.acknowledged) <= seqs
