"""Departments, disciplines, academic terms, exam sessions, groups, rooms and seats."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Discipline(Base):
    __tablename__ = "disciplines"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    credits: Mapped[int] = mapped_column(default=5)

    department: Mapped[Department] = relationship()

    __table_args__ = (CheckConstraint("credits > 0", name="credits_positive"),)


class AcademicTerm(Base):
    __tablename__ = "academic_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_ordered"),)


class ExamSession(Base):
    """One of the two examination sessions of an academic year."""

    __tablename__ = "exam_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("academic_terms.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)

    term: Mapped[AcademicTerm] = relationship()

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_ordered"),)


class StudentGroup(Base):
    __tablename__ = "student_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)


class Room(Base):
    """A computer lab."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    seats: Mapped[list[Seat]] = relationship(back_populates="room", order_by="Seat.label")


class Seat(Base):
    """A lab workstation."""

    __tablename__ = "seats"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    label: Mapped[str] = mapped_column(String(32))
    hostname: Mapped[str | None] = mapped_column(String(200))
    # Raised at every enrolment: a seat cookie carries the generation it was issued for, so
    # re-enrolling a seat (a replaced PC) invalidates the old PC's cookie.
    enrolment_generation: Mapped[int] = mapped_column(default=0)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The workstation's last heartbeat and what it said about itself, for room preparation.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    browser: Mapped[str | None] = mapped_column(String(300))
    seb_valid: Mapped[bool | None] = mapped_column(Boolean)

    room: Mapped[Room] = relationship(back_populates="seats")

    __table_args__ = (UniqueConstraint("room_id", "label"),)
