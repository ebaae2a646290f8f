"""The live console: room events, seat enrolment, Safe Exam Browser keys, refused attempts.

Revision ID: ea2a54be848f
Revises: 9b3e51c07a42
Create Date: 2026-11-22 11:06:32.791068
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "ea2a54be848f"
down_revision: str | None = "9b3e51c07a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES_BEFORE = ("waiting", "admitted", "in_progress", "submitted", "timed_out", "removed")
_STATES_AFTER = (*_STATES_BEFORE, "refused")


def _states(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{state}'" for state in states)


def upgrade() -> None:
    op.create_table(
        "room_proctors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_room_proctors_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_room_proctors_exam_id_exams")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_proctors_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_room_proctors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_proctors")),
        sa.UniqueConstraint(
            "exam_id", "room_id", "user_id", name=op.f("uq_room_proctors_exam_id_room_id_user_id")
        ),
    )
    with op.batch_alter_table("room_proctors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_proctors_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_room_proctors_user_id"), ["user_id"], unique=False)

    op.create_table(
        "seat_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("browser", sa.String(length=300), nullable=False),
        sa.Column("requested_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", server.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["users.id"], name=op.f("fk_seat_enrolments_confirmed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_seat_enrolments_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["seat_id"], ["seats.id"], name=op.f("fk_seat_enrolments_seat_id_seats")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_enrolments")),
    )
    with op.batch_alter_table("seat_enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seat_enrolments_room_id"), ["room_id"], unique=False)

    op.create_table(
        "room_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_room_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_room_events_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_room_events_exam_id_exams")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_events_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_events")),
        sa.UniqueConstraint(
            "exam_id", "room_id", "seq", name=op.f("uq_room_events_exam_id_room_id_seq")
        ),
    )
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_events_attempt_id"), ["attempt_id"], unique=False)

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_save_at", server.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("refused_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_attempts_attempt_state"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_attempts_attempt_state"), sa.text(f"state IN ({_states(_STATES_AFTER)})")
        )

    with op.batch_alter_table("exam_rooms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seb_config_keys", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("seb_browser_exam_keys", sa.JSON(), nullable=False, server_default="[]")
        )

    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("enrolment_generation", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("enrolled_at", server.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_seen_at", server.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("browser", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("seb_valid", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.drop_column("seb_valid")
        batch_op.drop_column("browser")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("enrolled_at")
        batch_op.drop_column("enrolment_generation")

    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.drop_column("seb_browser_exam_keys")
        batch_op.drop_column("seb_config_keys")

    with op.batch_alter_table("exam_rooms", schema=None) as batch_op:
        batch_op.drop_column("event_seq")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("refused_reason")
        batch_op.drop_constraint(op.f("ck_attempts_attempt_state"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_attempts_attempt_state"), sa.text(f"state IN ({_states(_STATES_BEFORE)})")
        )
        batch_op.drop_column("last_save_at")
        batch_op.drop_column("answered")

    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_events_attempt_id"))

    op.drop_table("room_events")
    with op.batch_alter_table("seat_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seat_enrolments_room_id"))

    op.drop_table("seat_enrolments")
    with op.batch_alter_table("room_proctors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_proctors_user_id"))
        batch_op.drop_index(batch_op.f("ix_room_proctors_exam_id"))

    op.drop_table("room_proctors")
