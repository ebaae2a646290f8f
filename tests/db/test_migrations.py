"""Alembic is the only way the schema is made: the migrations must build exactly the models."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, text

from server.auth.passwords import UNUSABLE_PASSWORD, verify_key, verify_password
from server.db import Base, create_db_engine, utcnow
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


def test_passwords_stored_as_their_key_become_its_sha256_and_still_match(
    fresh_database_url: Callable[[], str],
) -> None:
    """2026-12-06-0800: a user keeps their password; the stored key is no key any more."""
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32)
    engine = create_db_engine(fresh_database_url())
    try:
        upgrade(engine, "5c1d7e93a0b4")
        with engine.begin() as connection:
            for login, password_hash in [
                ("240101001", old.hash("First#Pass1")),
                ("240101002", old.hash("Second#Pass2")),
                ("240101003", UNUSABLE_PASSWORD),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO users (login, full_name, role, password_hash, "
                        "password_changed_at, locale, is_active, created_at) VALUES (:login, "
                        "'A Student', 'student', :hash, :now, 'kk', :active, :now)"
                    ),
                    {"login": login, "hash": password_hash, "now": utcnow(), "active": True},
                )
        before = _hashes(engine)
        upgrade(engine)
        after = _hashes(engine)

        assert after["240101003"] == UNUSABLE_PASSWORD
        for login, password in [("240101001", "First#Pass1"), ("240101002", "Second#Pass2")]:
            assert after[login].startswith("$emtihan-argon2id$v=19$m=19456,t=2,p=1$")
            assert verify_password(after[login], password)
            assert not verify_password(after[login], "Other#Pass3")
            old_key = base64.b64decode(before[login].rsplit("$", 1)[1] + "==")
            assert verify_key(after[login], old_key)  # the page derives this very key
            assert before[login].rsplit("$", 1)[1] not in after[login]

        # Going back would lock both out: refused, and nothing changes.
        config = alembic_config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            with pytest.raises(RuntimeError, match="2 password"):
                command.downgrade(config, "5c1d7e93a0b4")
        assert _hashes(engine) == after
    finally:
        engine.dispose()


def _hashes(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT login, password_hash FROM users")).all()
    return {login: password_hash for login, password_hash in rows}
