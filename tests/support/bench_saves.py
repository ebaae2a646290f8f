"""Save latency at the seat, measured end to end against the real server process.

    .venv/bin/python -m tests.support.bench_saves [--saves 1000] [--students 1] [--database-url URL]

Starts ``emtihan serve`` on a fresh database (SQLite file by default) with the demo term, lets
each demo student sign in at a workstation, has the proctor admit them, and then sends
``--saves`` answer saves in total, spread over ``--students`` students answering at the same
time. Each save's latency is the time from sending the request to having the server's
acknowledgement (which comes only after the commit). Prints p50, p90, p99 and max in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.support.live_server import LiveServer
from tests.support.seat_client import Answering, SeatClient

STUDENTS = [f"S250{n:02d}" for n in range(1, 18)]  # the demo's admitted students
STUDENT_PASSWORD = "Student#2026"
STAFF_PASSWORD = "Demo#2026pass"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def prepare(server: LiveServer, students: int) -> list[Answering]:
    links = [
        line.split("\t")[1]
        for line in server.cli("seat", "links", "--room", "LAB-301", "--base-url", server.url)
        .strip()
        .splitlines()
    ]
    time.sleep(2.5)  # the demo exam starts two seconds after loading
    proctor = SeatClient(server.url)
    proctor.staff_sign_in("proctor", STAFF_PASSWORD)
    room_url = (
        "/proctor/exams/"
        + proctor.http.get("/proctor").text.split('href="/proctor/exams/')[1].split('"')[0]
    )
    proctor.form(f"{room_url}/open")
    seated = []
    for index in range(students):
        student = SeatClient(server.url)
        student.seat_sign_in(links[index], STUDENTS[index], STUDENT_PASSWORD)
        attempt_id = student.attempt_id()
        proctor.form(f"{room_url}/admit/{attempt_id}", {"late": "true"})
        answering = Answering(client=student, attempt_id=attempt_id)
        answering.take_window()
        seated.append(answering)
    proctor.close()
    return seated


def run(seated: list[Answering], saves: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_student = -(-saves // len(seated))

    def answer(answering: Answering) -> None:
        mine = []
        for n in range(per_student):
            question = n % 25 + 1
            began = time.perf_counter()
            response = answering.save(question, n % 4)
            mine.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"save refused: {response.status_code} {response.text}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=answer, args=(a,)) for a in seated]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=1000)
    parser.add_argument("--students", type=int, default=1, choices=range(1, len(STUDENTS) + 1))
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'bench.db'}"
        server = LiveServer(database_url=url, directory=Path(directory) / "server")
        server.cli("db", "upgrade")
        server.cli("demo", f"--base-url={server.url}", "--starts-in=2")
        server.start()
        try:
            seated = prepare(server, args.students)
            began = time.perf_counter()
            latencies = run(seated, args.saves)
            elapsed = time.perf_counter() - began
            for answering in seated:
                answering.client.close()
        finally:
            server.stop()
    dialect = url.split(":", 1)[0]
    print(
        f"{len(latencies)} saves by {args.students} student(s) on {dialect}: "
        f"p50 {percentile(latencies, 0.50):.1f} ms, p90 {percentile(latencies, 0.90):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms; {len(latencies) / elapsed:.0f} saves/s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
