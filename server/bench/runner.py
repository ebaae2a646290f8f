"""One bench run from start to report: database, seed, servers, storm, saturation, checks.

1. A fresh database (a SQLite file in a temporary folder, or a new database on the PostgreSQL
   server ``--database-url`` names), migrated by Alembic like ``emtihan db upgrade``.
2. The bench term (``seed``): the storm's exam in rooms of 50, the saturation sitting, a proctor.
3. ``emtihan serve`` on a free port (``--workers``), with every attempt lasting the arrival
   window + the steady phase + the finish window (+ slack), sampled for memory every 200 ms.
4. The storm (``storm.play``), optionally with a SIGKILL and restart in its steady phase.
5. The closed-loop saturation sub-run against the server, then the same clients against the
   baseline app (``baseline``) on the same database.
6. The checks on the database: every acknowledged save stored, no deadline moved, the number of
   events each console should have received.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from server.bench import report as reports
from server.bench.baseline import create_table
from server.bench.httpclient import Browser, TransportError
from server.bench.seed import BenchSeed, reschedule, seed_bench
from server.bench.servers import (
    ServerError,
    ServerProcess,
    ServerSampler,
    emtihan_command,
    free_port,
    fresh_database,
    raise_open_files_limit,
)
from server.bench.storm import (
    Recorder,
    SaturationSetup,
    StormResult,
    StormSetup,
    play,
    saturate_baseline,
    saturate_server,
)
from server.collector import collector_settled
from server.config import Settings
from server.db import create_db_engine, make_sessionmaker
from server.db.migrate import upgrade
from server.models import Attempt, ExamRoom, PaperQuestion, Response, RoomEvent
from server.seat.links import seat_token

HOST = "127.0.0.1"
BURST_WINDOW = 5.0
# The attempt's deadline lies this far past everything the bench plans, so that no attempt is
# closed by time while the examinees are still meant to be answering (a slow sign-in included).
DEADLINE_SLACK_SECONDS = 120
# Settings the bench decides for the servers it starts; every other EMTIHAN_* is passed on
# (the argon2 parameters, EMTIHAN_REDIS_URL for several workers, ...).
OWN_SETTINGS = (
    "EMTIHAN_DATABASE_URL",
    "EMTIHAN_INSTANCE_DIR",
    "EMTIHAN_SECRET_KEY",
    "EMTIHAN_COOKIE_SECURE",
    "EMTIHAN_EXAM_DURATION_OVERRIDE_SECONDS",
)

T = TypeVar("T")


class BenchFailed(RuntimeError):
    """The run could not be played (a server that does not start, a proctor refused sign-in)."""


@dataclass(frozen=True)
class BenchOptions:
    examinees: int = 2000
    duration: float = 600.0
    arrival: float = 60.0
    burst: bool = False
    common_start: bool = False
    finish_window: float = 60.0
    workers: int = 1
    db: str = "sqlite"
    database_url: str | None = None
    kill_at: float | None = None
    saturate: float = 10.0
    saturate_clients: int = 32
    seed: int | None = None

    @property
    def window(self) -> float:
        return BURST_WINDOW if self.burst else self.arrival

    def problems(self) -> list[str]:
        found = []
        if self.examinees < 1:
            found.append("--examinees must be at least 1")
        if self.duration <= 0 or self.window <= 0 or self.finish_window <= 0:
            found.append("--duration, --arrival and --finish-window must be above 0")
        if self.workers < 1:
            found.append("--workers must be at least 1")
        if self.db not in ("sqlite", "postgresql"):
            found.append("--db is sqlite or postgresql")
        if self.kill_at is not None and not 0 < self.kill_at < self.duration:
            found.append("--kill-at must fall inside the steady phase (0 < SECONDS < --duration)")
        if self.saturate < 0 or self.saturate_clients < 1:
            found.append("--saturate must be 0 or more, --saturate-clients at least 1")
        return found


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover  (uvicorn[standard] brings it)
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _server_env(*, database_url: str, instance: Path, secret: str, lasts: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in OWN_SETTINGS}
    env.update(
        LANG="C.UTF-8",
        PYTHONUNBUFFERED="1",
        EMTIHAN_DATABASE_URL=database_url,
        EMTIHAN_INSTANCE_DIR=str(instance),
        EMTIHAN_SECRET_KEY=secret,
        # Plain HTTP on loopback: a Secure cookie would never be sent back.
        EMTIHAN_COOKIE_SECURE="false",
        EMTIHAN_EXAM_DURATION_OVERRIDE_SECONDS=str(lasts),
    )
    return env


async def _wait_healthy(server: ServerProcess, timeout: float = 60) -> None:
    browser = Browser(HOST, server.port, timeout=5)
    give_up = time.monotonic() + timeout
    try:
        while time.monotonic() < give_up:
            server.check_running()
            try:
                if (await browser.get_json("/healthz")).status == 200:
                    return
            except TransportError:
                pass
            browser.close()
            await asyncio.sleep(0.05)
    finally:
        browser.close()
    raise ServerError(f"{server.name} was not healthy within {timeout}s:\n" + server.log_tail())


class Run:
    """The state of one run: where things are, and the database they share."""

    def __init__(
        self,
        options: BenchOptions,
        directory: Path,
        database_url: str,
        progress: Callable[[str], None],
    ) -> None:
        self.options = options
        self.directory = directory
        self.database_url = database_url
        self.progress = progress
        self.secret = secrets.token_urlsafe(32)
        self.settings = Settings(secret_key=self.secret, instance_dir=directory / "instance")
        self.engine: Engine = create_db_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.rng = random.Random(options.seed)  # noqa: S311  (load pattern, not security)
        lasts = math.ceil(
            options.window
            + options.duration
            + options.finish_window
            + options.saturate
            + DEADLINE_SLACK_SECONDS
        )
        self.env = _server_env(
            database_url=database_url,
            instance=directory / "instance",
            secret=self.secret,
            lasts=lasts,
        )

    def server(self, name: str, command: list[str], log: str) -> ServerProcess:
        return ServerProcess(
            name=name, command=command, env=self.env, log_path=self.directory / log
        )

    def reschedule(self, exam_id: int) -> Callable[[float], None]:
        def move(start_epoch: float) -> None:
            with self.sessions() as db:
                reschedule(db, exam_id=exam_id, start=datetime.fromtimestamp(start_epoch, UTC))
                db.commit()

        return move

    def event_counts(self, exam_id: int) -> Callable[[], dict[int, int]]:
        def count() -> dict[int, int]:
            with self.sessions() as db:
                rooms = db.execute(
                    select(ExamRoom.room_id).where(ExamRoom.exam_id == exam_id)
                ).scalars()
                counts = {room: 0 for room in rooms}
                for room, stored in db.execute(
                    select(RoomEvent.room_id, func.count())
                    .where(RoomEvent.exam_id == exam_id)
                    .group_by(RoomEvent.room_id)
                ):
                    counts[room] = stored
                return counts

        return count

    def lost_answers(self, acks: list[tuple[int, int, int, tuple[int, ...]]]) -> int:
        """Acknowledged saves that the database does not hold exactly as they were sent."""
        attempts = sorted({attempt for attempt, _, _, _ in acks})
        stored: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}
        with self.sessions() as db:
            for chunk in range(0, len(attempts), 500):
                rows = db.execute(
                    select(
                        Response.attempt_id,
                        Response.seq,
                        PaperQuestion.position,
                        PaperQuestion.option_order,
                        Response.answer,
                    )
                    .join(PaperQuestion, PaperQuestion.id == Response.paper_question_id)
                    .where(Response.attempt_id.in_(attempts[chunk : chunk + 500]))
                )
                for attempt, seq, position, order, answer in rows:
                    # The page numbers a choice question's options by their place on the paper;
                    # the database keeps the option ids.
                    shown = tuple(sorted(order.index(option) + 1 for option in answer))
                    stored[(attempt, seq)] = (position, shown)
        return sum(
            stored.get((attempt, seq)) != (question, tuple(sorted(answer)))
            for attempt, seq, question, answer in acks
        )

    def deadlines_moved(self, seen: dict[int, set[int]]) -> bool:
        """Whether any attempt was ever told two deadlines, or the database now holds another."""
        with self.sessions() as db:
            stored = {
                attempt: int(deadline.timestamp() * 1000)
                for attempt, deadline in db.execute(
                    select(Attempt.id, Attempt.deadline).where(Attempt.id.in_(list(seen)))
                )
            }
        return any(len(told) != 1 or stored.get(a) not in told for a, told in seen.items())

    def close(self) -> None:
        self.engine.dispose()


def _prepare(run: Run) -> BenchSeed:
    if run.database_url.startswith("sqlite:///"):
        Path(run.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    upgrade(run.engine)
    with run.sessions() as db:
        seed = seed_bench(
            db,
            examinees=run.options.examinees,
            saturation_clients=run.options.saturate_clients,
            now=datetime.now(UTC),
            rng=run.rng,
        )
        db.commit()
    run.progress(
        f"database migrated and seeded in {time.monotonic() - began:.1f} s: "
        f"{run.options.examinees} examinees in {len(seed.storm.room_ids)} room(s)"
    )
    return seed


def run_bench(options: BenchOptions, *, progress: Callable[[str], None]) -> dict[str, Any]:
    """Play one storm against real server processes; the report (see docs/BENCHMARKS.md)."""
    problems = options.problems()
    if problems:
        raise ValueError("; ".join(problems))
    raise_open_files_limit()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="emtihan-bench-") as folder:
        directory = Path(folder)
        server_url = options.database_url or os.environ.get("EMTIHAN_BENCH_DATABASE_URL")
        with fresh_database(options.db, directory=directory, server_url=server_url) as url:
            run = Run(options, directory, url, progress)
            try:
                report = _run(run)
            finally:
                run.close()
    # Anything else running on the machine (a test suite, say) takes cores from the server and
    # the bench alike: the 1-minute load average before and after says whether it did.
    report["config"]["load_average"] = {
        "before": round(load_before, 2),
        "after": round(os.getloadavg()[0], 2),
    }
    return report


def _run(run: Run) -> dict[str, Any]:
    options = run.options
    seed = _prepare(run)
    tokens = {
        plan.seat_id: seat_token(run.settings, plan.seat_id)
        for plan in [*seed.storm.examinees, *seed.saturation.examinees]
    }
    port = free_port()
    server = run.server(
        "emtihan serve",
        [
            emtihan_command(),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(options.workers),
        ],
        "server.log",
    )
    try:
        started = server.start()
        progress = run.progress
        progress(f"emtihan serve ({options.workers} worker(s)) healthy after {started:.1f} s")

        async def kill_and_restart() -> float:
            began = time.monotonic()
            server.send_kill()
            await asyncio.to_thread(server.wait)
            server.spawn()  # in the event loop's (main) thread: see ServerProcess.spawn
            await _wait_healthy(server)
            return time.monotonic() - began

        storm_setup = StormSetup(
            host=HOST,
            port=port,
            seed=seed.storm,
            tokens=tokens,
            proctor_login=seed.proctor_login,
            password=seed.password,
            window=options.window,
            common_start=options.common_start,
            duration=options.duration,
            finish_window=options.finish_window,
            rng=run.rng,
            reschedule=run.reschedule(seed.storm.exam_id),
            event_counts=run.event_counts(seed.storm.exam_id),
            kill_at=options.kill_at,
            kill_and_restart=kill_and_restart,
            progress=progress,
        )
        saturation_recorder = Recorder()
        saturation: dict[str, Any] | None = None
        saturation_note: str | None = None
        with ServerSampler(lambda: server.pid) as sampler:
            sampler.sample()
            server_cpu_began = sampler.cpu_seconds()
            try:
                # The generator's own collector stops would show as its schedule lag.
                with collector_settled():
                    storm = _run_async(play(storm_setup))
            except RuntimeError as failure:
                raise BenchFailed(
                    f"{failure}\n--- server log (end) ---\n{server.log_tail()}"
                ) from None
            sampler.sample()
            server_cpu = sampler.cpu_seconds() - server_cpu_began
            progress(
                f"storm over: {storm.examinees_finished} of {options.examinees} examinees finished"
            )
            if options.saturate > 0:
                # A freshly started server, like the baseline's: whatever backlog the storm left
                # (requests still queued in the server) must not be measured as its throughput.
                server.stop(timeout=5)
                server.start()
                try:
                    saturation = _run_async(
                        saturate_server(
                            SaturationSetup(
                                host=HOST,
                                port=port,
                                seed=seed.saturation,
                                tokens=tokens,
                                proctor_login=seed.proctor_login,
                                password=seed.password,
                                seconds=options.saturate,
                                reschedule=run.reschedule(seed.saturation.exam_id),
                            ),
                            saturation_recorder,
                        )
                    )
                    progress(f"saturation, server: {saturation['per_s']} saves/s")
                except RuntimeError as failure:
                    saturation_note = f"the saturation sub-run failed: {failure}"
                    progress(saturation_note)
        server.stop()
    finally:
        server.kill()
    baseline = _baseline(run, options) if saturation is not None else None
    report = _report(run, seed, storm, saturation, saturation_recorder, baseline, sampler.peak_mb)
    report["server_exceptions"] = server.exceptions()
    report["server_cpu"] = {
        "seconds": round(server_cpu, 1),
        "percent_of_one_core": round(100 * server_cpu / storm.wall_seconds, 1),
    }
    if saturation_note is not None:
        report["baseline"] = {"error": saturation_note}
    return report


def _baseline(run: Run, options: BenchOptions) -> dict[str, Any]:
    create_table(run.engine)
    port = free_port()
    server = run.server(
        "baseline",
        [
            sys.executable,
            "-m",
            "server.bench.baseline",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(options.workers),
        ],
        "baseline.log",
    )
    try:
        server.start()
        result = _run_async(
            saturate_baseline(
                host=HOST, port=port, clients=options.saturate_clients, seconds=options.saturate
            )
        )
        server.stop()
    finally:
        server.kill()
    run.progress(f"saturation, baseline INSERT + COMMIT: {result['per_s']} /s")
    return result


def _report(
    run: Run,
    seed: BenchSeed,
    storm: StormResult,
    saturation: dict[str, Any] | None,
    saturation_recorder: Recorder,
    baseline: dict[str, Any] | None,
    peak_rss_mb: float,
) -> dict[str, Any]:
    options = run.options
    recorder = storm.recorder
    acks = recorder.acks + saturation_recorder.acks
    lost_answers = run.lost_answers(acks)
    deadlines_moved = run.deadlines_moved({**recorder.deadlines, **saturation_recorder.deadlines})
    errors = dict(recorder.errors)
    for kind, count in saturation_recorder.errors.items():
        key = kind if kind.startswith("saturation") else f"saturation {kind}"
        errors[key] = errors.get(key, 0) + count

    stored = run.event_counts(seed.storm.exam_id)()
    delivered = sum(console.delivered for console in storm.consoles)
    expected = sum(
        count
        for console in storm.consoles
        for room, count in stored.items()
        if console.room_id in (None, room)
    )
    event_latencies = [ms for console in storm.consoles for ms in console.latencies_ms]
    generator = reports.generator_health(
        cpu_seconds=storm.cpu_seconds, wall_seconds=storm.wall_seconds, lags_ms=recorder.lags_ms
    )
    invalid = list(generator["reasons"])

    baseline_section: dict[str, Any] | None = None
    if saturation is not None and baseline is not None:
        ratio = saturation["per_s"] / baseline["per_s"] if baseline["per_s"] else None
        baseline_section = {
            "clients": saturation["clients"],
            "seconds": options.saturate,
            "save_per_s": saturation["per_s"],
            "save_p50_ms": reports.section(saturation["latencies_ms"])["p50_ms"],
            "save_p99_ms": reports.section(saturation["latencies_ms"])["p99_ms"],
            "insert_per_s": baseline["per_s"],
            "insert_p50_ms": reports.section(baseline["latencies_ms"])["p50_ms"],
            "insert_p99_ms": reports.section(baseline["latencies_ms"])["p99_ms"],
            "save_ratio": None if ratio is None else round(ratio, 3),
            "errors": saturation["errors"] + baseline["errors"],
            "generator_cpu_percent": {
                "server": saturation["generator_cpu_percent"],
                "baseline": baseline["generator_cpu_percent"],
            },
        }
        for name in ("server", "baseline"):
            cpu = baseline_section["generator_cpu_percent"][name]
            if cpu > reports.MAX_GENERATOR_CPU_PERCENT:
                invalid.append(
                    f"saturation against the {name}: generator CPU {cpu:.0f}% of one core, "
                    "so the throughput may be the generator's"
                )

    return {
        "valid": not invalid,
        "invalid_reasons": invalid,
        "config": {
            "examinees": options.examinees,
            "rooms": len(seed.storm.room_ids),
            "duration_s": options.duration,
            "arrival_s": options.window,
            "burst": options.burst,
            "common_start": options.common_start,
            "finish_window_s": options.finish_window,
            "workers": options.workers,
            "db": options.db,
            "kill_at_s": options.kill_at,
            "saturate_s": options.saturate,
            "seed": options.seed,
            "cpu_count": os.cpu_count(),
        },
        "sign_in": reports.section(recorder.samples["sign_in"]),
        "start": reports.section(recorder.samples["start"]),
        "save": reports.section(recorder.samples["save"]),
        "submit": reports.section(recorder.samples["submit"]),
        "proctor_event": {
            "delivered": delivered,
            "expected": expected,
            "p50_ms": reports.section(event_latencies)["p50_ms"],
            "p99_ms": reports.section(event_latencies)["p99_ms"],
            "consoles": len(storm.consoles),
            "frames": sum(console.frames for console in storm.consoles),
            "reconnections": sum(max(0, c.connections - 1) for c in storm.consoles),
            "stored": sum(stored.values()),
            "note": storm.console_note,
        },
        "errors": sum(errors.values()),
        "error_kinds": dict(sorted(errors.items())),
        "lost_answers": lost_answers,
        "lost_events": expected - delivered,
        "deadlines_moved": deadlines_moved,
        "peak_rss_mb": peak_rss_mb,
        "generator": generator,
        "baseline": baseline_section,
        "kill": storm.kill,
        "extra": {
            "sections": {
                **{
                    name: reports.section(recorder.samples[name])
                    for name in ("admit", "status", "signal", "paper")
                },
                **{
                    f"save_{phase}": reports.section(latencies)
                    for phase, latencies in storm.saves_by_phase().items()
                },
            },
            "acknowledged_saves": len(acks),
            "examinees_finished": storm.examinees_finished,
        },
    }
