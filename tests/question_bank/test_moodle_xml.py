"""Moodle XML import: types, categories, Moodle's quirks."""

from __future__ import annotations

import pytest

from question_bank import moodle_xml
from question_bank.inspect import inspect_bytes
from question_bank.model import GapKind, QuestionType, TextFormat


def _quiz(*questions: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>"
    ).encode()


def _question(kind: str, body: str, name: str = "Q", text: str = "Text?") -> str:
    return (
        f'<question type="{kind}"><name><text>{name}</text></name>'
        f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>'
        f"{body}</question>"
    )


def _answer(fraction: str, text: str, extra: str = "") -> str:
    return f'<answer fraction="{fraction}"><text>{text}</text>{extra}</answer>'


def test_single_false_is_multiple_response_even_with_one_full_answer() -> None:
    data = _quiz(
        _question("multichoice", "<single>false</single>" + _answer("100", "a") + _answer("0", "b"))
    )
    question = moodle_xml.parse(data).questions[0]
    assert question.type is QuestionType.MULTIPLE_RESPONSE
    assert [o.fraction for o in question.options] == [1.0, 0.0]


def test_fractions_are_percent_over_100_with_seven_decimals() -> None:
    body = "<single>false</single>" + "".join(
        _answer(f, t)
        for f, t in (("33.33333", "a"), ("33.33333", "b"), ("33.33334", "c"), ("-100", "d"))
    )
    question = moodle_xml.parse(_quiz(_question("multichoice", body))).questions[0]
    assert [o.fraction for o in question.options] == [0.3333333, 0.3333333, 0.3333334, -1.0]


def test_true_false_is_true_then_false_whatever_the_source_order() -> None:
    body = _answer("100", "false") + _answer("0", "true")
    question = moodle_xml.parse(_quiz(_question("truefalse", body))).questions[0]
    assert [(o.text, o.fraction) for o in question.options] == [("True", 0.0), ("False", 1.0)]


def test_categories_lose_their_context_markers_and_apply_to_what_follows() -> None:
    category = (
        '<question type="category"><category><text>$system$/top/Maths/Algebra</text></category>'
        '<info format="html"><text>Linear equations</text></info></question>'
    )
    parsed = moodle_xml.parse(
        _quiz(category, _question("truefalse", _answer("100", "true") + _answer("0", "false")))
    )
    assert [(c.path, c.info) for c in parsed.categories] == [("Maths/Algebra", "Linear equations")]
    assert parsed.questions[0].category == "Maths/Algebra"


def test_numerical_tolerance_and_shortanswer_case() -> None:
    numerical = _question("numerical", _answer("100", "9.81", "<tolerance>0.05</tolerance>"))
    short = _question("shortanswer", "<usecase>1</usecase>" + _answer("100", "Paris"))
    first, second = moodle_xml.parse(_quiz(numerical, short)).questions
    assert (first.options[0].text, first.options[0].tolerance) == ("9.81", 0.05)
    assert second.case_sensitive is True


def test_ordering_follows_the_stored_positions() -> None:
    body = _answer("2", "second") + _answer("1", "first") + _answer("3", "third")
    question = moodle_xml.parse(_quiz(_question("ordering", body))).questions[0]
    assert question.ordering_items == ("first", "second", "third")


def test_gapselect_becomes_a_cloze_with_one_dropdown_per_gap() -> None:
    body = "".join(
        f"<selectoption><text>{word}</text><group>{group}</group></selectoption>"
        for word, group in (("cat", 1), ("mat", 1), ("sat", 2), ("ran", 2))
    )
    question = moodle_xml.parse(
        _quiz(_question("gapselect", body, text="The [[1]] [[3]] on the [[2]]."))
    ).questions[0]
    assert question.type is QuestionType.CLOZE
    assert question.text == "The {#1} {#2} on the {#3}."
    assert [g.kind for g in question.gaps] == [GapKind.MULTICHOICE] * 3
    assert [[(o.text, o.fraction) for o in g.options] for g in question.gaps] == [
        [("cat", 1.0), ("mat", 0.0)],
        [("sat", 1.0), ("ran", 0.0)],
        [("cat", 0.0), ("mat", 1.0)],
    ]


def test_unsupported_types_are_kept_with_a_reason() -> None:
    question = moodle_xml.parse(_quiz(_question("calculated", ""))).questions[0]
    assert question.type is QuestionType.OTHER
    assert question.deliverable is False
    assert "calculated" in (question.skip_reason or "")


def test_lone_question_root_and_text_format() -> None:
    data = (
        b'<question type="essay"><name><text>E</text></name>'
        b'<questiontext format="plain_text"><text>Write.</text></questiontext></question>'
    )
    question = moodle_xml.parse(data).questions[0]
    assert question.type is QuestionType.ESSAY
    assert question.text_format is TextFormat.PLAIN


def test_malformed_xml_is_an_error_with_its_line() -> None:
    parsed = moodle_xml.parse(b"<quiz>\n<question type='truefalse'>\n<name></question>\n</quiz>")
    assert parsed.errors[0].line == 3
    assert "malformed XML" in parsed.errors[0].message


def test_missing_embedded_file_is_a_warning() -> None:
    data = _quiz(
        _question(
            "truefalse",
            _answer("100", "true") + _answer("0", "false"),
            text='<img src="@@PLUGINFILE@@/a.png">',
        )
    )
    report = inspect_bytes(data, "q.xml")
    assert report.ok
    assert any("a.png" in w.message for w in report.warnings)


def test_embedded_files_are_kept() -> None:
    data = _quiz(
        _question(
            "truefalse",
            _answer("100", "true") + _answer("0", "false"),
            text='<img src="@@PLUGINFILE@@/a.png">',
        ).replace(
            "</questiontext>", '<file name="a.png" encoding="base64">aGVsbG8=</file></questiontext>'
        )
    )
    question = moodle_xml.parse(data).questions[0]
    assert [(f.name, f.data) for f in question.files] == [("a.png", b"hello")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_answer("100", "only"), "at least 2 answers"),
        (_answer("150", "a") + _answer("0", "b"), "must be between -1 and 1"),
        (_answer("abc", "a") + _answer("0", "b"), "is not a number"),
    ],
)
def test_unscorable_choice_questions_are_errors(body: str, message: str) -> None:
    report = inspect_bytes(_quiz(_question("multichoice", body)), "q.xml")
    assert not report.ok
    assert any(message in e.message for e in report.errors)
    assert report.questions[0].deliverable is False
