"""The server's own clock closes attempts: the sweep on a real, committed database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server.app import create_app
from server.config import Settings
from server.db import create_db_engine, make_sessionmaker, utcnow
from server.db.migrate import upgrade
from server.models import Attempt, AttemptState, Result
from server.seat.sweeper import sweep_once
from tests.seat.conftest import sit
from tests.seat.factories import create_world


@pytest.fixture
def committed(fresh_database_url: Callable[[], str]) -> Iterator[Engine]:
    engine = create_db_engine(fresh_database_url())
    upgrade(engine)
    yield engine
    engine.dispose()


def _app(engine: Engine, tmp_path: Path, **overrides: object) -> FastAPI:
    settings = Settings(
        instance_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        transport_grace_seconds=0,
        **overrides,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    return app


def _expired_attempt(engine: Engine, settings: Settings) -> int:
    with Session(engine) as db:
        # The exam started 61 minutes ago: its one hour is over.
        world = create_world(db, start=utcnow() - timedelta(minutes=61))
        attempt_id = sit(db, settings, world).attempt.id
        db.commit()
    return attempt_id


def test_a_sweep_closes_and_scores_what_is_due(committed: Engine, tmp_path: Path) -> None:
    app = _app(committed, tmp_path, deadline_sweeper=False)
    attempt_id = _expired_attempt(committed, app.state.settings)
    assert sweep_once(app) == 1
    assert sweep_once(app) == 0
    with Session(committed) as db:
        assert db.get_one(Attempt, attempt_id).state == AttemptState.TIMED_OUT
        assert db.query(Result).filter_by(attempt_id=attempt_id).count() == 1


def test_the_running_server_sweeps_by_itself(committed: Engine, tmp_path: Path) -> None:
    app = _app(committed, tmp_path, deadline_sweep_seconds=0.05)
    attempt_id = _expired_attempt(committed, app.state.settings)
    with TestClient(app):
        for _ in range(100):
            with Session(committed) as db:
                if db.get_one(Attempt, attempt_id).state == AttemptState.TIMED_OUT:
                    break
            time.sleep(0.05)
    with Session(committed) as db:
        assert db.get_one(Attempt, attempt_id).state == AttemptState.TIMED_OUT
