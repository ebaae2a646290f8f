"""Admission to the final exam: which students may sit it (R 4.1, R 4.11, H).

Sources: regulation R 4.1 and R 4.11; the handbook's section "Сессияға дайындық пен оны өткізу
тәртібі" (preparing for and running the session), its attendance rules ("Сабаққа қатысу") and its
midterm rules ("Білімді бақылау және бағалау жүйесі").

Decisions, where the digest or the documents leave room:

* **A midterm average of exactly 50 admits.** R 4.1: "екі аралық рубеждік бақылаудан 50 %
  (30 балл) және одан да көп жинағандар" — "those who scored 50 % (30 points) *or more* on the
  two midterms". The "30 points" is the same threshold read on the 60 % midterm share of B%.
* **Attendance of exactly 80 % admits.** H bars a student "оқу сабақтарының 20%-дан астамын
  жіберіп алған" — "who missed *more than* 20 % of the classes", and says "сабаққа қатысудың ең
  төменгі мөлшері сол пәннің жалпы сағат санының 80%-ын құрайды" — "the minimum attendance is
  80 % of the discipline's total hours". Missing exactly 20 % is allowed. The caller passes the
  attendance as a percentage of the discipline's hours (the handbook counts hours, not classes).
* **Unknown attendance refuses** (``ATTENDANCE_NOT_RECORDED``), the same way a missing R1/R2
  refuses (``MIDTERMS_MISSING``): H bars a student "рубеждік бақылаулар бойынша қарызы бар" —
  "with a debt on the midterms", and one who "қатысу талаптарын орындамаған" — "has not met the
  attendance requirement". A gate that cannot be shown to be met is not met; the student sees the
  reason and the registrar can complete the record.
* **Every failing gate is reported**, in the order of ``Reason``'s members, so a student learns all
  that stands between them and the exam at once.
* **Midterm retake (H):** "Егер студенттің бірінші және/немесе екінші рубеждік бақылаудан алған
  орташа балы 50%-дан төмен болса немесе объективті себеппен қатыспаса, факультет деканының
  жазбаша рұқсатымен емтихан сессиясына дейін жеке тапсыруға мүмкіндік беріледі" — "if the
  student's average from the first and/or second midterm is *below* 50 % or they were absent for
  an objective reason, an individual retake is given *before the exam session* with the faculty
  dean's *written permission*". So: an average of exactly 50 is no ground; the retake must happen
  strictly before the session starts; an unrecorded average (``None``) is no ground by itself —
  a student absent without a valid reason is recorded with their real (low) score first.
* **Individual exam date (R 4.11):** "заңды себептер (денсаулық жағдайы, жақын туыстарының
  қайтыс болуы) болса және бұл құжаттармен расталса, олардың өтініші бойынша ... жеке емтихан
  тапсыру мерзімдерін белгілейді" — "if they have lawful reasons (health, death of close
  relatives) *confirmed by documents*, an individual date is set on their application". We read
  the parenthesis as the complete list of lawful reasons; anything else needs a human decision
  outside the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from server.rules._checks import require_aware, require_percent

MIDTERM_AVERAGE_REQUIRED = Decimal(50)
ATTENDANCE_REQUIRED = Decimal(80)


class Reason(StrEnum):
    """Why a student is refused admission; member order is the order the student sees them."""

    NOT_ENROLLED = "not_enrolled"
    NOT_IN_EXAM_GROUPS = "not_in_exam_groups"
    MIDTERMS_MISSING = "midterms_missing"
    MIDTERM_AVERAGE_BELOW_50 = "midterm_average_below_50"
    ATTENDANCE_NOT_RECORDED = "attendance_not_recorded"
    ATTENDANCE_BELOW_80 = "attendance_below_80"
    TUITION_DEBT = "tuition_debt"


_REASON_ORDER = {reason: position for position, reason in enumerate(Reason)}


@dataclass(frozen=True)
class AdmissionFacts:
    """What the registrar knows about one student and one exam; percentages in [0, 100]."""

    enrolled: bool
    in_exam_groups: bool
    r1: Decimal | None
    r2: Decimal | None
    attendance_percent: Decimal | None
    tuition_debt: bool


@dataclass(frozen=True)
class Admission:
    """The admission decision; ``reasons`` is empty exactly when the student is admitted."""

    admitted: bool
    reasons: tuple[Reason, ...]

    @classmethod
    def granted(cls) -> Admission:
        return cls(admitted=True, reasons=())

    @classmethod
    def refused(cls, reasons: Iterable[Reason]) -> Admission:
        """A refusal with its reasons in the stable order; raises ValueError if none is given."""
        ordered = tuple(sorted(set(reasons), key=_REASON_ORDER.__getitem__))
        if not ordered:
            raise ValueError("a refusal needs at least one reason")
        return cls(admitted=False, reasons=ordered)


def midterm_average(r1: Decimal, r2: Decimal) -> Decimal:
    """The average of the two midterm ratings, (R1 + R2) / 2; ValueError outside [0, 100]."""
    require_percent("r1", r1)
    require_percent("r2", r2)
    return (r1 + r2) / 2


def decide_admission(facts: AdmissionFacts) -> Admission:
    """Check every admission gate and report every one that fails."""
    reasons: list[Reason] = []
    if not facts.enrolled:
        reasons.append(Reason.NOT_ENROLLED)
    if not facts.in_exam_groups:
        reasons.append(Reason.NOT_IN_EXAM_GROUPS)
    if facts.r1 is None or facts.r2 is None:
        # Validate the one that is known, so a bad value is not hidden by a missing one.
        for name, value in (("r1", facts.r1), ("r2", facts.r2)):
            if value is not None:
                require_percent(name, value)
        reasons.append(Reason.MIDTERMS_MISSING)
    elif midterm_average(facts.r1, facts.r2) < MIDTERM_AVERAGE_REQUIRED:
        reasons.append(Reason.MIDTERM_AVERAGE_BELOW_50)
    if facts.attendance_percent is None:
        reasons.append(Reason.ATTENDANCE_NOT_RECORDED)
    elif require_percent("attendance_percent", facts.attendance_percent) < ATTENDANCE_REQUIRED:
        reasons.append(Reason.ATTENDANCE_BELOW_80)
    if facts.tuition_debt:
        reasons.append(Reason.TUITION_DEBT)
    return Admission.refused(reasons) if reasons else Admission.granted()


class MidtermRetakeRefusal(StrEnum):
    """Why an individual midterm retake is refused (H)."""

    NO_GROUND = "no_ground"
    NO_DEAN_PERMISSION = "no_dean_permission"
    SESSION_STARTED = "session_started"


@dataclass(frozen=True)
class RetakeDecision:
    """Whether a midterm may be retaken individually; ``reasons`` empty exactly when allowed."""

    allowed: bool
    reasons: tuple[MidtermRetakeRefusal, ...]


def midterm_retake_allowed(
    *,
    average: Decimal | None,
    absent_for_valid_reason: bool,
    has_dean_permission: bool,
    now: datetime,
    session_starts_at: datetime,
) -> RetakeDecision:
    """An individual midterm retake: below 50 or validly absent, dean's permission, pre-session."""
    require_aware("now", now)
    require_aware("session_starts_at", session_starts_at)
    below_50 = (
        average is not None and require_percent("average", average) < MIDTERM_AVERAGE_REQUIRED
    )
    reasons: list[MidtermRetakeRefusal] = []
    if not (below_50 or absent_for_valid_reason):
        reasons.append(MidtermRetakeRefusal.NO_GROUND)
    if not has_dean_permission:
        reasons.append(MidtermRetakeRefusal.NO_DEAN_PERMISSION)
    if now >= session_starts_at:
        reasons.append(MidtermRetakeRefusal.SESSION_STARTED)
    return RetakeDecision(allowed=not reasons, reasons=tuple(reasons))


class AbsenceReason(StrEnum):
    """Why a student missed the exam at its scheduled time (R 4.11)."""

    ILLNESS = "illness"
    DEATH_OF_CLOSE_RELATIVE = "death_of_close_relative"
    OTHER = "other"


_LAWFUL_ABSENCE_REASONS = frozenset({AbsenceReason.ILLNESS, AbsenceReason.DEATH_OF_CLOSE_RELATIVE})


def individual_exam_date_allowed(*, reason: AbsenceReason, documented: bool) -> bool:
    """Whether a missed exam may get an individual date: a lawful reason, confirmed by documents."""
    return reason in _LAWFUL_ABSENCE_REASONS and documented
