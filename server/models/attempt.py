"""An examinee's attempt: the frozen paper, the responses, violations, admission and results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models._types import enum_column
from server.models.enums import AttemptState, Language, ResultBasis
from server.models.people import PERCENT, Student


class AdmissionDecision(Base):
    """The gates' verdict for one student and exam, with the facts it was made on.

    Kept append-only: a later decision (after a midterm retake, say) is a new row, so an appeal
    can see what the server knew at each moment.
    """

    __tablename__ = "admission_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    admitted: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"), index=True)
    admission_id: Mapped[int | None] = mapped_column(ForeignKey("admission_decisions.id"))
    state: Mapped[AttemptState] = mapped_column(
        enum_column(AttemptState, "attempt_state"), default=AttemptState.WAITING, index=True
    )
    language: Mapped[Language] = mapped_column(enum_column(Language, "language"))
    signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    admitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late_entry_permitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stored, not recomputed: scheduled start + 60 min (+ room-wide extra time), never moved
    # for a latecomer (R 4.10).
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Highest save sequence number applied; saves carry it so retries are idempotent.
    last_seq: Mapped[int] = mapped_column(default=0)
    # The browser window that holds the attempt. Opening the attempt elsewhere (a reload after a
    # crash, another seat) takes it over; saves from the replaced window are refused and the
    # proctor sees a signal.
    client_token: Mapped[str | None] = mapped_column(String(64))
    client_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept by each save so the proctor's console does not count responses on every event.
    answered: Mapped[int] = mapped_column(default=0)
    last_save_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The proctor turned the student away at the ID check (R 4.3), with the reason said aloud.
    refused_reason: Mapped[str | None] = mapped_column(Text)

    student: Mapped[Student] = relationship()
    paper: Mapped[list[PaperQuestion]] = relationship(order_by="PaperQuestion.position")

    __table_args__ = (UniqueConstraint("exam_id", "student_id"),)


class PaperQuestion(Base):
    """One question of a frozen paper: the exact item version and the option order shown."""

    __tablename__ = "paper_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    position: Mapped[int] = mapped_column()
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"))
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"))
    option_order: Mapped[list[int]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "item_version_id"),
    )


class Response(Base):
    """One save. Append-only: the answer to a question is the one with the highest ``seq``."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    paper_question_id: Mapped[int] = mapped_column(ForeignKey("paper_questions.id"), index=True)
    seq: Mapped[int] = mapped_column()
    answer: Mapped[list[int] | dict[str, Any]] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("attempt_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )


class AttemptSignal(Base):
    """Something the seat's page noticed (focus lost, copy, a second window): for the proctor.

    A signal is not a verdict; only a proctor records a violation (R 4.8, R 4.9).
    """

    __tablename__ = "attempt_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Violation(Base):
    """A proctor's record of a breach (R 4.8, R 4.9): exam 0 and final F while it stands."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Undoing is the registrar's, with a reason; the row stays.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class Result(Base):
    """The grade for one student, exam and discipline."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    basis: Mapped[ResultBasis] = mapped_column(enum_column(ResultBasis, "result_basis"))
    exam_percent: Mapped[Decimal] = mapped_column(PERCENT)
    final_percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    letter: Mapped[str | None] = mapped_column(String(2))
    points: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    rounding: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("exam_id", "student_id", "discipline_id"),
        CheckConstraint("exam_percent >= 0 AND exam_percent <= 100", name="exam_percent"),
    )
