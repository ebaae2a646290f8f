"""The writer's check-in and save jobs alone: ``emtihan bench-check-in``.

The storm (``emtihan bench``) shows what examinees wait for, but the machine's two cores are
shared by everything in it, so a change to one job moves its figures by less than two runs of
the same code differ. This runs the job every sign-in sends to the writer
(``server.seat.checkin.check_in_at_seat``: the gates, the paper's draw, the audit entries,
the event) in this process, one sign-in after another, each its own committed transaction, on
the storm's own seed, and reports the CPU time and wall time of each. Alternate two
checkouts' runs to compare them (docs/BENCHMARKS.md).

With ``saves_each``, the proctor then admits every examinee signed in, one after another
(``server.proctor.router.admit_in_room``: the proctor's account, the room, the attempt, the
audit entry, the event), each committed; then each takes the window
(``server.seat.api.claim_window``), one after another, each committed, and saves that many
answers (``server.seat.api.store_save``), in groups of ``group`` saves to a transaction as
the group writer runs them (``server.db.group_commit``): the CPU time of a group over its saves.
Then every examinee finishes (``server.seat.router.finish_attempt``: the closing, the scoring
of the latest answers, the audit entry, the event), one after another, each committed: the job
the finish minute's 33 finishes a second bring to the writer.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.auth.cookies import SessionClaim, password_fingerprint
from server.auth.service import CheckedPassword
from server.bench.report import section
from server.bench.seed import PROCTOR_LOGIN, reschedule, seed_bench
from server.bench.servers import fresh_database
from server.config import Settings
from server.db.engine import create_db_engine, make_sessionmaker
from server.db.migrate import upgrade
from server.models import Attempt, ExamRoom, Student, User
from server.seat.api import claim_window, store_save
from server.seat.checkin import check_in_at_seat
from server.seat.saves import Save, SaveStatus
from server.seat.seb import SebHeaders

# The first sign-ins fill the process's caches (the draw's pool, compiled statements): their
# share is reported apart, so the figures are of the steady state an exam's start is in.
WARM_UP_SHARE = 0.2

T = TypeVar("T")


class _OneByOne:
    """Jobs of the writer run one after another, each in a transaction of its own, committed:
    the CPU and wall time of each, the first ``WARM_UP_SHARE`` of them reported apart."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.cpu_ms: list[float] = []
        self.wall_ms: list[float] = []

    def run(self, job: Callable[[Session], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        with self._sessions() as db:
            result = job(db)
            db.commit()
        self.cpu_ms.append((time.process_time() - cpu) * 1000)
        self.wall_ms.append((time.perf_counter() - wall) * 1000)
        return result

    @property
    def warm_up(self) -> int:
        return round(len(self.cpu_ms) * WARM_UP_SHARE)

    def sections(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """``{prefix}cpu`` and ``{prefix}wall``: percentiles past the warm-up."""
        warm = self.warm_up
        return {
            f"{prefix}cpu": section(self.cpu_ms[warm:]),
            f"{prefix}wall": section(self.wall_ms[warm:]),
        }


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
    check_ins = _OneByOne(sessions)
    for examinee in seeded.storm.examinees:
        # What argon2's thread hands the writer: the password already checked.
        checked = CheckedPassword(
            login=examinee.id_code,
            user_id=user_ids[examinee.id_code],
            password_hash=password_hash,
        )
        outcome = check_ins.run(
            partial(
                check_in_at_seat,
                settings=settings,
                seat_id=examinee.seat_id,
                checked=checked,
                language=examinee.language,
                address="10.0.0.1",
                now=datetime.now(UTC),
            )
        )
        if outcome.user_id is None or outcome.refused_reasons is not None:
            raise RuntimeError(f"{examinee.id_code} was not signed in: {outcome}")
    cpu_ms, warm = check_ins.cpu_ms, check_ins.warm_up
    report: dict[str, Any] = {
        "sign_ins": len(cpu_ms),
        "warm_up": warm,
        **check_ins.sections(),
        "cpu_mean_ms": round(sum(cpu_ms[warm:]) / max(1, len(cpu_ms) - warm), 2),
        "warm_up_cpu_mean_ms": round(sum(cpu_ms[:warm]) / max(1, warm), 2),
        "database": engine.dialect.name,
    }
    if saves_each > 0:
        report["saves"] = _saves(
            sessions,
            settings,
            password_hash,
            proctor_id=user_ids[PROCTOR_LOGIN],
            exam_id=seeded.storm.exam_id,
            saves_each=saves_each,
            group=group,
        )
    return report


def _saves(
    sessions: sessionmaker[Session],
    settings: Settings,
    password_hash: str,
    *,
    proctor_id: int,
    exam_id: int,
    saves_each: int,
    group: int,
) -> dict[str, Any]:
    """Admit every attempt, take its window, then store ``saves_each`` saves of each, question
    after question, ``group`` saves to a transaction."""
    # Every examinee and the proctor share the seed's one password hash: one fingerprint.
    fingerprint = password_fingerprint(password_hash)
    with sessions() as db:
        seated = {
            attempt_id: (SessionClaim(user_id, fingerprint), room_id)
            for attempt_id, user_id, room_id in db.execute(
                select(Attempt.id, Student.user_id, Attempt.room_id).join(
                    Student, Student.id == Attempt.student_id
                )
            )
            if user_id is not None and room_id is not None
        }
    claims = {attempt_id: claim for attempt_id, (claim, _room) in seated.items()}
    attempts = sorted(claims)
    seb = SebHeaders(url="")
    # Imported here: the proctor's and the seat's routers pull in the web application's modules.
    from server.proctor.router import admit_in_room
    from server.seat.router import finish_attempt

    proctor = SessionClaim(proctor_id, fingerprint)
    admissions = _OneByOne(sessions)
    for attempt_id in attempts:
        admissions.run(
            partial(
                admit_in_room,
                settings=settings,
                exam_id=exam_id,
                room_id=seated[attempt_id][1],
                attempt_id=attempt_id,
                claim=proctor,
                # Late: the exam was scheduled to start when the sign-ins began.
                late_entry_permitted=True,
                now=datetime.now(UTC),
            )
        )

    def own(attempt_id: int) -> dict[str, Any]:
        """What a seat's job is given of its attempt: the examinee's claim, the id, the headers."""
        return {"claim": claims[attempt_id], "attempt_id": attempt_id, "seb": seb}

    windows: dict[int, str] = {}
    window_claims = _OneByOne(sessions)
    for attempt_id in attempts:
        window = window_claims.run(
            partial(claim_window, settings=settings, **own(attempt_id), now=datetime.now(UTC))
        )
        windows[attempt_id] = window["client"]
    line = [(attempt_id, number) for number in range(1, saves_each + 1) for attempt_id in attempts]

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
    finishes = _OneByOne(sessions)
    for attempt_id in attempts:
        finishes.run(
            partial(finish_attempt, settings=settings, **own(attempt_id), now=datetime.now(UTC))
        )
    return {
        **admissions.sections("admit_"),
        **window_claims.sections("window_"),
        "saves": len(line),
        "group": group,
        "cpu_per_save_mean_ms": round(sum(kept) / max(1, len(kept)), 3),
        "cpu_per_save": section(kept),
        "wall_per_save_mean_ms": round(sum(kept_wall) / max(1, len(kept_wall)), 3),
        **finishes.sections("finish_"),
    }
