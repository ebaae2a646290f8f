from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.rules.grading import (
    LETTERS,
    ExamResult,
    Grade,
    RetakeRefusal,
    Rounding,
    exam_result,
    final_percent,
    fx_after_deadline,
    gpa,
    is_positive_letter,
    letter_grade,
    no_show_exam_percent,
    retake_allowed,
    violation_result,
    whole_percent,
)

D = Decimal
HALF_UP = Rounding.HALF_UP
FLOOR = Rounding.FLOOR

# Table 1 of the handbook, typed out again so the test does not read the code's own table.
TABLE_1 = [
    ("A", "4.0", 95, 100),
    ("A-", "3.67", 90, 94),
    ("B+", "3.33", 85, 89),
    ("B", "3.0", 80, 84),
    ("B-", "2.67", 75, 79),
    ("C+", "2.33", 70, 74),
    ("C", "2.0", 65, 69),
    ("C-", "1.67", 60, 64),
    ("D+", "1.33", 55, 59),
    ("D", "1.0", 50, 54),
    ("FX", "0.5", 25, 49),
    ("F", "0", 0, 24),
]


def _edge_cases() -> list[object]:
    """Both sides of every band edge, under both roundings.

    The case just below a band's lowest percent is also the case just above the next band's
    highest one (94.49 is both "below A" and "top of A-"), so each edge is listed once.
    """
    cases: list[object] = []
    for position, (letter, points, lowest, highest) in enumerate(TABLE_1):
        grade_at = {whole: Grade(letter, D(points), whole) for whole in (lowest, highest)}
        cases += [
            pytest.param(D(lowest), HALF_UP, grade_at[lowest], id=f"half_up-{lowest}-{letter}"),
            pytest.param(D(lowest), FLOOR, grade_at[lowest], id=f"floor-{lowest}-{letter}"),
            pytest.param(D(highest), FLOOR, grade_at[highest], id=f"floor-{highest}-{letter}"),
        ]
        if lowest > 0:
            below = TABLE_1[position + 1]
            below_grade = Grade(below[0], D(below[1]), lowest - 1)
            cases += [
                pytest.param(
                    D(lowest) - D("0.5"),
                    HALF_UP,
                    grade_at[lowest],
                    id=f"half_up-{D(lowest) - D('0.5')}-{letter}",
                ),
                pytest.param(
                    D(lowest) - D("0.51"),
                    HALF_UP,
                    below_grade,
                    id=f"half_up-{D(lowest) - D('0.51')}-{below[0]}",
                ),
                pytest.param(
                    D(lowest) - D("0.01"),
                    FLOOR,
                    below_grade,
                    id=f"floor-{D(lowest) - D('0.01')}-{below[0]}",
                ),
            ]
    return cases


@pytest.mark.parametrize(("percent", "rounding", "expected"), _edge_cases())
def test_letter_grade_band_edges(percent: Decimal, rounding: Rounding, expected: Grade) -> None:
    assert letter_grade(percent, rounding) == expected


@pytest.mark.parametrize(
    ("percent", "expected_letter", "expected_whole"),
    [
        pytest.param(D("94.5"), "A", 95, id="94.5-rounds-up-to-A"),
        pytest.param(D("94.49"), "A-", 94, id="94.49-stays-A-"),
        pytest.param(D("94.6"), "A", 95, id="94.6-A"),
        pytest.param(D("49.5"), "D", 50, id="49.5-is-a-pass"),
        pytest.param(D("24.5"), "FX", 25, id="24.5-FX"),
        pytest.param(D("95.5"), "A", 96, id="95.5-not-bankers-rounding"),
    ],
)
def test_letter_grade_defaults_to_half_up(
    percent: Decimal, expected_letter: str, expected_whole: int
) -> None:
    grade = letter_grade(percent)
    assert (grade.letter, grade.percent) == (expected_letter, expected_whole)


@pytest.mark.parametrize(
    ("percent", "rounding", "expected"),
    [
        pytest.param(D("94.5"), HALF_UP, 95, id="half_up-94.5"),
        pytest.param(D("94.5"), FLOOR, 94, id="floor-94.5"),
        pytest.param(D("94.999"), FLOOR, 94, id="floor-94.999"),
        pytest.param(D("0.4"), HALF_UP, 0, id="half_up-0.4"),
        pytest.param(D("99.5"), HALF_UP, 100, id="half_up-99.5"),
    ],
)
def test_whole_percent(percent: Decimal, rounding: Rounding, expected: int) -> None:
    assert whole_percent(percent, rounding) == expected


@pytest.mark.parametrize(
    "percent",
    [pytest.param(D("100.01"), id="above-100"), pytest.param(D("-0.01"), id="negative")],
)
def test_letter_grade_rejects_out_of_range(percent: Decimal) -> None:
    with pytest.raises(ValueError, match="percentage"):
        letter_grade(percent)


def test_rounding_setting_values() -> None:
    assert [rounding.value for rounding in Rounding] == ["half_up", "floor"]
    assert tuple(row[0] for row in TABLE_1) == LETTERS


@pytest.mark.parametrize(
    ("r1", "r2", "exam", "expected"),
    [
        pytest.param(D(100), D(100), D(100), D(100), id="all-full"),
        pytest.param(D(0), D(0), D(0), D(0), id="all-zero"),
        pytest.param(D(60), D(80), D(50), D(62), id="70x0.6+50x0.4"),
        pytest.param(D(50), D(50), D(0), D(30), id="bare-admission-no-exam"),
        pytest.param(D("72.5"), D("81.5"), D("88.8"), D("81.72"), id="fractional"),
    ],
)
def test_final_percent(r1: Decimal, r2: Decimal, exam: Decimal, expected: Decimal) -> None:
    assert final_percent(r1, r2, exam) == expected


@pytest.mark.parametrize(
    ("r1", "r2", "exam"),
    [
        pytest.param(D(130), D(50), D(50), id="r1-130"),
        pytest.param(D(50), D(-1), D(50), id="r2-negative"),
        pytest.param(D(50), D(50), D(101), id="exam-101"),
    ],
)
def test_final_percent_rejects_out_of_range(r1: Decimal, r2: Decimal, exam: Decimal) -> None:
    with pytest.raises(ValueError, match="percentage"):
        final_percent(r1, r2, exam)


@pytest.mark.parametrize(
    ("letter", "positive"),
    [pytest.param(row[0], row[2] >= 50, id=row[0]) for row in TABLE_1],
)
def test_positive_grade_is_d_and_above(letter: str, positive: bool) -> None:
    assert is_positive_letter(letter) is positive
    assert Grade(letter, D(0), 0).positive is positive


def test_violation_result_is_zero_and_f() -> None:
    assert violation_result() == ExamResult(
        exam_percent=D(0), final_percent=None, grade=Grade("F", D(0), 0), violation=True
    )


def test_no_show_exam_percent_is_zero() -> None:
    assert no_show_exam_percent() == D(0)


@pytest.mark.parametrize(
    ("r1", "r2", "exam", "violation", "rounding", "expected"),
    [
        pytest.param(
            D(60),
            D(80),
            D(50),
            False,
            HALF_UP,
            ExamResult(D(50), D(62), Grade("C-", D("1.67"), 62)),
            id="ordinary",
        ),
        pytest.param(
            D(100),
            D(100),
            D(100),
            True,
            HALF_UP,
            violation_result(),
            id="violation-beats-perfect-midterms",
        ),
        pytest.param(
            D(90),
            D(90),
            no_show_exam_percent(),
            False,
            HALF_UP,
            ExamResult(D(0), D(54), Grade("D", D("1.0"), 54)),
            id="no-show-strong-midterms-still-D",
        ),
        pytest.param(
            D(60),
            D(60),
            no_show_exam_percent(),
            False,
            HALF_UP,
            ExamResult(D(0), D(36), Grade("FX", D("0.5"), 36)),
            id="no-show-ordinary-midterms-FX",
        ),
        pytest.param(
            None,
            D(80),
            D(70),
            False,
            HALF_UP,
            ExamResult(D(70), None, None),
            id="midterm-unknown-no-final",
        ),
        pytest.param(
            D("79.5"),
            D(80),
            D("94.0"),
            False,
            HALF_UP,
            ExamResult(D("94.0"), D("85.45"), Grade("B+", D("3.33"), 85)),
            id="rounding-half-up",
        ),
        pytest.param(
            D(90),
            D(95),
            D("98.5"),
            False,
            FLOOR,
            ExamResult(D("98.5"), D("94.9"), Grade("A-", D("3.67"), 94)),
            id="rounding-floor",
        ),
    ],
)
def test_exam_result(
    r1: Decimal | None,
    r2: Decimal | None,
    exam: Decimal,
    violation: bool,
    rounding: Rounding,
    expected: ExamResult,
) -> None:
    result = exam_result(r1=r1, r2=r2, exam_percent=exam, violation=violation, rounding=rounding)
    assert result == expected


def test_exam_result_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="percentage"):
        exam_result(r1=D(130), r2=D(50), exam_percent=D(50), violation=True, rounding=HALF_UP)


DEADLINE = datetime(2027, 1, 12, 3, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("letter", "taken", "now", "reasons"),
    [
        pytest.param("FX", 0, DEADLINE - US, (), id="fx-first-retake-before-deadline"),
        pytest.param(
            "FX", 0, DEADLINE, (RetakeRefusal.DEADLINE_PASSED,), id="fx-at-deadline-refused"
        ),
        pytest.param(
            "FX", 1, DEADLINE - US, (RetakeRefusal.ALREADY_RETAKEN,), id="fx-second-retake"
        ),
        pytest.param(
            "FX",
            1,
            DEADLINE + US,
            (RetakeRefusal.ALREADY_RETAKEN, RetakeRefusal.DEADLINE_PASSED),
            id="fx-both-reasons",
        ),
        pytest.param("F", 0, DEADLINE - US, (RetakeRefusal.COURSE_MUST_BE_REPEATED,), id="f"),
        pytest.param("D", 0, DEADLINE - US, (RetakeRefusal.POSITIVE_GRADE,), id="d-positive"),
        pytest.param("A", 0, DEADLINE - US, (RetakeRefusal.POSITIVE_GRADE,), id="a-positive"),
    ],
)
def test_retake_allowed(
    letter: str, taken: int, now: datetime, reasons: tuple[RetakeRefusal, ...]
) -> None:
    verdict = retake_allowed(
        grade_letter=letter, retakes_taken=taken, now=now, retake_deadline=DEADLINE
    )
    assert verdict.reasons == reasons
    assert verdict.allowed is (not reasons)


@pytest.mark.parametrize(
    ("letter", "taken", "message"),
    [
        pytest.param("E", 0, "not a letter of table 1", id="not-a-letter"),
        pytest.param("FX", -1, "must not be negative", id="negative-retakes"),
    ],
)
def test_retake_allowed_rejects_programmer_errors(letter: str, taken: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        retake_allowed(
            grade_letter=letter, retakes_taken=taken, now=DEADLINE, retake_deadline=DEADLINE
        )


@pytest.mark.parametrize(
    ("letter", "retaken", "valid_reason", "now", "expected"),
    [
        pytest.param("FX", False, False, DEADLINE - US, "FX", id="fx-still-in-time"),
        pytest.param("FX", False, False, DEADLINE, "F", id="fx-at-deadline-becomes-f"),
        pytest.param("FX", False, True, DEADLINE + US, "FX", id="fx-valid-reason-kept"),
        pytest.param("FX", True, False, DEADLINE + US, "FX", id="fx-retaken-kept"),
        pytest.param("D", False, False, DEADLINE + US, "D", id="other-letter-unchanged"),
    ],
)
def test_fx_after_deadline(
    letter: str, retaken: bool, valid_reason: bool, now: datetime, expected: str
) -> None:
    letter_now = fx_after_deadline(
        grade_letter=letter,
        retaken=retaken,
        valid_reason=valid_reason,
        now=now,
        retake_deadline=DEADLINE,
    )
    assert letter_now == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param([(D("4.0"), 5)], D(4), id="single-A"),
        pytest.param([(D("4.0"), 5), (D("2.0"), 5)], D(3), id="equal-credits"),
        pytest.param([(D("4.0"), 6), (D("1.0"), 3)], D(3), id="weighted-by-credits"),
        pytest.param(
            [(D("3.67"), 5), (D("3.33"), 5), (D("0"), 2)],
            D("2.916666666666666666666666667"),
            id="unrounded",
        ),
    ],
)
def test_gpa(entries: list[tuple[Decimal, int]], expected: Decimal) -> None:
    assert gpa(entries) == expected


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        pytest.param([], "at least one", id="empty"),
        pytest.param([(D("4.0"), 0)], "credits must be positive", id="zero-credits"),
        pytest.param([(D("4.5"), 5)], "points must be in", id="points-above-4"),
    ],
)
def test_gpa_rejects_programmer_errors(entries: list[tuple[Decimal, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gpa(entries)
