"""The writer's check-in and save jobs alone: ``emtihan bench-check-in``.

The storm (``emtihan bench``) shows what examinees wait for, but the machine's two cores are
shared by everything in it, so a change to one job moves its figures by less than two runs of
the same code differ. This runs the job every sign-in sends to the writer
(``server.seat.checkin.check_in_at_seat``: the gates, the paper's draw, the audit entries,
the event) in this process, one sign-in after another, each its own committed transaction, on
the storm's own seed, and reports the CPU time and wall time of each. Alternate two
checkouts' runs to compare them (docs/BENCHMARKS.md).

With ``saves_each``, every examinee signed in is then admitted, takes the window and saves that
many answers (``server.seat.api.store_save``), in groups of ``group`` saves to a transaction as
the group writer runs them (``server.db.group_commit``): the CPU time of a group over its saves.
Then every examinee finishes (``server.seat.router.finish_attempt``: the closing, the scoring
of the latest answers, the audit entry, the event), one after another, each committed: the job
the finish minute's 33 finishes a second bring to the writer.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.auth.cookies import SessionClaim, password_fingerprint
from server.auth.service import CheckedPassword
from server.bench.report import section
from server.bench.seed import reschedule, seed_bench
from server.bench.servers import fresh_database
from server.config import Settings
from server.db.engine import create_db_engine, make_sessionmaker
from server.db.migrate import upgrade
from server.models import Attempt, AttemptState, ExamRoom, Student, User
from server.seat.api import claim_window, store_save
from server.seat.checkin import check_in_at_seat
from server.seat.saves import Save, SaveStatus
from server.seat.seb import SebHeaders

# The first sign-ins fill the process's caches (the draw's pool, compiled statements): their
# share is reported apart, so the figures are of the steady state an exam's start is in.
WARM_UP_SHARE = 0.2


def run_checkin_bench(
    *,
    sign_ins: int,
    db: str = "sqlite",
    server_url: str | None = None,
    seed: int = 1,
    saves_each: int = 0,
    group: int = 32,
) -> dict[str, Any]:
    """Sign ``sign_ins`` examinees in, one after another; CPU and wall time of each job. Then,
    with ``saves_each``, their saves in groups of ``group``: CPU and wall time per save."""
    with (
        tempfile.TemporaryDirectory(prefix="emtihan-checkin-") as folder,
        fresh_database(db, directory=Path(folder), server_url=server_url) as url,
    ):
        engine = create_db_engine(url)
        try:
            return _run(
                engine, url, sign_ins=sign_ins, seed=seed, saves_each=saves_each, group=group
            )
        finally:
            engine.dispose()


def _run(
    engine: Engine, url: str, *, sign_ins: int, seed: int, saves_each: int, group: int
) -> dict[str, Any]:
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as db:
        seeded = seed_bench(
            db,
            examinees=sign_ins,
            saturation_clients=1,
            now=now,
            rng=random.Random(seed),  # noqa: S311  (the seed's mix of languages)
        )
        # Started now, every room open: each sign-in passes the door and draws a paper.
        reschedule(db, exam_id=seeded.storm.exam_id, start=now)
        db.execute(update(ExamRoom).values(activated_at=now))
        user_ids: dict[str, int] = {
            login: id_ for login, id_ in db.execute(select(User.login, User.id))
        }
        password_hash = db.execute(select(User.password_hash).limit(1)).scalar_one()
        db.commit()
    settings = Settings(database_url=url)
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    for examinee in seeded.storm.examinees:
        # What argon2's thread hands the writer: the password already checked.
        checked = CheckedPassword(
            login=examinee.id_code,
            user_id=user_ids[examinee.id_code],
            password_hash=password_hash,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        with sessions() as db:
            outcome = check_in_at_seat(
                db,
                settings,
                seat_id=examinee.seat_id,
                checked=checked,
                language=examinee.language,
                address="10.0.0.1",
                now=datetime.now(UTC),
            )
            db.commit()
        cpu_ms.append((time.process_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
        if outcome.user_id is None or outcome.refused_reasons is not None:
            raise RuntimeError(f"{examinee.id_code} was not signed in: {outcome}")
    warm = round(len(cpu_ms) * WARM_UP_SHARE)
    report: dict[str, Any] = {
        "sign_ins": len(cpu_ms),
        "warm_up": warm,
        "cpu": section(cpu_ms[warm:]),
        "cpu_mean_ms": round(sum(cpu_ms[warm:]) / max(1, len(cpu_ms) - warm), 2),
        "wall": section(wall_ms[warm:]),
        "warm_up_cpu_mean_ms": round(sum(cpu_ms[:warm]) / max(1, warm), 2),
        "database": engine.dialect.name,
    }
    if saves_each > 0:
        report["saves"] = _saves(
            sessions, settings, password_hash, saves_each=saves_each, group=group
        )
    return report


def _saves(
    sessions: sessionmaker[Session],
    settings: Settings,
    password_hash: str,
    *,
    saves_each: int,
    group: int,
) -> dict[str, Any]:
    """Admit every attempt, take its window, then store ``saves_each`` saves of each, question
    after question, ``group`` saves to a transaction."""
    now = datetime.now(UTC)
    with sessions() as db:
        db.execute(update(Attempt).values(state=AttemptState.ADMITTED, admitted_at=now))
        # Every examinee shares the seed's one password hash, so one fingerprint for all.
        fingerprint = password_fingerprint(password_hash)
        claims = {
            attempt_id: SessionClaim(user_id, fingerprint)
            for attempt_id, user_id in db.execute(
                select(Attempt.id, Student.user_id).join(Student, Student.id == Attempt.student_id)
            )
            if user_id is not None
        }
        db.commit()
    attempts = sorted(claims)
    seb = SebHeaders(url="")

    def own(attempt_id: int) -> dict[str, Any]:
        """What a seat's job is given of its attempt: the examinee's claim, the id, the headers."""
        return {"claim": claims[attempt_id], "attempt_id": attempt_id, "seb": seb}

    windows: dict[int, str] = {}
    with sessions() as db:
        for attempt_id in attempts:
            window = claim_window(db, settings, **own(attempt_id), now=datetime.now(UTC))
            windows[attempt_id] = window["client"]
        db.commit()
    line = [(attempt_id, number) for number in range(1, saves_each + 1) for attempt_id in attempts]
    # Imported here: the seat's router pulls in the web application's modules.
    from server.seat.router import finish_attempt

    per_save_ms: list[float] = []
    wall_per_save_ms: list[float] = []
    for begin in range(0, len(line), group):
        chunk = line[begin : begin + group]
        wall, cpu = time.perf_counter(), time.process_time()
        with sessions() as db:
            for attempt_id, number in chunk:
                now = datetime.now(UTC)
                receipt = store_save(
                    db,
                    settings,
                    **own(attempt_id),
                    save=Save(
                        client=windows[attempt_id],
                        seq=number,
                        question=(number - 1) % 25 + 1,
                        answer=[1],
                        flagged=False,
                        answered_at=now,
                    ),
                    received_at=now,
                )
                if receipt.status is not SaveStatus.SAVED:
                    raise RuntimeError(f"save {number} of attempt {attempt_id}: {receipt.status}")
            db.commit()
        per_save_ms.append((time.process_time() - cpu) * 1000 / len(chunk))
        wall_per_save_ms.append((time.perf_counter() - wall) * 1000 / len(chunk))
    warm = round(len(per_save_ms) * WARM_UP_SHARE)
    kept, kept_wall = per_save_ms[warm:], wall_per_save_ms[warm:]
    finish_cpu_ms: list[float] = []
    finish_wall_ms: list[float] = []
    for attempt_id in attempts:
        wall, cpu = time.perf_counter(), time.process_time()
        with sessions() as db:
            finish_attempt(db, settings, **own(attempt_id), now=datetime.now(UTC))
            db.commit()
        finish_cpu_ms.append((time.process_time() - cpu) * 1000)
        finish_wall_ms.append((time.perf_counter() - wall) * 1000)
    warm_finishes = round(len(finish_cpu_ms) * WARM_UP_SHARE)
    return {
        "saves": len(line),
        "group": group,
        "cpu_per_save_mean_ms": round(sum(kept) / max(1, len(kept)), 3),
        "cpu_per_save": section(kept),
        "wall_per_save_mean_ms": round(sum(kept_wall) / max(1, len(kept_wall)), 3),
        "finish_cpu": section(finish_cpu_ms[warm_finishes:]),
        "finish_wall": section(finish_wall_ms[warm_finishes:]),
    }
