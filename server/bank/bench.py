"""Import-speed benchmark: `python -m server.bank.bench [--items N] [--runs R]`.

Each run migrates a new temporary SQLite database, creates one discipline, and imports the same
generated N-item GIFT bank into it (the question bank's own benchmark bank: choice,
multiple-response, true/false, short-answer, numerical and matching items in 20 topics). The
timing covers what `emtihan bank import` does after reading the file: parsing, checks, the plan
and every insert, up to the commit. It prints items per second at the median (p50) and the
slowest (p99 of 5 runs is the slowest run) timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from question_bank import inspect_bytes
from question_bank.bench import gift_bank
from server.bank import importer
from server.db import create_db_engine, make_sessionmaker, utcnow
from server.db.migrate import upgrade
from server.models import Department, Discipline, Language


def _one_run(folder: Path, run: int, data: bytes) -> tuple[float, int]:
    engine = create_db_engine(f"sqlite:///{folder / f'bench-{run}.db'}")
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as db:
            department = Department(code="BENCH", name="Bench")
            db.add(department)
            db.flush()
            discipline = Discipline(code="BENCH-1", name="Bench", department_id=department.id)
            db.add(discipline)
            db.commit()
            started = time.perf_counter()
            summary = importer.import_reports(
                db,
                discipline=discipline,
                reports=[inspect_bytes(data, "bench.gift")],
                language=Language.KK,
                actor=None,
                acknowledge_warnings=True,
                approve=True,
                source="bench",
                now=utcnow(),
            )
            db.commit()
            return time.perf_counter() - started, summary.created
    finally:
        engine.dispose()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with 5 runs, p50 is the middle run and p99 the slowest."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    data = gift_bank(args.items).encode("utf-8")
    timings: list[float] = []
    created = 0
    with tempfile.TemporaryDirectory(prefix="emtihan-bank-bench-") as folder:
        for run in range(args.runs):
            seconds, created = _one_run(Path(folder), run, data)
            timings.append(seconds)
    p50 = percentile(timings, 0.50)
    p99 = percentile(timings, 0.99)
    print(
        f"imported {created} items into SQLite, {args.runs} runs: "
        f"p50 {p50:.2f} s = {created / p50:,.0f} items/s; "
        f"p99 {p99:.2f} s = {created / p99:,.0f} items/s; "
        f"mean {statistics.fmean(timings):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
