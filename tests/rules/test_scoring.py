from collections.abc import Mapping
from decimal import Decimal, localcontext

import pytest

from server.rules.scoring import (
    QUESTIONS_PER_DISCIPLINE,
    QuestionKind,
    exam_percent,
    paper_question_count,
    question_credit,
)

D = Decimal
SINGLE = QuestionKind.SINGLE_CHOICE
MULTI = QuestionKind.MULTIPLE_RESPONSE
TRUE_FALSE = QuestionKind.TRUE_FALSE

# Option ids as a question bank would number them.
FOUR_OPTIONS = {1: D(1), 2: D(0), 3: D(0), 4: D(0)}
PENALISED_SINGLE = {1: D(1), 2: D("-0.5"), 3: D(0)}
PARTIAL_SINGLE = {1: D(1), 2: D("0.5"), 3: D(0)}
TWO_OF_FOUR = {1: D("0.5"), 2: D("0.5"), 3: D(-1), 4: D("-0.5")}
THREE_THIRDS = {1: D("0.3333333"), 2: D("0.3333333"), 3: D("0.3333334"), 4: D(-1)}
TRUE_FALSE_OPTIONS = {0: D(0), 1: D(1)}


@pytest.mark.parametrize(
    ("kind", "chosen", "fractions", "expected"),
    [
        pytest.param(SINGLE, {1}, FOUR_OPTIONS, D(1), id="single-right"),
        pytest.param(SINGLE, {3}, FOUR_OPTIONS, D(0), id="single-wrong"),
        pytest.param(SINGLE, set(), FOUR_OPTIONS, D(0), id="single-none-chosen"),
        pytest.param(SINGLE, {2}, PARTIAL_SINGLE, D("0.5"), id="single-partial-credit"),
        pytest.param(SINGLE, {2}, PENALISED_SINGLE, D(0), id="single-penalty-floored-at-0"),
        pytest.param(TRUE_FALSE, {1}, TRUE_FALSE_OPTIONS, D(1), id="true-false-right"),
        pytest.param(TRUE_FALSE, {0}, TRUE_FALSE_OPTIONS, D(0), id="true-false-wrong"),
        pytest.param(TRUE_FALSE, set(), TRUE_FALSE_OPTIONS, D(0), id="true-false-none"),
        pytest.param(MULTI, {1, 2}, TWO_OF_FOUR, D(1), id="multi-both-right"),
        pytest.param(MULTI, {1}, TWO_OF_FOUR, D("0.5"), id="multi-one-of-two"),
        pytest.param(MULTI, {1, 4}, TWO_OF_FOUR, D(0), id="multi-right-cancelled-by-wrong"),
        pytest.param(MULTI, {1, 2, 4}, TWO_OF_FOUR, D("0.5"), id="multi-all-right-one-wrong"),
        pytest.param(MULTI, {1, 2, 3, 4}, TWO_OF_FOUR, D(0), id="multi-everything-clamped-0"),
        pytest.param(MULTI, {3}, TWO_OF_FOUR, D(0), id="multi-only-wrong-clamped-0"),
        pytest.param(MULTI, set(), TWO_OF_FOUR, D(0), id="multi-none-chosen"),
        pytest.param(MULTI, {1, 2, 3}, THREE_THIRDS, D(1), id="multi-thirds-sum-to-1"),
        pytest.param(MULTI, {1, 2}, {1: D(1), 2: D(1)}, D(1), id="multi-over-1-clamped-to-1"),
    ],
)
def test_question_credit(
    kind: QuestionKind, chosen: set[int], fractions: Mapping[int, Decimal], expected: Decimal
) -> None:
    assert question_credit(kind=kind, chosen=frozenset(chosen), fractions=fractions) == expected


@pytest.mark.parametrize("kind", list(QuestionKind), ids=str)
def test_every_kind_has_a_credit_rule(kind: QuestionKind) -> None:
    assert question_credit(kind=kind, chosen=frozenset({1}), fractions=FOUR_OPTIONS) == D(1)


@pytest.mark.parametrize(
    ("kind", "chosen", "fractions", "message"),
    [
        pytest.param(SINGLE, {1, 2}, FOUR_OPTIONS, "at most one", id="single-two-chosen"),
        pytest.param(TRUE_FALSE, {0, 1}, TRUE_FALSE_OPTIONS, "at most one", id="tf-both-chosen"),
        pytest.param(SINGLE, {9}, FOUR_OPTIONS, "not options", id="unknown-option"),
        pytest.param(MULTI, {1, 9}, TWO_OF_FOUR, "not options", id="multi-unknown-option"),
        pytest.param(SINGLE, {1}, {1: D("1.01")}, r"outside \[-1, 1\]", id="fraction-above-1"),
        pytest.param(MULTI, {1}, {1: D("-1.5")}, r"outside \[-1, 1\]", id="fraction-below-minus-1"),
    ],
)
def test_question_credit_rejects_programmer_errors(
    kind: QuestionKind, chosen: set[int], fractions: Mapping[int, Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        question_credit(kind=kind, chosen=frozenset(chosen), fractions=fractions)


@pytest.mark.parametrize(
    ("credits", "question_count", "expected"),
    [
        pytest.param([D(1)] * 25, 25, D(100), id="all-right"),
        pytest.param([D(0)] * 25, 25, D(0), id="all-wrong"),
        pytest.param([], 25, D(0), id="nothing-answered"),
        pytest.param([D(1)] * 20, 25, D(80), id="five-unanswered-count-0"),
        pytest.param([D(1)] * 12 + [D("0.5")], 25, D(50), id="half-credit-counts"),
        pytest.param([D(1)] * 37, 50, D(74), id="two-disciplines"),
        pytest.param(
            [D(1)], 3, D("33.33333333333333333333333333"), id="one-third-28-digits-unrounded"
        ),
    ],
)
def test_exam_percent(credits: list[Decimal], question_count: int, expected: Decimal) -> None:
    assert exam_percent(credits, question_count) == expected


def test_exam_percent_ignores_the_callers_decimal_context() -> None:
    with localcontext() as context:
        context.prec = 3
        assert exam_percent([D(1)], 3) == D("33.33333333333333333333333333")


@pytest.mark.parametrize(
    ("credits", "question_count", "message"),
    [
        pytest.param([], 0, "positive", id="zero-questions"),
        pytest.param([], -25, "positive", id="negative-questions"),
        pytest.param([D(1)] * 26, 25, "26 credits", id="more-credits-than-questions"),
        pytest.param([D("1.5")], 25, r"\[0, 1\]", id="credit-above-1"),
        pytest.param([D("-0.5")], 25, r"\[0, 1\]", id="credit-negative"),
    ],
)
def test_exam_percent_rejects_programmer_errors(
    credits: list[Decimal], question_count: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        exam_percent(credits, question_count)


@pytest.mark.parametrize(
    ("disciplines", "expected"),
    [pytest.param(1, 25, id="one"), pytest.param(3, 75, id="three")],
)
def test_paper_question_count(disciplines: int, expected: int) -> None:
    assert QUESTIONS_PER_DISCIPLINE == 25
    assert paper_question_count(disciplines) == expected


def test_paper_needs_a_discipline() -> None:
    with pytest.raises(ValueError, match="at least one discipline"):
        paper_question_count(0)
