"""Moodle Cloze (embedded answers), in text files and inside Moodle XML."""

from __future__ import annotations

import pytest

from question_bank import cloze
from question_bank.inspect import inspect_bytes
from question_bank.model import Format, GapKind
from question_bank.validate import review


def test_gaps_are_read_and_replaced_by_markers() -> None:
    result = cloze.extract("A {1:MC:=x#ok~y} and {2:SA:=Paris~%50%paris} and {:NM:=3.5:0.1~*}.")
    assert result.text == "A {#1} and {#2} and {#3}."
    assert not result.problems
    first, second, third = result.gaps
    assert first.kind is GapKind.MULTICHOICE
    assert first.layout == "dropdown"
    assert [(o.text, o.fraction, o.feedback) for o in first.options] == [
        ("x", 1.0, "ok"),
        ("y", 0.0, ""),
    ]
    assert second.weight == 2.0
    assert [(o.text, o.fraction) for o in second.options] == [("Paris", 1.0), ("paris", 0.5)]
    assert [(o.text, o.tolerance) for o in third.options] == [("3.5", 0.1), ("*", 0.0)]


def test_multiresponse_fractions_follow_moodle() -> None:
    gap = cloze.extract("{1:MULTIRESPONSE:=a~=b~c}").gaps[0]
    assert [o.fraction for o in gap.options] == [0.5, 0.5, -0.5]


def test_escaped_braces_and_hashes_in_answers() -> None:
    gap = cloze.extract("{1:SHORTANSWER:=a\\}b\\#c}").gaps[0]
    assert gap.options[0].text == "a}b#c"


@pytest.mark.parametrize(
    "text",
    [
        "{1:MULTICHOICE:=a~b~%50%c}",
        "{2:MULTIRESPONSE_HS:%50%a#x~%50%b~%-100%c}",
        "{1:SHORTANSWER_C:=Paris~%50%paris~*#nope}",
        "{1:NUMERICAL:=3.5:0.1~%50%3}",
        "{1:MULTICHOICE_V:=a~b}",
    ],
)
def test_embed_writes_what_extract_reads(text: str) -> None:
    gaps = cloze.extract(text).gaps
    again = cloze.extract(cloze.embed_all("{#1}", gaps)).gaps
    assert again == gaps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Fruit {1:MULTICHOICE:=Apple#Correct}", "at least 2 choices"),
        ("Fruit {1:MULTICHOICE:Pear~%50%Apple}", "score of 100%"),
        ("Grade {1:NUMERICAL:=zero}", "must be a number"),
        ("No gap {1:MULTICHOICE}", "at least one embedded answer"),
    ],
)
def test_gaps_moodle_refuses_are_errors(text: str, message: str) -> None:
    report = review(cloze.parse(text), path="c.txt", file_format=Format.CLOZE_TEXT)
    assert not report.ok
    assert any(message in e.message for e in report.errors)
    assert report.questions[0].deliverable is False


def test_cloze_text_file_is_one_deliverable_question() -> None:
    report = inspect_bytes(b"Paris is in {1:MC:=France~Spain}, {2:SA:=Europe}.\n", "c.txt")
    assert report.format is not None
    assert report.format.value == "cloze-text"
    assert report.ok
    (question,) = report.questions
    assert question.deliverable
    assert question.default_mark == 3.0
