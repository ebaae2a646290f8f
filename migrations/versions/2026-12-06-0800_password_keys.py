"""Passwords stored as the SHA-256 of their key, not the key.

A password's key is its argon2id hash. Until now the database held the key itself; the sign-in
page now derives the key on the workstation and signs in with it, so a stored key would let
whoever read the database sign in. Each ``$argon2id$`` hash becomes ``$emtihan-argon2id$`` with
the same costs and salt and the SHA-256 of the key (docs/SECURITY.md, "Passwords"): the same
password still matches, and nobody has to be given a new one.

Revision ID: d20ba6a94719
Revises: 5c1d7e93a0b4
Create Date: 2026-12-06 08:00:00.000000
"""

import base64
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d20ba6a94719"
down_revision: str | None = "5c1d7e93a0b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from the application: a migration keeps the format of its day.
_OLD = "$argon2id$"
_NEW = "$emtihan-argon2id$"
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("password_hash", sa.String))


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def converted(old: str) -> str:
    """``$argon2id$v=19$m=…,t=…,p=…$salt$key`` → ``$emtihan-argon2id$v=19$m=…$salt$sha256(key)``."""
    _, _, version, costs, salt, key = old.split("$")
    digest = base64.b64encode(hashlib.sha256(_unb64(key)).digest()).decode("ascii").rstrip("=")
    return f"{_NEW}{version}${costs}${salt}${digest}"


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_users.c.id, _users.c.password_hash).where(
            _users.c.password_hash.startswith(_OLD, autoescape=True)
        )
    ).all()
    for user_id, old in rows:
        connection.execute(
            _users.update().where(_users.c.id == user_id).values(password_hash=converted(old))
        )


def downgrade() -> None:
    # The key cannot be had back from its SHA-256: the older code would refuse every password.
    # Refuse here instead, before anyone is locked out.
    connection = op.get_bind()
    kept = connection.execute(
        sa.select(sa.func.count())
        .select_from(_users)
        .where(_users.c.password_hash.startswith(_NEW, autoescape=True))
    ).scalar_one()
    if kept:
        raise RuntimeError(
            f"{kept} password(s) are stored as the SHA-256 of their key, which the code before "
            "this revision cannot check: downgrading would leave those accounts unable to sign "
            "in. Issue them new passwords after downgrading, or stay at this revision."
        )
