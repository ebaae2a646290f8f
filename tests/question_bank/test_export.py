"""Exports read back into the same items: over the whole shared corpus, and case by case."""

from __future__ import annotations

import io
import zipfile

import pytest

from question_bank.export import to_moodle_xml, to_qti21_package
from question_bank.htmltext import canonical_html, plain_to_html
from question_bank.inspect import inspect_bytes, inspect_paths
from question_bank.model import Category, FileReport, Option, Question, QuestionType, TextFormat

from .conftest import corpus_dir, corpus_files


def _shown(text: str, fmt: TextFormat) -> str:
    """What an examinee sees: QTI carries every text as XHTML, so compare rendered forms."""
    if fmt in {TextFormat.PLAIN, TextFormat.MARKDOWN}:
        text = plain_to_html(text)
    return canonical_html(text)


def _identity(question: Question, *, rendered: bool) -> tuple[object, ...]:
    fmt = question.text_format

    def text(value: str) -> object:
        return _shown(value, fmt) if rendered else value

    choice = question.type in {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE}
    return (
        question.name,
        question.type,
        text(question.text),
        None if rendered else fmt,
        tuple(
            (text(o.text) if choice else o.text, o.fraction, o.tolerance) for o in question.options
        ),
        tuple((text(p.prompt), p.answer) for p in question.pairs if p.prompt),
        sorted(p.answer for p in question.pairs if not p.prompt),  # distractors: order is free
        tuple(text(i) for i in question.ordering_items),
        tuple(
            (
                g.kind,
                g.weight,
                g.case_sensitive,
                tuple((o.text, o.fraction, o.tolerance) for o in g.options),
            )
            for g in question.gaps
        ),
        question.category,
        question.tags,
    )


def _deliverable_corpus() -> list[Question]:
    folder = corpus_dir()
    reports = inspect_paths([folder / name for name in corpus_files(banks_only=True)])
    questions = [q for r in reports for q in r.questions if q.deliverable]
    assert len(questions) > 80
    return questions


def _assert_same(before: list[Question], after: FileReport, *, rendered: bool) -> None:
    assert after.ok, after.errors[:3]
    assert len(after.questions) == len(before)
    for original, again in zip(before, after.questions, strict=True):
        assert _identity(again, rendered=rendered) == _identity(original, rendered=rendered)


def test_corpus_round_trip_through_moodle_xml() -> None:
    questions = _deliverable_corpus()
    report = inspect_bytes(to_moodle_xml(questions).encode(), "export.xml")
    assert report.format is not None
    assert report.format.value == "moodle-xml"
    _assert_same(questions, report, rendered=False)


def test_corpus_round_trip_through_a_qti21_package() -> None:
    questions = _deliverable_corpus()
    report = inspect_bytes(to_qti21_package(questions), "export.zip")
    assert report.format is not None
    assert report.format.value == "qti-package"
    _assert_same(questions, report, rendered=True)


def _question(**fields: object) -> Question:
    base: dict[str, object] = {
        "name": "Q",
        "type": QuestionType.SINGLE_CHOICE,
        "source_type": "test",
        "text": "<p>Pick.</p>",
    }
    return Question(**(base | fields))  # type: ignore[arg-type]


EXAMPLES = [
    _question(
        options=(Option("a & b", 1.0, "yes"), Option("c", 0.0)), category="A/B", tags=("t1", "t2")
    ),
    _question(
        type=QuestionType.MULTIPLE_RESPONSE,
        options=(Option("a", 0.5), Option("b", 0.5), Option("c", -1.0)),
    ),
    _question(type=QuestionType.TRUE_FALSE, options=(Option("True", 0.0), Option("False", 1.0))),
    _question(type=QuestionType.SHORT_ANSWER, text="Capital: _____", case_sensitive=True,
              options=(Option("Paris", 1.0), Option("paris", 0.5), Option("*", 0.0, "no"))),
    _question(
        type=QuestionType.NUMERICAL,
        options=(Option("9.81", 1.0, "", 0.05), Option("10", 0.5), Option("*", 0.0)),
    ),
    _question(type=QuestionType.ORDERING, ordering_items=("one", "two", "three")),
    _question(type=QuestionType.ESSAY, text="Write.", deliverable=False),
    _question(type=QuestionType.DESCRIPTION, text="Read.", deliverable=False),
    _question(text="Plain <b> & text", text_format=TextFormat.PLAIN,
              options=(Option("x < y", 1.0), Option("y", 0.0))),
]  # fmt: skip


@pytest.mark.parametrize(
    "question", EXAMPLES, ids=lambda q: f"{q.type.value}-{q.text_format.value}"
)
def test_each_type_round_trips(question: Question) -> None:
    moodle = inspect_bytes(to_moodle_xml([question]).encode(), "x.xml")
    assert _identity(moodle.questions[0], rendered=False) == _identity(question, rendered=False)
    qti = inspect_bytes(to_qti21_package([question]), "x.zip")
    assert _identity(qti.questions[0], rendered=True) == _identity(question, rendered=True)


def test_categories_are_declared_with_their_info() -> None:
    xml = to_moodle_xml(EXAMPLES[:2], categories=[Category("A/B", "About B")])
    report = inspect_bytes(xml.encode(), "x.xml")
    assert [(c.path, c.info) for c in report.categories] == [("A/B", "About B")]
    assert [q.category for q in report.questions] == ["A/B", ""]


def test_other_items_are_left_out() -> None:
    other = _question(type=QuestionType.OTHER, deliverable=False)
    assert "<question type=" not in to_moodle_xml([other]).replace('type="category"', "")
    with zipfile.ZipFile(io.BytesIO(to_qti21_package([other]))) as archive:
        assert not [n for n in archive.namelist() if n.startswith("items/")]


def test_package_is_well_formed_qti() -> None:
    with zipfile.ZipFile(io.BytesIO(to_qti21_package(EXAMPLES))) as archive:
        names = archive.namelist()
        assert "imsmanifest.xml" in names
        assert "test.xml" in names
        item = archive.read("items/item0001.xml").decode()
    assert 'xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"' in item
    assert "a &amp; b" in item
