"""The seat and the bank: attempt windows and signals, item media, uploads, blueprints.

Revision ID: 9b3e51c07a42
Revises: 6434f8780df9
Create Date: 2026-11-22 10:14:43.981655
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "9b3e51c07a42"
down_revision: str | None = "6434f8780df9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discipline_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_at", server.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["discipline_id"],
            ["disciplines.id"],
            name=op.f("fk_bank_uploads_discipline_id_disciplines"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_bank_uploads_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_uploads")),
    )
    with op.batch_alter_table("bank_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_uploads_discipline_id"), ["discipline_id"], unique=False
        )

    op.create_table(
        "blueprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discipline_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["discipline_id"],
            ["disciplines.id"],
            name=op.f("fk_blueprints_discipline_id_disciplines"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_blueprints_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprints")),
        sa.UniqueConstraint("discipline_id", name=op.f("uq_blueprints_discipline_id")),
    )
    op.create_table(
        "blueprint_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blueprint_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_blueprint_rules_count_positive")),
        sa.CheckConstraint(
            "difficulty IS NULL OR difficulty BETWEEN 1 AND 5",
            name=op.f("ck_blueprint_rules_difficulty"),
        ),
        sa.ForeignKeyConstraint(
            ["blueprint_id"],
            ["blueprints.id"],
            name=op.f("fk_blueprint_rules_blueprint_id_blueprints"),
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_blueprint_rules_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprint_rules")),
        sa.UniqueConstraint(
            "blueprint_id", "position", name=op.f("uq_blueprint_rules_blueprint_id_position")
        ),
    )
    with op.batch_alter_table("blueprint_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blueprint_rules_blueprint_id"), ["blueprint_id"], unique=False
        )

    op.create_table(
        "attempt_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_attempt_signals_attempt_id_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_signals")),
    )
    with op.batch_alter_table("attempt_signals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_signals_attempt_id"), ["attempt_id"], unique=False
        )

    op.create_table(
        "item_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_version_id"],
            ["item_versions.id"],
            name=op.f("fk_item_media_item_version_id_item_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_media")),
        sa.UniqueConstraint(
            "item_version_id", "name", name=op.f("uq_item_media_item_version_id_name")
        ),
    )
    with op.batch_alter_table("item_media", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_media_item_version_id"), ["item_version_id"], unique=False
        )

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_token", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("client_claimed_at", server.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deliverable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("skip_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.drop_column("content")
        batch_op.drop_column("skip_reason")
        batch_op.drop_column("deliverable")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("client_claimed_at")
        batch_op.drop_column("client_token")

    with op.batch_alter_table("item_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_media_item_version_id"))

    op.drop_table("item_media")
    with op.batch_alter_table("attempt_signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_signals_attempt_id"))

    op.drop_table("attempt_signals")
    with op.batch_alter_table("blueprint_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blueprint_rules_blueprint_id"))

    op.drop_table("blueprint_rules")
    op.drop_table("blueprints")
    with op.batch_alter_table("bank_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_uploads_discipline_id"))

    op.drop_table("bank_uploads")
