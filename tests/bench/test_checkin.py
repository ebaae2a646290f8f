"""``emtihan bench-check-in``: the writer's check-in and save jobs alone, small, so it cannot rot.

Nothing here asserts a time (docs/BENCHMARKS.md holds the figures): only that every examinee
was signed in and drew a paper, every save was stored, and that the report has its sections.
"""

from __future__ import annotations

import os

from typer.testing import CliRunner

from server.bench.checkin import run_checkin_bench
from server.cli import app
from tests.conftest import SERVER_URL_ENV


def _database() -> dict[str, str | None]:
    server_url = os.environ.get(SERVER_URL_ENV)
    return {"db": "postgresql" if server_url else "sqlite", "server_url": server_url}


def test_every_examinee_is_checked_in_and_timed() -> None:
    report = run_checkin_bench(sign_ins=20, **_database())  # type: ignore[arg-type]
    assert report["sign_ins"] == 20
    assert report["warm_up"] == 4
    for name in ("cpu", "wall"):
        assert report[name]["count"] == 16
        assert 0 < report[name]["p50_ms"] <= report[name]["p99_ms"]
    assert report["cpu_mean_ms"] > 0
    assert report["database"] == _database()["db"]


def test_every_save_is_stored_and_timed_per_group() -> None:
    report = run_checkin_bench(sign_ins=10, saves_each=3, group=4, **_database())  # type: ignore[arg-type]
    saves = report["saves"]
    assert saves["saves"] == 30
    assert saves["group"] == 4
    # 30 saves in groups of 4: 8 groups, the first of them (a fifth, rounded) left out as warm-up.
    assert saves["cpu_per_save"]["count"] == 6
    assert saves["cpu_per_save_mean_ms"] > 0
    # The 10 were admitted, took their windows, and then finish, one by one: 2 of each left
    # out as warm-up.
    for name in (
        "admit_cpu",
        "admit_wall",
        "window_cpu",
        "window_wall",
        "finish_cpu",
        "finish_wall",
    ):
        assert saves[name]["count"] == 8
        assert 0 < saves[name]["p50_ms"] <= saves[name]["p99_ms"]


def test_the_command_prints_one_line_or_json() -> None:
    arguments = ["bench-check-in", "--sign-ins", "10"]
    if os.environ.get(SERVER_URL_ENV):
        arguments += ["--db", "postgresql", "--database-url", os.environ[SERVER_URL_ENV]]
    line = CliRunner().invoke(app, arguments)
    assert line.exit_code == 0, line.output
    assert "10 check-ins on" in line.output
    assert "CPU mean" in line.output
    assert "saves in groups" not in line.output
    with_saves = CliRunner().invoke(app, [*arguments, "--saves-each", "2", "--group", "5"])
    assert with_saves.exit_code == 0, with_saves.output
    assert "20 saves in groups of 5: CPU per save mean" in with_saves.output
    assert "10 admissions, one by one: CPU p50" in with_saves.output
    assert "10 windows taken, one by one: CPU p50" in with_saves.output
    assert "10 finishes, one by one: CPU p50" in with_saves.output
    as_json = CliRunner().invoke(app, [*arguments, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"sign_ins": 10' in as_json.output


def test_an_unknown_database_is_refused() -> None:
    refused = CliRunner().invoke(app, ["bench-check-in", "--db", "oracle"])
    assert refused.exit_code == 2
    assert "sqlite or postgresql" in refused.output
