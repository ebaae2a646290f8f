"""GIFT as Moodle 4.5 reads it, plus the errors a department head needs pointed out."""

from __future__ import annotations

import pytest

from question_bank import gift
from question_bank.inspect import inspect_bytes
from question_bank.model import Question, QuestionType, TextFormat


def _one(text: str) -> Question:
    parsed = gift.parse(text)
    assert not parsed.errors, parsed.errors
    assert len(parsed.questions) == 1
    return parsed.questions[0]


@pytest.mark.parametrize(
    ("source", "expected_type", "fractions"),
    [
        ("Q?{=a ~b ~c}", QuestionType.SINGLE_CHOICE, [1, 0, 0]),
        ("Q?{~%100%a ~b}", QuestionType.MULTIPLE_RESPONSE, [1, 0]),
        ("Q?{~%50%a ~%50%b ~%-100%c}", QuestionType.MULTIPLE_RESPONSE, [0.5, 0.5, -1]),
        ("Q?{T}", QuestionType.TRUE_FALSE, [1, 0]),
        ("Q?{FALSE}", QuestionType.TRUE_FALSE, [0, 1]),
        ("Q?{=yes =%50%maybe}", QuestionType.SHORT_ANSWER, [1, 0.5]),
        ("Q?{#5:1}", QuestionType.NUMERICAL, [1]),
        ("Q?{}", QuestionType.ESSAY, []),
        ("Just words.", QuestionType.DESCRIPTION, []),
    ],
)
def test_type_decided_as_moodle_does(
    source: str, expected_type: QuestionType, fractions: list[float]
) -> None:
    question = _one(source)
    assert question.type is expected_type
    assert [o.fraction for o in question.options] == pytest.approx(fractions)


def test_true_false_is_true_then_false_with_feedback_on_the_right_side() -> None:
    question = _one("Sky is blue.{TRUE#wrong one#right one}")
    assert [(o.text, o.fraction, o.feedback) for o in question.options] == [
        ("True", 1.0, "right one"),
        ("False", 0.0, "wrong one"),
    ]


def test_escapes_name_format_and_feedback() -> None:
    question = _one("::A\\: B::[html]<p>1 \\= 1?</p>{=yes \\{ok\\}#right \\#1 ~no}")
    assert question.name == "A: B"
    assert question.text == "<p>1 = 1?</p>"
    assert question.text_format is TextFormat.HTML
    assert question.options[0].text == "yes {ok}"
    assert question.options[0].feedback == "right #1"


def test_double_backslash_is_one_backslash_and_n_is_a_line_break() -> None:
    question = _one("A \\\\ B\\nC{}")
    assert question.text == "A \\ B\nC"


def test_missing_word_stem_gets_a_blank() -> None:
    question = _one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert question.text == "Grant is _____ in Grant's tomb."


def test_category_tags_and_idnumber() -> None:
    parsed = gift.parse(
        "$CATEGORY: $course$/top/Physics/Optics\n\n// [tag:light] [tag:waves] [id:OPT-1]\n"
        "::Q1::Colour?{=yellow ~red}\n"
    )
    question = parsed.questions[0]
    assert [c.path for c in parsed.categories] == ["Physics/Optics"]
    assert question.category == "Physics/Optics"
    assert question.tags == ("light", "waves")
    assert question.idnumber == "OPT-1"


def test_category_line_glued_to_a_question_still_counts() -> None:
    parsed = gift.parse("$CATEGORY: Maths\n::Q::1+1?{=2 ~3}\n")
    assert parsed.questions[0].category == "Maths"


def test_numerical_ranges_tolerances_and_catch_all() -> None:
    question = _one("N?{#\n=%100%3.5:0.5#close\n=%50%1..5\n~#no}")
    assert [(o.text, o.fraction, o.tolerance) for o in question.options] == [
        ("3.5", 1.0, 0.5),
        ("3", 0.5, 2.0),
        ("*", 0.0, 0.0),
    ]


def test_decimal_comma_is_a_number() -> None:
    assert _one("N?{#3,5}").options[0].text == "3,5"


def test_ordering_extension() -> None:
    question = _one("::O::Order.{>3 ALL VERTICAL ABSOLUTE_POSITION SHOW\nfirst\nsecond\nthird\n}")
    assert question.type is QuestionType.ORDERING
    assert question.ordering_items == ("first", "second", "third")


def test_matching_pairs_and_distractor() -> None:
    question = _one("M.{=cat -> mammal =frog -> amphibian = -> insect}")
    assert [(p.prompt, p.answer) for p in question.pairs] == [
        ("cat", "mammal"),
        ("frog", "amphibian"),
        ("", "insect"),
    ]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("// c\n\n::Q::Broken {=a ~b\n", 3, "unbalanced braces"),
        ("::Q1::One {=a ~b}\n::Q2::Two {=c ~d}\n", 1, "two answer blocks"),
        ("\n\n::Q::Choose {~only}", 3, "at least 2 answers"),
        ("::Q::N {#abc}", 1, "is not a number"),
        ("::Q::M {=a -> b =c}", 1, "'->'"),
    ],
)
def test_syntax_errors_point_at_the_question_line(source: str, line: int, message: str) -> None:
    parsed = gift.parse(source)
    assert parsed.errors
    assert parsed.errors[0].line == line
    assert message in parsed.errors[0].message
    # The broken item is still listed, never dropped.
    assert len(parsed.questions) == 1
    assert parsed.questions[0].deliverable is False


def test_crlf_file_through_inspect() -> None:
    report = inspect_bytes(b"::Q1::A?{=a ~b}\r\n\r\n::Q2::B?{T}\r\n", "bank.gift")
    assert report.ok
    assert [q.line for q in report.questions] == [1, 3]


def test_several_full_marks_in_single_choice_is_a_warning() -> None:
    report = inspect_bytes(b"::Q::Pick.{=a =b ~c}", "bank.gift")
    assert report.ok
    assert any("2 correct options" in w.message for w in report.warnings)


def test_no_correct_option_is_a_warning_and_not_deliverable() -> None:
    report = inspect_bytes(b"::Q::Pick.{~a ~b}", "bank.gift")
    assert report.ok
    assert any("no correct option" in w.message for w in report.warnings)
    assert report.questions[0].deliverable is False
