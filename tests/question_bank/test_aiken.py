"""Aiken: lettered options and one ANSWER line per question."""

from __future__ import annotations

from question_bank import aiken
from question_bank.inspect import inspect_bytes
from question_bank.model import QuestionType, TextFormat


def test_two_questions_with_both_option_styles() -> None:
    parsed = aiken.parse(
        "Capital of France?\nA. Paris\nB. Rome\nANSWER: A\n\n2 + 2 =\nA) 3\nB) 4\nC) 5\nANSWER: B\n"
    )
    assert not parsed.errors
    first, second = parsed.questions
    assert first.type is QuestionType.SINGLE_CHOICE
    assert [(o.text, o.fraction) for o in first.options] == [("Paris", 1.0), ("Rome", 0.0)]
    assert [o.fraction for o in second.options] == [0.0, 1.0, 0.0]
    assert (first.line, second.line) == (1, 6)


def test_text_is_plain_so_markup_reaches_the_examinee_as_text() -> None:
    question = aiken.parse("Is <b> a tag & more?\nA) yes\nB) no\nANSWER: A").questions[0]
    assert question.text == "Is <b> a tag & more?"
    assert question.text_format is TextFormat.PLAIN


def test_answer_letter_must_name_an_option() -> None:
    parsed = aiken.parse("Q?\nA) x\nB) y\nANSWER: D\n")
    assert parsed.errors[0].line == 1
    assert "not one of the options" in parsed.errors[0].message
    assert parsed.questions[0].deliverable is False


def test_missing_answer_line_is_an_error() -> None:
    parsed = aiken.parse("Q?\nA) x\nB) y\n")
    assert parsed.errors
    assert "ANSWER" in parsed.errors[0].message
    assert len(parsed.questions) == 1


def test_stray_line_after_options_is_reported_with_its_line() -> None:
    parsed = aiken.parse("Q?\nA) x\nB) y\nthis is not an option\nANSWER: A\n")
    assert parsed.errors[0].line == 4


def test_inspect_detects_aiken_from_content() -> None:
    report = inspect_bytes(b"Q?\nA) x\nB) y\nANSWER: B\n", "questions.txt")
    assert report.format is not None
    assert report.format.value == "aiken"
    assert report.ok
