"""``emtihan bench`` end to end, small, so the harness itself cannot rot.

Each test runs the real command (the real server processes, the real database: SQLite, or the
PostgreSQL cluster of ``make test``'s second pass) and reads its JSON. Nothing here asserts a
latency: timing belongs to the benchmarks (docs/BENCHMARKS.md); these runs check that every
phase happened, nothing failed, and the promises held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import SERVER_URL_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("sign_in", "start", "save", "submit")


def bench(*args: str, timeout: float = 150) -> dict[str, Any]:
    database = ["--db", "sqlite"]
    if os.environ.get(SERVER_URL_ENV):
        database = ["--db", "postgresql", "--database-url", os.environ[SERVER_URL_ENV]]
    # The developer's EMTIHAN_* must not leak into the servers the bench starts.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMTIHAN_", "LC_"))}
    env.update(LANG="C.UTF-8", _TYPER_STANDARD_TRACEBACK="1")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("emtihan")), "bench", "--json", *database, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_small_storm_completes_without_a_fault() -> None:
    report = bench(
        "--examinees=50",
        "--duration=20",
        "--arrival=10",
        "--finish-window=10",
        "--saturate=2",
        "--saturate-clients=8",
        "--seed=2026",
    )

    for name in SECTIONS:
        assert set(report[name]) >= {"count", "p50_ms", "p99_ms", "p999_ms"}, name
    assert report["sign_in"]["count"] == 50
    assert report["start"]["count"] == 50
    assert report["submit"]["count"] == 50
    # 20 s at one answer every 4–6 s, plus the finish window.
    assert report["save"]["count"] >= 50 * 3
    # Every save falls in one of the storm's minutes: the arrivals, the steady phase, the finish.
    phases = [report["extra"]["sections"][f"save_{p}"] for p in ("arrival", "steady", "finish")]
    assert sum(phase["count"] for phase in phases) == report["save"]["count"]
    assert phases[1]["count"] > 0
    assert report["errors"] == 0, report["error_kinds"]
    assert report["lost_answers"] == 0
    assert report["deadlines_moved"] is False
    events = report["proctor_event"]
    assert events["consoles"] == 2  # the room's and the whole exam's
    assert events["expected"] == 2 * events["stored"] > 0
    assert events["delivered"] == events["expected"]
    assert report["lost_events"] == 0
    assert report["peak_rss_mb"] > 0
    assert set(report["generator"]) >= {"cpu_percent", "schedule_lag_p99_ms", "valid"}
    baseline = report["baseline"]
    assert baseline["save_per_s"] > 0
    assert baseline["insert_per_s"] > 0
    assert baseline["save_ratio"] > 0


def test_a_crash_in_the_steady_phase_loses_no_acknowledged_answer() -> None:
    report = bench(
        "--examinees=20",
        "--duration=12",
        "--arrival=5",
        "--finish-window=5",
        "--kill-at=5",
        "--saturate=0",
        "--seed=7",
    )

    assert report["kill"]["at_s"] == 5
    assert report["kill"]["down_ms"] > 0
    assert report["save"]["count"] > 0
    assert report["submit"]["count"] == 20
    assert report["lost_answers"] == 0
    assert report["deadlines_moved"] is False
