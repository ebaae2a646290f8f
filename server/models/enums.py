"""Closed vocabularies stored as short strings (CHECK-constrained) in the database."""

from __future__ import annotations

from enum import StrEnum

from question_bank.model import QuestionType


class Role(StrEnum):
    STUDENT = "student"
    PROCTOR = "proctor"
    DEPARTMENT_HEAD = "department_head"
    REGISTRAR = "registrar"
    APPEALS_MEMBER = "appeals_member"
    APPEALS_CHAIR = "appeals_chair"
    ADMIN = "admin"


class ItemStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


# An item's type is the question bank's own vocabulary, so an imported item is stored as parsed.
ItemType = QuestionType


class ExamStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class AttemptState(StrEnum):
    WAITING = "waiting"  # signed in, admitted by the gates, waiting for the proctor's ID check
    ADMITTED = "admitted"  # ID checked; the paper is drawn and frozen, not yet unlocked
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # finished by the student (R 4.6)
    TIMED_OUT = "timed_out"  # closed by the server at the deadline
    REMOVED = "removed"  # removed for a violation (R 4.9)
    REFUSED = "refused"  # turned away by the proctor at the ID check (R 4.3)


class ResultBasis(StrEnum):
    SCORED = "scored"
    VIOLATION = "violation"
    NO_SHOW = "no_show"
    APPEAL = "appeal"


class Language(StrEnum):
    KK = "kk"
    RU = "ru"
    EN = "en"
