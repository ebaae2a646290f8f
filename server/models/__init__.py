"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from server.models.attempt import (
    AdmissionDecision,
    Attempt,
    PaperQuestion,
    Response,
    Result,
    Violation,
)
from server.models.audit import AuditEntry
from server.models.bank import Item, ItemOption, ItemOptionText, ItemText, ItemVersion, Topic
from server.models.enums import (
    AttemptState,
    ExamStatus,
    ItemStatus,
    ItemType,
    Language,
    ResultBasis,
    Role,
)
from server.models.exam import Exam, ExamDiscipline, ExamGroup, ExamRoom, RoomIncident
from server.models.organisation import (
    AcademicTerm,
    Department,
    Discipline,
    ExamSession,
    Room,
    Seat,
    StudentGroup,
)
from server.models.people import (
    Enrolment,
    LoginFailure,
    MidtermRetakePermission,
    Student,
    User,
)

__all__ = [
    "AcademicTerm",
    "AdmissionDecision",
    "Attempt",
    "AttemptState",
    "AuditEntry",
    "Department",
    "Discipline",
    "Enrolment",
    "Exam",
    "ExamDiscipline",
    "ExamGroup",
    "ExamRoom",
    "ExamSession",
    "ExamStatus",
    "Item",
    "ItemOption",
    "ItemOptionText",
    "ItemStatus",
    "ItemText",
    "ItemType",
    "ItemVersion",
    "Language",
    "LoginFailure",
    "MidtermRetakePermission",
    "PaperQuestion",
    "Response",
    "Result",
    "ResultBasis",
    "Role",
    "Room",
    "RoomIncident",
    "Seat",
    "Student",
    "StudentGroup",
    "Topic",
    "User",
    "Violation",
]
