"""Signing in at the seat checks the password before its write takes SQLite's write lock.

At an exam's start a whole university signs in within a minute, and argon2 takes ~20 ms of a
core per password. Checked inside the write, it would hold every other writer of the process
(the saves among them) for that time. Here the app runs on a SQLite file of its own, not in the
test's one transaction, so the write turn is the one production uses; BUSY_TIMEOUT_S is 1 s, so
a writer kept waiting fails instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.app import create_app
from server.auth import passwords
from server.auth import service as auth_service
from server.config import Settings
from server.db import create_db_engine, make_sessionmaker
from server.db import engine as engine_module
from server.db.engine import write_intent
from server.db.migrate import upgrade
from tests import factories
from tests.seat.factories import World, create_world, sign_in_at_seat


@pytest.fixture
def file_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 1)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'seat.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def world(file_engine: Engine) -> World:
    with make_sessionmaker(file_engine)() as db:
        world = create_world(db)
        db.commit()
        return world


def _probe_writes_during_the_check(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """While the password is being checked, another writer of the process writes."""
    probes: list[str] = []
    verify: Callable[[str | None, str], bool] = passwords.verify_password

    def verify_while_another_writes(password_hash: str | None, password: str) -> bool:
        with write_intent(engine).begin() as connection:
            connection.execute(text("UPDATE rooms SET name = name"))
        probes.append("written")
        return verify(password_hash, password)

    monkeypatch.setattr(auth_service, "verify_password", verify_while_another_writes)
    return probes


@pytest.mark.parametrize(
    ("password", "status"),
    [(factories.PASSWORD, 303), ("Wrong#Pass1", 401)],
    ids=["right password", "wrong password"],
)
def test_another_writer_writes_while_the_password_is_checked(
    settings: Settings,
    file_engine: Engine,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    status: int,
) -> None:
    probes = _probe_writes_during_the_check(file_engine, monkeypatch)
    app = create_app(settings)
    app.state.engine = file_engine
    app.state.sessionmaker = make_sessionmaker(file_engine)
    with TestClient(app, base_url="https://testserver") as client:
        assert sign_in_at_seat(client, settings, world, password=password).status_code == status
    assert probes == ["written"]
