"""Alembic is the only way the schema is made: the migrations must build exactly the models."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from server.db import Base, create_db_engine
from server.db.migrate import alembic_config, upgrade


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_model_table_exists_after_upgrade(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_base_and_upgrade_again(fresh_database_url: Callable[[], str]) -> None:
    engine = create_db_engine(fresh_database_url())
    try:
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_files_are_named_by_date() -> None:
    from server.db.migrate import REPO_ROOT

    names = [p.name for p in (REPO_ROOT / "migrations" / "versions").glob("*.py")]
    assert names
    for name in names:
        stamp, _, slug = name.partition("_")
        assert len(stamp) == len("2026-11-22-1000"), name
        assert slug.endswith(".py")
