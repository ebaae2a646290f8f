"""Accounts (every role), students and their enrolments with the admission facts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models._types import enum_column
from server.models.enums import Language, Role
from server.models.organisation import AcademicTerm, Discipline, StudentGroup

PERCENT = Numeric(5, 2)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Students log in with their ID code, unique for the whole period of study (H).
    login: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locale: Mapped[Language] = mapped_column(enum_column(Language, "locale"), default=Language.KK)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One failed login, kept to rate-limit guessing per login name and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_code: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[int] = mapped_column(ForeignKey("student_groups.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)

    group: Mapped[StudentGroup] = relationship()
    user: Mapped[User | None] = relationship()


class Enrolment(Base):
    """A student in a discipline for a term, with the facts the admission gates read."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("academic_terms.id"), index=True)
    r1: Mapped[Decimal | None] = mapped_column(PERCENT)
    r2: Mapped[Decimal | None] = mapped_column(PERCENT)
    attendance_percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    tuition_debt: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    student: Mapped[Student] = relationship()
    discipline: Mapped[Discipline] = relationship()
    term: Mapped[AcademicTerm] = relationship()

    __table_args__ = (
        UniqueConstraint("student_id", "discipline_id", "term_id"),
        CheckConstraint("r1 IS NULL OR (r1 >= 0 AND r1 <= 100)", name="r1_percent"),
        CheckConstraint("r2 IS NULL OR (r2 >= 0 AND r2 <= 100)", name="r2_percent"),
        CheckConstraint(
            "attendance_percent IS NULL OR (attendance_percent >= 0 AND attendance_percent <= 100)",
            name="attendance_percent",
        ),
    )


class MidtermRetakePermission(Base):
    """The dean's written permission to retake a midterm individually before the session (H)."""

    __tablename__ = "midterm_retake_permissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    midterm: Mapped[int] = mapped_column()
    document_ref: Mapped[str] = mapped_column(String(100))
    granted_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Filled when the registrar enters the retaken rating.
    previous_value: Mapped[Decimal | None] = mapped_column(PERCENT)
    new_value: Mapped[Decimal | None] = mapped_column(PERCENT)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("midterm IN (1, 2)", name="midterm_number"),)
