"""The ``emtihan`` command against a real (committed) database of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from server.cli import app
from server.config import get_settings
from server.db import create_db_engine

runner = CliRunner()


def test_demo_then_audit_verify(cli_database: str) -> None:
    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "registrar" in demo.output
    assert "Demo#2026pass" in demo.output
    verify = runner.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0
    assert "audit log intact" in verify.output


def test_audit_verify_fails_on_a_forged_entry(cli_database: str) -> None:
    assert runner.invoke(app, ["demo"]).exit_code == 0
    engine = create_db_engine(cli_database)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        connection.execute(text("UPDATE audit_log SET subject = 'forged' WHERE seq = 1"))
    engine.dispose()
    verify = runner.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 1
    assert "entry 1: content does not match its hash" in verify.output


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 8 characters"),
        ("alllowercase#1", "capital"),
        ("NoDigits#here", "digit"),
        ("NoSpecial123", "special"),
    ],
)
def test_user_create_enforces_the_password_policy(
    cli_database: str, password: str, fragment: str
) -> None:
    result = runner.invoke(
        app,
        ["user", "create", "proctor2", "--name", "P", "--role", "proctor", "--password", password],
    )
    assert result.exit_code == 1
    assert fragment in result.output


def test_user_create(cli_database: str) -> None:
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "proctor2",
            "--name",
            "P",
            "--role",
            "proctor",
            "--password",
            "Good#Pass123",
        ],
    )
    assert result.exit_code == 0, result.output
    again = runner.invoke(
        app,
        [
            "user",
            "create",
            "proctor2",
            "--name",
            "P",
            "--role",
            "proctor",
            "--password",
            "Good#Pass123",
        ],
    )
    assert again.exit_code == 1
    assert "is taken" in again.output


def test_roster_import_all_or_nothing(cli_database: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo"]).exit_code == 0
    header = "id_code,full_name,group,discipline,r1,r2,attendance_percent,tuition_debt\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "Z0001,A,CS-25,MATH101,50,50,90,no\nZ0002,B,XX,MATH101,50,50,90,no\n")
    result = runner.invoke(app, ["roster", "import", str(bad), "--term", "DEMO-TERM"])
    assert result.exit_code == 1
    assert "row 3, column group: Unknown group code “XX”." in result.output
    good = tmp_path / "good.csv"
    good.write_text(header + "Z0001,A,CS-25,MATH101,50,50,90,no\n")
    result = runner.invoke(app, ["roster", "import", str(good), "--term", "DEMO-TERM"])
    assert result.exit_code == 0, result.output
    assert "1 new students" in result.output


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LC_ALL": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, "kk"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
    ],
)
def test_cli_speaks_the_terminals_language(environ: dict[str, str], expected: str) -> None:
    from server.cli import operator_locale

    assert operator_locale(environ) == expected


def test_cli_refusal_in_russian(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "ru_RU.UTF-8")
    result = runner.invoke(
        app, ["user", "create", "p3", "--name", "P", "--role", "proctor", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "8" in result.output
    assert "password" not in result.output.lower()


def _corpus() -> Path:
    import os

    shared = Path(
        os.environ.get("EMTIHAN_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared")
    )
    corpus = shared / "corpora"
    assert corpus.is_dir(), f"the shared question-bank corpus is missing at {corpus}"
    return corpus


def test_bank_inspect_json_follows_the_contract() -> None:
    import json

    path = _corpus() / "gift" / "moodle__giftformat_test.php__test_import_multichoice.gift.txt"
    result = runner.invoke(app, ["bank", "inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (file,) = report["files"]
    assert file["format"] == "gift"
    assert file["ok"] is True
    assert file["questions"][0]["type"] == "single_choice"
    assert set(file) == {"path", "format", "ok", "questions", "categories", "errors", "warnings"}


def test_bank_inspect_exit_codes(tmp_path: Path) -> None:
    broken = _corpus() / "other" / "moodle__multianswer__broken_multianswer_1.txt"
    assert runner.invoke(app, ["bank", "inspect", str(broken)]).exit_code == 1
    missing = runner.invoke(app, ["bank", "inspect", str(tmp_path / "nope.gift")])
    assert missing.exit_code == 2


def test_seat_links_are_signed_and_lead_to_the_seat(cli_database: str) -> None:
    from server.seat.links import seat_from_token

    assert runner.invoke(app, ["demo"]).exit_code == 0
    result = runner.invoke(app, ["seat", "links", "--room", "LAB-301", "--base-url", "http://lab/"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 20
    label, url = lines[0].split("\t")
    assert label == "PC-01"
    assert url.startswith("http://lab/seat/")
    get_settings.cache_clear()
    assert seat_from_token(get_settings(), url.rsplit("/", 1)[1]) is not None
    assert runner.invoke(app, ["seat", "links", "--room", "NOPE"]).exit_code == 1


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The options ``emtihan serve`` hands to uvicorn, which is not started."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: calls.append(options))
    return calls


def _served_with(uvicorn_runs: list[dict[str, object]], flags: list[str]) -> dict[str, object]:
    result = runner.invoke(app, ["serve", *flags])
    assert result.exit_code == 0, result.output
    return uvicorn_runs[0]


@pytest.mark.parametrize(("flags", "logged"), [([], False), (["--access-log"], True)])
def test_serve_leaves_the_access_log_off_unless_asked(
    uvicorn_runs: list[dict[str, object]], flags: list[str], logged: bool
) -> None:
    options = _served_with(uvicorn_runs, ["--port", "8123", *flags])

    assert options["access_log"] is logged
    assert options["port"] == 8123


@pytest.mark.parametrize(("flags", "loop"), [([], "asyncio"), (["--loop", "uvloop"], "uvloop")])
def test_serve_runs_asyncio_s_loop_unless_asked(
    uvicorn_runs: list[dict[str, object]], flags: list[str], loop: str
) -> None:
    assert _served_with(uvicorn_runs, flags)["loop"] == loop


@pytest.mark.parametrize(("flags", "seconds"), [([], 20), (["--keep-alive", "45"], 45)])
def test_serve_keeps_idle_connections_longer_than_the_page_is_quiet(
    uvicorn_runs: list[dict[str, object]], flags: list[str], seconds: int
) -> None:
    options = _served_with(uvicorn_runs, flags)

    assert options["timeout_keep_alive"] == seconds
    assert options["ws_per_message_deflate"] is False


def test_serve_refuses_a_keep_alive_of_zero(uvicorn_runs: list[dict[str, object]]) -> None:
    result = runner.invoke(app, ["serve", "--keep-alive", "0"])

    assert result.exit_code != 0
    assert uvicorn_runs == []
