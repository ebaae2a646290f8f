"""A scheduled exam: its disciplines (25 questions each), groups, rooms and start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models._types import enum_column
from server.models.enums import ExamStatus
from server.models.organisation import Discipline, ExamSession, Room, StudentGroup


class Exam(Base):
    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    status: Mapped[ExamStatus] = mapped_column(
        enum_column(ExamStatus, "exam_status"), default=ExamStatus.SCHEDULED
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Safe Exam Browser: when any key is set the exam's pages refuse other browsers. Config keys
    # are checked against X-SafeExamBrowser-ConfigKeyHash, browser exam keys against
    # X-SafeExamBrowser-RequestHash (lowercase hex SHA-256 of the absolute URL + the key).
    seb_config_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    seb_browser_exam_keys: Mapped[list[str]] = mapped_column(JSON, default=list)

    exam_session: Mapped[ExamSession] = relationship()
    disciplines: Mapped[list[ExamDiscipline]] = relationship(
        cascade="all, delete-orphan", order_by="ExamDiscipline.position"
    )
    groups: Mapped[list[ExamGroup]] = relationship(cascade="all, delete-orphan")
    rooms: Mapped[list[ExamRoom]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration_positive"),)


class ExamDiscipline(Base):
    __tablename__ = "exam_disciplines"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    question_count: Mapped[int] = mapped_column(default=25)

    discipline: Mapped[Discipline] = relationship()

    __table_args__ = (
        UniqueConstraint("exam_id", "discipline_id"),
        CheckConstraint("question_count > 0", name="question_count_positive"),
    )


class ExamGroup(Base):
    __tablename__ = "exam_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("student_groups.id"), index=True)

    group: Mapped[StudentGroup] = relationship()

    __table_args__ = (UniqueConstraint("exam_id", "group_id"),)


class ExamRoom(Base):
    __tablename__ = "exam_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Room-wide extra time after an incident (fire alarm, power): the only way a deadline moves.
    extra_minutes: Mapped[int] = mapped_column(default=0)
    # The last number given to this room's events (``RoomEvent.seq``); taken under a row lock.
    event_seq: Mapped[int] = mapped_column(default=0)

    room: Mapped[Room] = relationship()

    __table_args__ = (
        UniqueConstraint("exam_id", "room_id"),
        CheckConstraint("extra_minutes >= 0", name="extra_nonnegative"),
    )


class RoomIncident(Base):
    """A note the proctor adds for the whole room; extra time is granted only with one."""

    __tablename__ = "room_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomProctor(Base):
    """A proctor assigned to a room for an exam (R 4.13): only they watch and act on it live."""

    __tablename__ = "room_proctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("exam_id", "room_id", "user_id"),)
