from datetime import date
from decimal import Decimal

import pytest

from server.rules.appeals import (
    WEEKLY_DAYS_OFF,
    AppealGround,
    appeal_filing_open,
    commission_review_date,
    exam_percent_after_appeal,
    ground_applies,
)
from server.rules.scoring import QuestionKind

D = Decimal
# December 2026: the 14th is a Monday; the 16th is Independence Day in Kazakhstan.
MONDAY = date(2026, 12, 14)
TUESDAY, WEDNESDAY, THURSDAY = date(2026, 12, 15), date(2026, 12, 16), date(2026, 12, 17)
FRIDAY, SATURDAY, SUNDAY = date(2026, 12, 18), date(2026, 12, 19), date(2026, 12, 20)
NEXT_MONDAY = date(2026, 12, 21)
FIVE_DAY_WEEK = frozenset({5, 6})


def test_ground_values() -> None:
    assert [ground.value for ground in AppealGround] == [
        "wrongly_worded",
        "no_correct_option",
        "several_correct_options",
        "outside_syllabus",
    ]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(date(2026, 12, 17), False, id="day-before-publication"),
        pytest.param(date(2026, 12, 18), True, id="publication-day"),
        pytest.param(date(2026, 12, 19), False, id="day-after-publication"),
    ],
)
def test_appeal_filing_open(today: date, expected: bool) -> None:
    assert appeal_filing_open(published_on=date(2026, 12, 18), today=today) is expected


@pytest.mark.parametrize(
    ("filed_on", "holidays", "days_off", "expected"),
    [
        pytest.param(MONDAY, frozenset(), WEEKLY_DAYS_OFF, TUESDAY, id="monday-to-tuesday"),
        pytest.param(FRIDAY, frozenset(), WEEKLY_DAYS_OFF, SATURDAY, id="saturday-works"),
        pytest.param(SATURDAY, frozenset(), WEEKLY_DAYS_OFF, NEXT_MONDAY, id="sunday-skipped"),
        pytest.param(SUNDAY, frozenset(), WEEKLY_DAYS_OFF, NEXT_MONDAY, id="filed-on-sunday"),
        pytest.param(
            TUESDAY, frozenset({WEDNESDAY}), WEEKLY_DAYS_OFF, THURSDAY, id="holiday-skipped"
        ),
        pytest.param(
            TUESDAY,
            frozenset({WEDNESDAY, THURSDAY}),
            WEEKLY_DAYS_OFF,
            FRIDAY,
            id="two-holidays-skipped",
        ),
        pytest.param(
            FRIDAY, frozenset({SATURDAY}), WEEKLY_DAYS_OFF, NEXT_MONDAY, id="holiday-then-sunday"
        ),
        pytest.param(FRIDAY, frozenset(), FIVE_DAY_WEEK, NEXT_MONDAY, id="five-day-week"),
        pytest.param(
            date(2026, 12, 31),
            frozenset({date(2027, 1, 1), date(2027, 1, 2)}),
            WEEKLY_DAYS_OFF,
            date(2027, 1, 4),
            id="new-year-holidays-and-sunday",
        ),
    ],
)
def test_commission_review_date(
    filed_on: date, holidays: frozenset[date], days_off: frozenset[int], expected: date
) -> None:
    review = commission_review_date(filed_on=filed_on, holidays=holidays, weekly_days_off=days_off)
    assert review == expected


def test_commission_review_date_default_week_is_six_days() -> None:
    assert commission_review_date(filed_on=FRIDAY) == SATURDAY


@pytest.mark.parametrize(
    "days_off",
    [pytest.param(frozenset(range(7)), id="every-day-off"), pytest.param(frozenset({7}), id="8th")],
)
def test_commission_review_date_rejects_bad_week(days_off: frozenset[int]) -> None:
    with pytest.raises(ValueError, match="weekly_days_off"):
        commission_review_date(filed_on=MONDAY, weekly_days_off=days_off)


@pytest.mark.parametrize(
    ("ground", "kind", "expected"),
    [
        pytest.param(
            AppealGround.SEVERAL_CORRECT_OPTIONS,
            QuestionKind.SINGLE_CHOICE,
            True,
            id="several-correct-single-choice",
        ),
        pytest.param(
            AppealGround.SEVERAL_CORRECT_OPTIONS,
            QuestionKind.TRUE_FALSE,
            True,
            id="several-correct-true-false",
        ),
        pytest.param(
            AppealGround.SEVERAL_CORRECT_OPTIONS,
            QuestionKind.MULTIPLE_RESPONSE,
            False,
            id="several-correct-multiple-response",
        ),
        pytest.param(
            AppealGround.NO_CORRECT_OPTION,
            QuestionKind.MULTIPLE_RESPONSE,
            True,
            id="no-correct-multiple-response",
        ),
        pytest.param(
            AppealGround.WRONGLY_WORDED, QuestionKind.SINGLE_CHOICE, True, id="wrongly-worded"
        ),
        pytest.param(
            AppealGround.OUTSIDE_SYLLABUS,
            QuestionKind.MULTIPLE_RESPONSE,
            True,
            id="outside-syllabus",
        ),
    ],
)
def test_ground_applies(ground: AppealGround, kind: QuestionKind, expected: bool) -> None:
    assert ground_applies(ground=ground, kind=kind) is expected


@pytest.mark.parametrize(
    ("upheld", "revised", "expected"),
    [
        pytest.param(False, None, D(64), id="not-upheld-unchanged"),
        pytest.param(False, D(68), D(64), id="not-upheld-ignores-revision"),
        pytest.param(True, D(68), D(68), id="upheld-revised"),
    ],
)
def test_exam_percent_after_appeal(
    upheld: bool, revised: Decimal | None, expected: Decimal
) -> None:
    assert exam_percent_after_appeal(original=D(64), upheld=upheld, revised=revised) == expected


@pytest.mark.parametrize(
    ("revised", "message"),
    [
        pytest.param(None, "revised exam percent", id="missing"),
        pytest.param(D(104), "percentage", id="104"),
    ],
)
def test_exam_percent_after_appeal_rejects_programmer_errors(
    revised: Decimal | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        exam_percent_after_appeal(original=D(64), upheld=True, revised=revised)
