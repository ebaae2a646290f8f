"""CSV and XLSX: the documented template, the qformat_csv layout, and row-level errors."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from question_bank.inspect import inspect_bytes
from question_bank.limits import DEFAULT_LIMITS
from question_bank.model import QuestionType
from question_bank.tabular import COLUMNS, parse_csv, parse_xlsx, template_csv, template_xlsx

ALL_TYPES = ["single_choice", "multiple_response", "true_false", "short_answer", "numerical",
             "matching", "ordering", "essay"]  # fmt: skip


def test_template_csv_reads_back_one_question_per_type() -> None:
    text = template_csv()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    parsed = parse_csv(text)
    assert not parsed.errors
    assert [q.type.value for q in parsed.questions] == ALL_TYPES
    first = parsed.questions[0]
    assert (first.category, first.tags, first.line) == ("Physics/Optics", ("optics", "spectrum"), 2)


def test_template_xlsx_reads_back_the_same() -> None:
    parsed = parse_xlsx(template_xlsx(), DEFAULT_LIMITS)
    assert not parsed.errors
    assert [q.type.value for q in parsed.questions] == ALL_TYPES
    assert inspect_bytes(template_xlsx(), "t.xlsx").ok


def test_letters_with_shares_and_semicolons() -> None:
    parsed = parse_csv("text;A;B;C;correct\nPick two;x;y;z;A:50 B:50 C:-100\nPick one;x;y;z;b\n")
    first, second = parsed.questions
    assert first.type is QuestionType.MULTIPLE_RESPONSE
    assert [o.fraction for o in first.options] == [0.5, 0.5, -1.0]
    assert second.type is QuestionType.SINGLE_CHOICE
    assert [o.fraction for o in second.options] == [0.0, 1.0, 0.0]


def test_moodle_qformat_csv_layout() -> None:
    parsed = parse_csv(
        'questionname,questiontext,A,B,C,D,Answer 1,Answer 2\nQ1,Which?,a,"b, c",d,e,A,B\n'
    )
    question = parsed.questions[0]
    assert question.name == "Q1"
    assert question.type is QuestionType.MULTIPLE_RESPONSE
    assert [(o.text, o.fraction) for o in question.options] == [
        ("a", 0.5),
        ("b, c", 0.5),
        ("d", 0.0),
        ("e", 0.0),
    ]


def test_multiline_cells_keep_the_row_line() -> None:
    parsed = parse_csv('text,A,B,correct\n"two\nlines",a,b,A\nnext,a,b,Z\n')
    assert parsed.questions[0].text == "two\nlines"
    assert parsed.errors[0].line == 4


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("quiz_type,Q?,a,b,A", "unknown type"),
        ("single_choice,Q?,a,b,D", "names an empty option"),
        ("numerical,Q?,ten,,", "not a number"),
        ("true_false,Q?,,,maybe", "'true' or 'false'"),
        ("single_choice,,a,b,A", "text column is empty"),
    ],
)
def test_row_errors_carry_the_line(row: str, message: str) -> None:
    parsed = parse_csv(f"type,text,A,B,correct\n{row}\n")
    assert parsed.errors[0].line == 2
    assert message in parsed.errors[0].message
    assert parsed.questions[0].deliverable is False


def test_unknown_header_is_an_error() -> None:
    report = inspect_bytes(b"foo,bar\n1,2\n", "bank.csv")
    assert not report.ok
    assert "header" in report.errors[0].message


def test_xlsx_numbers_become_text() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["type", "text", "A", "tolerance"])
    sheet.append(["numerical", "Half of 5?", 2.5, 0.1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    question = parse_xlsx(buffer.getvalue(), DEFAULT_LIMITS).questions[0]
    assert [(o.text, o.tolerance) for o in question.options] == [("2.5", 0.1)]
