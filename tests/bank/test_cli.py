"""`emtihan bank import` against a database of its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from server.cli import app
from server.config import get_settings
from server.db import create_db_engine, make_sessionmaker
from server.models import Item
from tests.bank.factories import GIFT
from tests.factories import create_discipline

runner = CliRunner()


def _items(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return db.execute(select(func.count()).select_from(Item)).scalar_one()
    finally:
        engine.dispose()


def test_bank_import(cli_database: str, tmp_path: Path) -> None:
    engine = create_db_engine(get_settings().resolved_database_url())
    with make_sessionmaker(engine)() as db:
        create_discipline(db, code="CLI-1")
        db.commit()
    engine.dispose()
    good = tmp_path / "bank.gift"
    good.write_text(GIFT, encoding="utf-8")
    warned = tmp_path / "warned.gift"
    warned.write_text("::W:: Which? {~a ~b}\n", encoding="utf-8")
    bad = tmp_path / "bad.gift"
    bad.write_text("::N:: Number? {#x}\n", encoding="utf-8")

    refused = runner.invoke(
        app, ["bank", "import", str(good), str(bad), "--discipline", "CLI-1", "--language", "en"]
    )
    assert refused.exit_code == 1
    assert "bad.gift" in refused.output
    assert "error" in refused.output
    assert _items(cli_database) == 0

    unacknowledged = runner.invoke(
        app, ["bank", "import", str(warned), "--discipline", "CLI-1", "--language", "en"]
    )
    assert unacknowledged.exit_code == 1
    assert "warning" in unacknowledged.output

    done = runner.invoke(
        app,
        ["bank", "import", str(good), str(warned), "--discipline", "CLI-1", "--language", "en",
         "--acknowledge-warnings", "--approve"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "4 new items" in done.output
    assert _items(cli_database) == 4

    wrong = runner.invoke(
        app, ["bank", "import", str(good), "--discipline", "CLI-1", "--language", "de"]
    )
    assert wrong.exit_code == 2
