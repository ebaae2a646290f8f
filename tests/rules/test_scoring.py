from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, localcontext
from functools import partial

import pytest

from server.rules.scoring import (
    CHOICE_KINDS,
    QUESTIONS_PER_DISCIPLINE,
    AcceptedNumber,
    AcceptedText,
    QuestionKind,
    exam_percent,
    matching_credit,
    numerical_credit,
    ordering_credit,
    paper_question_count,
    question_credit,
    read_number,
    short_answer_credit,
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


# A fully right answer for every kind, through the kind's own rule.
FULLY_RIGHT: dict[QuestionKind, Callable[[], Decimal]] = {
    **{
        kind: partial(question_credit, kind=kind, chosen=frozenset({1}), fractions=FOUR_OPTIONS)
        for kind in CHOICE_KINDS
    },
    QuestionKind.SHORT_ANSWER: lambda: short_answer_credit(
        given="Astana", accepted=[AcceptedText("Astana", D(1))], case_sensitive=False
    ),
    QuestionKind.NUMERICAL: lambda: numerical_credit(
        given="3,5", accepted=[AcceptedNumber("3.5", D(0), D(1))]
    ),
    QuestionKind.MATCHING: lambda: matching_credit(given={1: "a", 2: "b"}, right=["a", "b"]),
    QuestionKind.ORDERING: lambda: ordering_credit(given=["a", "b"], right=["a", "b"]),
}


@pytest.mark.parametrize("kind", list(QuestionKind), ids=str)
def test_every_kind_has_a_credit_rule(kind: QuestionKind) -> None:
    assert kind in FULLY_RIGHT, f"{kind} has no credit rule"
    assert FULLY_RIGHT[kind]() == D(1)


@pytest.mark.parametrize("kind", sorted(set(QuestionKind) - CHOICE_KINDS), ids=str)
def test_question_credit_is_for_choice_kinds_only(kind: QuestionKind) -> None:
    with pytest.raises(ValueError, match="not a choice kind"):
        question_credit(kind=kind, chosen=frozenset(), fractions=FOUR_OPTIONS)


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


# -- short answer --------------------------------------------------------------------------------

CAPITAL = [AcceptedText("Astana", D(1)), AcceptedText("Nur-Sultan", D("0.5"))]
KAZAKH = [AcceptedText("Құнанбайұлы", D(1))]
KAZAKH_LETTERS = [AcceptedText("әғқңөұүһі", D(1))]
WILDCARD = [AcceptedText("photo*synthesis", D(1)), AcceptedText("*", D("0.1"))]
LITERAL_STAR = [AcceptedText("a\\*b", D(1))]
BEST_NOT_FIRST = [AcceptedText("Abai*", D("0.5")), AcceptedText("Abai Kunanbayuly", D(1))]
NEGATIVE = [AcceptedText("wrong", D(-1))]


@pytest.mark.parametrize(
    ("given", "accepted", "case_sensitive", "expected"),
    [
        pytest.param("Astana", CAPITAL, False, D(1), id="exact"),
        pytest.param("astana", CAPITAL, False, D(1), id="case-folded"),
        pytest.param("ASTANA", CAPITAL, True, D(0), id="case-sensitive-refuses-other-case"),
        pytest.param("Astana", CAPITAL, True, D(1), id="case-sensitive-same-case"),
        pytest.param("  Astana \t", CAPITAL, False, D(1), id="surrounding-whitespace-trimmed"),
        pytest.param("nur-sultan", CAPITAL, False, D("0.5"), id="partial-fraction"),
        pytest.param("Nur -Sultan", CAPITAL, False, D(0), id="inner-space-added-is-wrong"),
        pytest.param("Almaty", CAPITAL, False, D(0), id="no-match"),
        pytest.param("", CAPITAL, False, D(0), id="empty"),
        pytest.param("   ", WILDCARD, False, D(0), id="blank-earns-nothing-even-against-star"),
        pytest.param("құнанбайұлы", KAZAKH, False, D(1), id="kazakh-lower-case"),
        pytest.param("ҚҰНАНБАЙҰЛЫ", KAZAKH, False, D(1), id="kazakh-upper-case"),
        pytest.param("ҚҰНАНБАЙҰЛЫ", KAZAKH, True, D(0), id="kazakh-case-sensitive"),
        pytest.param("Кунанбайулы", KAZAKH, False, D(0), id="russian-letters-are-not-kazakh"),
        pytest.param("ӘҒҚҢӨҰҮҺІ", KAZAKH_LETTERS, False, D(1), id="all-nine-kazakh-letters"),
        pytest.param("Abai\u00a0 Qunanbai", BEST_NOT_FIRST, False, D("0.5"), id="star-only"),
        pytest.param("Abai   Kunanbayuly", BEST_NOT_FIRST, False, D(1), id="inner-whitespace"),
        pytest.param("photosynthesis", WILDCARD, False, D(1), id="star-matches-nothing"),
        pytest.param("Photo-Synthesis", WILDCARD, False, D(1), id="star-matches-characters"),
        pytest.param("synthesis", WILDCARD, False, D("0.1"), id="only-the-catch-all"),
        pytest.param("a*b", LITERAL_STAR, False, D(1), id="escaped-star-is-literal"),
        pytest.param("axb", LITERAL_STAR, False, D(0), id="escaped-star-is-no-wildcard"),
        pytest.param("wrong", NEGATIVE, False, D(0), id="negative-fraction-floored"),
        pytest.param("e\u0301te", [AcceptedText("\u00e9te", D(1))], True, D(1), id="nfc"),
    ],
)
def test_short_answer_credit(
    given: str, accepted: Sequence[AcceptedText], case_sensitive: bool, expected: Decimal
) -> None:
    credit = short_answer_credit(given=given, accepted=accepted, case_sensitive=case_sensitive)
    assert credit == expected


def test_short_answer_fraction_out_of_range_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match=r"outside \[-1, 1\]"):
        short_answer_credit(given="x", accepted=[AcceptedText("x", D(2))], case_sensitive=False)


# -- numerical -----------------------------------------------------------------------------------

G = [AcceptedNumber("9.81", D("0.05"), D(1)), AcceptedNumber("10", D(0), D("0.5"))]
EXACT_TENTH = [AcceptedNumber("3.5", D("0.1"), D(1))]
ANY_NUMBER = [AcceptedNumber("42", D(0), D(1)), AcceptedNumber("*", D(0), D("0.2"))]
COMMA_KEY = [AcceptedNumber("2,5", D(0), D(1))]
NEGATIVE_VALUE = [AcceptedNumber("-273.15", D("0.5"), D(1))]


@pytest.mark.parametrize(
    ("given", "accepted", "expected"),
    [
        pytest.param("9.81", G, D(1), id="exact"),
        pytest.param("9,81", G, D(1), id="decimal-comma"),
        pytest.param(" 9.8 ", G, D(1), id="within-tolerance-trimmed"),
        pytest.param("9.76", G, D(1), id="exactly-minus-tolerance"),
        pytest.param("9.86", G, D(1), id="exactly-plus-tolerance"),
        pytest.param("9.7599999", G, D(0), id="just-below-minus-tolerance"),
        pytest.param("9.8600001", G, D(0), id="just-above-plus-tolerance"),
        pytest.param("3.6", EXACT_TENTH, D(1), id="float-unsafe-edge-plus"),
        pytest.param("3,4", EXACT_TENTH, D(1), id="float-unsafe-edge-minus-comma"),
        pytest.param("10", G, D("0.5"), id="partial-value"),
        pytest.param("1e1", G, D("0.5"), id="exponent"),
        pytest.param("981e-2", G, D(1), id="exponent-within-tolerance"),
        pytest.param("", G, D(0), id="empty"),
        pytest.param("nine", G, D(0), id="not-a-number"),
        pytest.param("9.81 m/s²", G, D(0), id="units-not-accepted"),
        pytest.param("9,81,0", G, D(0), id="two-separators"),
        pytest.param("1 000", ANY_NUMBER, D(0), id="thousands-space-not-a-number"),
        pytest.param("42", ANY_NUMBER, D(1), id="best-not-the-star"),
        pytest.param("-7", ANY_NUMBER, D("0.2"), id="star-any-number"),
        pytest.param("seven", ANY_NUMBER, D(0), id="star-needs-a-number"),
        pytest.param("2.5", COMMA_KEY, D(1), id="key-with-comma"),
        pytest.param("-273", NEGATIVE_VALUE, D(1), id="negative-value"),
        pytest.param("\u2212273.4", NEGATIVE_VALUE, D(1), id="unicode-minus"),
        pytest.param("273.15", NEGATIVE_VALUE, D(0), id="sign-matters"),
        pytest.param("1e-999999", G, D(0), id="tiny-number-no-precision-trap"),
    ],
)
def test_numerical_credit(
    given: str, accepted: Sequence[AcceptedNumber], expected: Decimal
) -> None:
    assert numerical_credit(given=given, accepted=accepted) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("3,5", D("3.5"), id="comma"),
        pytest.param("+.5", D("0.5"), id="plus-leading-point"),
        pytest.param("5.", D(5), id="trailing-point"),
        pytest.param("1E3", D(1000), id="exponent"),
        pytest.param("\u22121e\u22123", D("-0.001"), id="unicode-minus-twice"),
        pytest.param("", None, id="empty"),
        pytest.param(".", None, id="lone-point"),
        pytest.param("1,000.5", None, id="two-separators"),
        pytest.param("NaN", None, id="nan"),
        pytest.param("Infinity", None, id="infinity"),
        pytest.param("\u0663", None, id="arabic-indic-digit"),
        pytest.param("3\n4", None, id="newline-inside"),
    ],
)
def test_read_number(text: str, expected: Decimal | None) -> None:
    assert read_number(text) == expected


def test_a_stored_value_that_is_not_a_number_accepts_nothing() -> None:
    accepted = [AcceptedNumber("about five", D(1), D(1)), AcceptedNumber("5", D(0), D("0.5"))]
    assert numerical_credit(given="5", accepted=accepted) == D("0.5")


def test_a_negative_tolerance_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        numerical_credit(given="1", accepted=[AcceptedNumber("1", D(-1), D(1))])


# -- matching ------------------------------------------------------------------------------------

UNITS = ["newton", "joule", "watt"]
SHARED = ["mammal", "mammal", "bird"]


@pytest.mark.parametrize(
    ("given", "right", "expected"),
    [
        pytest.param({1: "newton", 2: "joule", 3: "watt"}, UNITS, D(1), id="all-right"),
        pytest.param({1: "newton", 2: "watt", 3: "joule"}, UNITS, D(1) / 3, id="one-of-three"),
        pytest.param({1: "newton"}, UNITS, D(1) / 3, id="partial-answer"),
        pytest.param({}, UNITS, D(0), id="nothing-matched"),
        pytest.param({1: "pascal", 2: "pascal"}, UNITS, D(0), id="distractor-chosen"),
        pytest.param({1: "mammal", 2: "mammal", 3: "bird"}, SHARED, D(1), id="shared-answer"),
        pytest.param({1: "mammal", 2: "bird"}, SHARED, D("0.5") / D("1.5"), id="shared-half"),
    ],
)
def test_matching_credit(given: dict[int, str], right: list[str], expected: Decimal) -> None:
    assert matching_credit(given=given, right=right) == expected


@pytest.mark.parametrize(
    ("given", "right", "message"),
    [
        pytest.param({4: "x"}, UNITS, "not stems", id="unknown-stem"),
        pytest.param({0: "x"}, UNITS, "not stems", id="stem-zero"),
        pytest.param({}, [], "at least one stem", id="no-stems"),
    ],
)
def test_matching_credit_rejects_programmer_errors(
    given: dict[int, str], right: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        matching_credit(given=given, right=right)


# -- ordering ------------------------------------------------------------------------------------

FOUR = ["violet", "blue", "green", "red"]


@pytest.mark.parametrize(
    ("given", "right", "expected"),
    [
        pytest.param(FOUR, FOUR, D(1), id="right-order"),
        pytest.param(["blue", "violet", "green", "red"], FOUR, D("0.5"), id="one-swap"),
        pytest.param(["red", "violet", "blue", "green"], FOUR, D(0), id="shifted-by-one"),
        pytest.param(list(reversed(FOUR)), FOUR, D(0), id="reversed"),
        pytest.param([], FOUR, D(0), id="never-saved"),
        pytest.param(["a", "a", "b"], ["a", "b", "a"], D(1) / 3, id="equal-texts-alike"),
        pytest.param(["a", "b", "a"], ["a", "b", "a"], D(1), id="equal-texts-right"),
    ],
)
def test_ordering_credit(given: list[str], right: list[str], expected: Decimal) -> None:
    assert ordering_credit(given=given, right=right) == expected


@pytest.mark.parametrize(
    ("given", "right", "message"),
    [
        pytest.param(["violet"], FOUR, "exactly once", id="missing-entries"),
        pytest.param([*FOUR, "red"], FOUR, "exactly once", id="entry-twice"),
        pytest.param(["a"], [], "at least one entry", id="no-entries"),
    ],
)
def test_ordering_credit_rejects_programmer_errors(
    given: list[str], right: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ordering_credit(given=given, right=right)
