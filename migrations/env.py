"""Alembic environment: the only way Emtihan's schema is made."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import server.models  # noqa: F401  (registers every table)
from server.db import Base
from server.db.engine import create_db_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from server.config import get_settings

        url = get_settings().resolved_database_url()
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Emtihan migrations run online only: use `emtihan db upgrade`.")
run_migrations_online()
