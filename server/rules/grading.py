"""The final grade: B%, table 1's letter, violations, no-shows, retakes, GPA (H, R 4.9, R 5.2).

Formula (H): "Б% = (Р1 + Р2) / 2 × 0,6 + Е × 0,4" — R1, R2 the midterm percentages, E the exam
percentage. Table 1 ("Білімді бағалаудың көпбалдық әріптік жүйесі") maps *whole* percents to a
letter and its points.

Decisions:

* **Rounding B% to a whole percent is one explicit rule, HALF_UP by default** (94.5 → 95 = A,
  94.49 → 94 = A-). Table 1's bands are whole numbers with nothing between 94 and 95, so a
  fractional B% must be rounded; the handbook does not say how. Half-up is the ordinary
  arithmetic rounding a student checks with a calculator, and it is symmetric at every band edge
  (each band owns [low - 0.5, high + 0.5)). FLOOR ("only a full percent counts") is offered for a
  registrar whose information system truncates; the setting is the caller's. Python's ``round``
  (half-even) is deliberately not used: 94.5 and 95.5 would go different ways. Note that with
  HALF_UP a B% of 49.5 is a D, a positive grade.
* **A positive grade is D (50 %) or above**; FX and F are unsatisfactory (H: "FX 25–49%" is
  "қанағаттанарлықсыз", unsatisfactory).
* **A violation gives E = 0 and F whatever the midterms** (R 4.9: "емтиханнан 0 балл алады және
  пән бойынша қорытынды баға «F» болады, бұл академиялық кезең бойындағы оқу үлгеріміне
  қарамастан қойылады" — "gets 0 points for the exam and the final grade for the discipline is
  F, regardless of performance during the academic period"). B% is not computed then (``None``):
  a B% of, say, 36 next to an imposed F would mislead; the F's ``percent`` is 0.
* **No-show: E = 0** (H: "Егер студент емтиханға келмесе, ол емтихан үшін «0» балл алады" — "a
  student who does not come to the exam gets 0 points for it"); B% and the letter then follow the
  formula, so strong midterms may still give FX.
* **FX retake (H):** "FX бағасын алған жағдайда қорытынды бақылауды (емтиханды) қайта тапсыруға
  ... ағымдағы оқу жылының соңына дейін бір реттен артық емес мүмкіндік беріледі ... келесі
  академиялық кезең басталғанға дейін жүргізіледі" — "with FX the final exam may be retaken *no
  more than once* ... *before the next academic period begins*". The caller passes that instant
  as ``retake_deadline`` (from the academic calendar); the retake must be strictly before it.
  (The handbook's glossary says "сессия кезеңінде" — "during the session period"; the calendar's
  date is the operative one.)
* **FX not retaken in time without a valid reason becomes F** (H: "Егер студент белгіленген
  мерзімде дәлелді себепсіз ... қайта тапсырмаса, ол пән бойынша ... F бағасын алады"), once the
  deadline has been reached.
* **F cannot be retaken**: the course is repeated (H: "«қанағаттанарлықсыз» баға алған студент
  жазғы оқу семестрі ішінде ақылы негізде осы пәнді қайта оқып, тапсыруға құқылы" — "a student
  with an unsatisfactory grade may re-study the discipline in the paid summer semester").
* **A positive grade is never retaken to raise it.** H limits this to the same session ("сол
  аралық аттестация кезеңінде"); R 5.2 has no such limit ("Жинақтық бақылаудан жақсы бағаны
  қайта тапсыру арқылы оны көтеруге рұқсат етілмейді" — "raising a good grade from summative
  control by retaking is not allowed"), and the regulation wins.
* **GPA is not rounded** (H: "GPA = (Бс1 × К1 + ... + Бсn × Кn) / (К1 + ... + Кn)"); rounding it
  for a transcript belongs to whoever prints the transcript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum

from server.rules._checks import ZERO, require_aware, require_percent

MIDTERM_WEIGHT = Decimal("0.6")
EXAM_WEIGHT = Decimal("0.4")
MAX_RETAKES = 1
POSITIVE_FROM_PERCENT = 50

_CONTEXT = Context(prec=28)


class Rounding(StrEnum):
    """How a fractional B% becomes the whole percent table 1 is read with."""

    HALF_UP = "half_up"
    FLOOR = "floor"


_DECIMAL_ROUNDING = {Rounding.HALF_UP: ROUND_HALF_UP, Rounding.FLOOR: ROUND_FLOOR}


@dataclass(frozen=True)
class Band:
    """One row of table 1: a letter, its points, and its whole-percent range (inclusive)."""

    letter: str
    points: Decimal
    lowest: int
    highest: int


TABLE_1: tuple[Band, ...] = (
    Band("A", Decimal("4.0"), 95, 100),
    Band("A-", Decimal("3.67"), 90, 94),
    Band("B+", Decimal("3.33"), 85, 89),
    Band("B", Decimal("3.0"), 80, 84),
    Band("B-", Decimal("2.67"), 75, 79),
    Band("C+", Decimal("2.33"), 70, 74),
    Band("C", Decimal("2.0"), 65, 69),
    Band("C-", Decimal("1.67"), 60, 64),
    Band("D+", Decimal("1.33"), 55, 59),
    Band("D", Decimal("1.0"), 50, 54),
    Band("FX", Decimal("0.5"), 25, 49),
    Band("F", Decimal("0"), 0, 24),
)
LETTERS: tuple[str, ...] = tuple(band.letter for band in TABLE_1)
_BAND_BY_LETTER = {band.letter: band for band in TABLE_1}


@dataclass(frozen=True)
class Grade:
    """A letter of table 1 with its points and the whole percent it was read from."""

    letter: str
    points: Decimal
    percent: int

    @property
    def positive(self) -> bool:
        """D and above; FX and F are unsatisfactory."""
        return is_positive_letter(self.letter)


def final_percent(r1: Decimal, r2: Decimal, exam: Decimal) -> Decimal:
    """B% = (R1 + R2) / 2 × 0.6 + E × 0.4; ValueError if any input is outside [0, 100]."""
    require_percent("r1", r1)
    require_percent("r2", r2)
    require_percent("exam", exam)
    with localcontext(_CONTEXT):
        return (r1 + r2) / 2 * MIDTERM_WEIGHT + exam * EXAM_WEIGHT


def whole_percent(percent: Decimal, rounding: Rounding = Rounding.HALF_UP) -> int:
    """The whole percent table 1 is read with; ValueError outside [0, 100]."""
    require_percent("percent", percent)
    return int(percent.quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[rounding]))


def letter_grade(percent: Decimal, rounding: Rounding = Rounding.HALF_UP) -> Grade:
    """The table-1 grade for a B% (or any percentage in [0, 100])."""
    whole = whole_percent(percent, rounding)
    band = next(band for band in TABLE_1 if band.lowest <= whole <= band.highest)
    return Grade(letter=band.letter, points=band.points, percent=whole)


_F_FOR_VIOLATION = Grade(letter="F", points=_BAND_BY_LETTER["F"].points, percent=0)


@dataclass(frozen=True)
class ExamResult:
    """One sitting's result: E%, B% and the grade.

    B% and the grade are None while a midterm is unknown; after a violation B% is None and the
    grade is the imposed F.
    """

    exam_percent: Decimal
    final_percent: Decimal | None
    grade: Grade | None
    violation: bool = False


def violation_result() -> ExamResult:
    """Removed for a violation: E = 0 and F, whatever the midterms (R 4.9)."""
    return ExamResult(exam_percent=ZERO, final_percent=None, grade=_F_FOR_VIOLATION, violation=True)


def no_show_exam_percent() -> Decimal:
    """E% of a student who did not come to the exam (H)."""
    return ZERO


def exam_result(
    *,
    r1: Decimal | None,
    r2: Decimal | None,
    exam_percent: Decimal,
    violation: bool,
    rounding: Rounding,
) -> ExamResult:
    """The whole result of one sitting; ValueError for a percentage outside [0, 100]."""
    for name, value in (("r1", r1), ("r2", r2), ("exam_percent", exam_percent)):
        if value is not None:
            require_percent(name, value)
    if violation:
        return violation_result()
    if r1 is None or r2 is None:
        return ExamResult(exam_percent=exam_percent, final_percent=None, grade=None)
    b_percent = final_percent(r1, r2, exam_percent)
    return ExamResult(
        exam_percent=exam_percent,
        final_percent=b_percent,
        grade=letter_grade(b_percent, rounding),
    )


def is_positive_letter(letter: str) -> bool:
    """Whether a table-1 letter is a positive grade (D and above); ValueError for a non-letter."""
    return _band(letter).lowest >= POSITIVE_FROM_PERCENT


def _band(letter: str) -> Band:
    try:
        return _BAND_BY_LETTER[letter]
    except KeyError:
        raise ValueError(f"{letter!r} is not a letter of table 1") from None


class RetakeRefusal(StrEnum):
    """Why a final-exam retake is refused."""

    POSITIVE_GRADE = "positive_grade"
    COURSE_MUST_BE_REPEATED = "course_must_be_repeated"
    ALREADY_RETAKEN = "already_retaken"
    DEADLINE_PASSED = "deadline_passed"


@dataclass(frozen=True)
class RetakeVerdict:
    """Whether the final exam may be retaken; ``reasons`` is empty exactly when allowed."""

    allowed: bool
    reasons: tuple[RetakeRefusal, ...]


def retake_allowed(
    *, grade_letter: str, retakes_taken: int, now: datetime, retake_deadline: datetime
) -> RetakeVerdict:
    """FX: one retake, strictly before the deadline. D and above: never (R 5.2). F: repeat."""
    require_aware("now", now)
    require_aware("retake_deadline", retake_deadline)
    if retakes_taken < 0:
        raise ValueError(f"retakes_taken must not be negative, got {retakes_taken}")
    if is_positive_letter(grade_letter):
        return RetakeVerdict(allowed=False, reasons=(RetakeRefusal.POSITIVE_GRADE,))
    if grade_letter == "F":
        return RetakeVerdict(allowed=False, reasons=(RetakeRefusal.COURSE_MUST_BE_REPEATED,))
    reasons: list[RetakeRefusal] = []
    if retakes_taken >= MAX_RETAKES:
        reasons.append(RetakeRefusal.ALREADY_RETAKEN)
    if now >= retake_deadline:
        reasons.append(RetakeRefusal.DEADLINE_PASSED)
    return RetakeVerdict(allowed=not reasons, reasons=tuple(reasons))


def fx_after_deadline(
    *,
    grade_letter: str,
    retaken: bool,
    valid_reason: bool,
    now: datetime,
    retake_deadline: datetime,
) -> str:
    """The letter that stands for an FX once the retake period is judged at ``now``.

    FX not retaken by the deadline without a valid reason becomes F; a retaken FX is replaced by
    the retake's own result, so it is returned unchanged here, as is any other letter.
    """
    require_aware("now", now)
    require_aware("retake_deadline", retake_deadline)
    _band(grade_letter)
    if grade_letter != "FX" or retaken or valid_reason or now < retake_deadline:
        return grade_letter
    return "F"


def gpa(entries: Sequence[tuple[Decimal, int]]) -> Decimal:
    """GPA = Σ(points × credits) / Σ credits.

    ValueError if there are no entries, a credit count is not positive or points are outside [0, 4].
    """
    if not entries:
        raise ValueError("a GPA needs at least one graded discipline")
    for points, credits in entries:
        if not points.is_finite() or not ZERO <= points <= Decimal(4):
            raise ValueError(f"points must be in [0, 4], got {points}")
        if credits <= 0:
            raise ValueError(f"credits must be positive, got {credits}")
    with localcontext(_CONTEXT):
        weighted = sum((points * credits for points, credits in entries), ZERO)
        return weighted / sum(credits for _, credits in entries)
