"""The bank's revision: a token the database changes whenever a paper's draw could change.

Revision ID: 5c1d7e93a0b4
Revises: ea2a54be848f
Create Date: 2026-12-06 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1d7e93a0b4"
down_revision: str | None = "ea2a54be848f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from the models: a migration keeps the schema of its day.
_DRAW_TABLES = ("items", "item_versions", "item_texts", "blueprints", "blueprint_rules")
_VERBS = ("INSERT", "UPDATE", "DELETE")


def _random(sqlite: bool) -> str:
    """A random 64-bit (SQLite) or 62-bit (PostgreSQL: a double scaled) integer."""
    return "random()" if sqlite else "(random() * 4.0e18)::bigint"


def upgrade() -> None:
    op.create_table(
        "bank_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_revision")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Random from the first: two databases one process has seen never share a token.
    random = _random(sqlite)
    op.execute(f"INSERT INTO bank_revision (id, token) VALUES (1, {random})")  # noqa: S608 - constants
    if sqlite:
        # SQLite has row triggers only: a bank import changes the token once per row, in the
        # import's own transaction.
        for name in _DRAW_TABLES:
            for verb in _VERBS:
                trigger = f"{name}_{verb.lower()}_bank_revision AFTER {verb} ON {name}"
                change = f"UPDATE bank_revision SET token = {random}"  # noqa: S608 - constants
                op.execute(f"CREATE TRIGGER {trigger} BEGIN {change}; END")
        return
    change = f"UPDATE bank_revision SET token = {random}"  # noqa: S608 - constants
    op.execute(
        "CREATE FUNCTION bank_changed() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {change}; RETURN NULL; END $$"
    )
    for name in _DRAW_TABLES:
        op.execute(
            f"CREATE TRIGGER {name}_bank_revision "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bank_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _DRAW_TABLES:
            for verb in _VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{verb.lower()}_bank_revision")
    else:
        for name in _DRAW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_bank_revision ON {name}")
        op.execute("DROP FUNCTION IF EXISTS bank_changed()")
    op.drop_table("bank_revision")
