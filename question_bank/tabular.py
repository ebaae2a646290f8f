"""CSV and XLSX question banks: Emtihan's template, and the Moodle qformat_csv layout.

The Emtihan template has one question per row under this header (names are case-insensitive,
columns may come in any order, and only `text` is required):

    type              single_choice (default), multiple_response, true_false, short_answer,
                      numerical, matching, ordering, essay, description
    category          topic path, levels separated by `/`: `Physics/Optics`
    name              short name; by default the start of the text
    text              the question as the examinee sees it
    text_format       moodle (default: HTML allowed, line breaks kept), html, plain, markdown
    A ... J           the options. short_answer: accepted answers; numerical: the value(s);
                      matching: `item -> match` (`-> match` alone is a distractor);
                      ordering: the items in the correct order
    correct           choice: the right letters, `B` or `A, C`; a letter may carry its share
                      of the mark, `A:50 C:50 D:-100`. Letters alone: one letter makes a
                      single_choice, several a multiple_response sharing the mark.
                      true_false: `true` or `false`. short_answer/numerical: optional shares
                      (`A:100 B:50`), else every answer is fully right. Ignored for matching,
                      ordering, essay and description
    tolerance         numerical: accepted absolute error (default 0)
    case_sensitive    short_answer: yes/no (default no)
    shuffle           yes/no (default yes)
    tags              separated by `;` or `,`
    idnumber          the question's id in the department's own records
    general_feedback  shown after the attempt

A CSV may use `,`, `;` or tab as separator (spreadsheets in kk/ru locales write `;`) and must be
UTF-8. `template_csv()` and `template_xlsx()` build a filled-in example.

The qformat_csv layout (`questionname,questiontext,A,B,C,D,Answer 1,Answer 2`; the answer columns
hold the correct letters) is read as single_choice, or multiple_response sharing the mark when
both answer columns are filled.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from question_bank.htmltext import shorten, visible_text
from question_bank.i18n import _
from question_bank.limits import Limits
from question_bank.model import (
    MatchPair,
    Option,
    Parsed,
    Question,
    QuestionType,
    TextFormat,
    round_fraction,
    undeliverable,
)
from question_bank.numbers import format_number, parse_number
from question_bank.paths import category_path
from question_bank.safezip import UnsafeZip, open_zip

LETTERS = "ABCDEFGHIJ"
COLUMNS = ("type", "category", "name", "text", "text_format", *LETTERS, "correct", "tolerance",
           "case_sensitive", "shuffle", "tags", "idnumber", "general_feedback")  # fmt: skip
MOODLE_CSV = ("questionname", "questiontext", "A", "B", "C", "D", "Answer 1", "Answer 2")
_TYPES = {t.value: t for t in QuestionType if t not in {QuestionType.CLOZE, QuestionType.OTHER}}
_TOKEN = re.compile(r"([A-J])\s*(?:[:=]\s*(-?\d+(?:[.,]\d+)?)\s*%?)?", re.IGNORECASE)
_YES = {"1", "yes", "y", "true", "да", "иә", "ия"}
_NO = {"0", "no", "n", "false", "нет", "жоқ"}
_TRUE = {"true", "t", "верно", "дұрыс"}
_FALSE = {"false", "f", "неверно", "қате"}

_EXAMPLES: list[dict[str, str]] = [
    {"type": "single_choice", "category": "Physics/Optics", "name": "Q1",
     "text": "What colour is between orange and green?", "A": "yellow", "B": "red", "C": "blue",
     "correct": "A", "tags": "optics; spectrum"},
    {"type": "multiple_response", "category": "Physics/Optics", "name": "Q2",
     "text": "Which are primary colours of light?", "A": "red", "B": "green", "C": "yellow",
     "D": "blue", "correct": "A:33.33333 B:33.33333 C:-100 D:33.33333"},
    {"type": "true_false", "category": "Physics/Optics", "name": "Q3",
     "text": "Light travels faster than sound.", "correct": "true"},
    {"type": "short_answer", "category": "Physics/Units", "name": "Q4",
     "text": "The SI unit of force is the ____.", "A": "newton", "B": "N", "correct": ""},
    {"type": "numerical", "category": "Physics/Units", "name": "Q5",
     "text": "g at sea level, in m/s²?", "A": "9.81", "tolerance": "0.05"},
    {"type": "matching", "category": "Physics/Units", "name": "Q6",
     "text": "Match each quantity with its unit.", "A": "force -> newton",
     "B": "energy -> joule", "C": "power -> watt", "D": "-> pascal"},
    {"type": "ordering", "category": "Physics/Optics", "name": "Q7",
     "text": "Order by wavelength, shortest first.", "A": "violet", "B": "green", "C": "red"},
    {"type": "essay", "category": "Physics", "name": "Q8",
     "text": "Explain why the sky is blue."},
]  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value)
    return str(value).strip()


def _flag(value: str, default: bool) -> bool:
    value = value.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    return default


def _header(cells: list[str]) -> tuple[str, dict[str, int]] | None:
    """('template' | 'moodle', column -> index) when the header is one this module reads."""
    stripped = [c.strip() for c in cells]
    if stripped[: len(MOODLE_CSV)] == list(MOODLE_CSV):
        return "moodle", {name: stripped.index(name) for name in MOODLE_CSV}
    canonical = {c.lower(): c for c in COLUMNS}
    found: dict[str, int] = {}
    for index, cell in enumerate(stripped):
        key = cell.lower().replace(" ", "_")
        if key in canonical and canonical[key] not in found:
            found[canonical[key]] = index
    if "text" in found and ("type" in found or "A" in found or "correct" in found):
        return "template", found
    return None


def recognised_header(first_line: str) -> bool:
    """Whether a first line is a header of one of the layouts read here (for detection)."""
    line = first_line.strip("\r\n")
    try:
        cells = next(csv.reader([line], delimiter=_delimiter(line)), [])
    except csv.Error:
        return False
    return _header(cells) is not None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _rows_from_csv(text: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first_line))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        yield start, row


def parse_csv(text: str) -> Parsed:
    try:
        return _parse_rows(_rows_from_csv(text))
    except csv.Error as exc:
        parsed = Parsed()
        parsed.error(None, None, _("malformed CSV: {detail}").format(detail=exc))
        return parsed


def parse_xlsx(data: bytes, limits: Limits) -> Parsed:
    parsed = Parsed()
    try:
        open_zip(data, limits).close()
    except UnsafeZip as exc:
        parsed.error(None, None, str(exc))
        return parsed
    from openpyxl import load_workbook  # heavy; only loaded for workbooks

    try:
        with warnings.catch_warnings():
            # openpyxl warns about spreadsheet features it drops (data validation, styles...).
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                rows = [
                    (n, [_cell(v) for v in row])
                    for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)
                ]
            finally:
                workbook.close()
    except Exception as exc:
        # openpyxl raises a zoo of types on broken workbooks; all mean "unreadable".
        parsed.error(None, None, _("unreadable XLSX workbook: {detail}").format(detail=exc))
        return parsed
    return _parse_rows(rows)


def _parse_rows(rows: Iterable[tuple[int, list[str]]]) -> Parsed:
    parsed = Parsed()
    header: tuple[str, dict[str, int]] | None = None
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            if header is None:
                parsed.error(
                    line,
                    None,
                    _(
                        "unrecognised header; expected the Emtihan template columns (type, "
                        "category, name, text, A-J, correct, ...) or qformat_csv's "
                        "questionname,questiontext,A,B,C,D,Answer 1,Answer 2"
                    ),
                )
                return parsed
            continue
        layout, columns = header
        row = {name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()}
        if layout == "moodle":
            row = {
                "name": row["questionname"], "text": row["questiontext"],
                **{letter: row[letter] for letter in "ABCD"},
                "correct": ",".join(x for x in (row["Answer 1"], row["Answer 2"]) if x),
            }  # fmt: skip
        _row(parsed, row, line)
    if header is None:
        parsed.error(None, None, _("the file has no header row and no questions"))
    return parsed


def _row(parsed: Parsed, row: dict[str, str], line: int) -> None:
    text = row.get("text", "")
    name = row.get("name") or shorten(visible_text(text)) or _("Question")
    type_name = row.get("type", "").strip().lower() or "single_choice"
    fmt_name = row.get("text_format", "").strip().lower() or "moodle"
    problems: list[str] = []
    question_type: QuestionType | None = _TYPES.get(type_name)
    if question_type is None:
        problems.append(_("unknown type '{type}'").format(type=type_name))
        question_type = QuestionType.OTHER
    if fmt_name not in {f.value for f in TextFormat}:
        problems.append(_("unknown text_format '{fmt}'").format(fmt=fmt_name))
        fmt_name = "moodle"
    if not text:
        problems.append(_("the text column is empty"))
    tags = tuple(t.strip() for t in re.split(r"[;,]", row.get("tags", "")) if t.strip())
    fields: dict[str, Any] = {
        "name": name,
        "source_type": type_name,
        "text": text,
        "text_format": TextFormat(fmt_name),
        "category": category_path(row.get("category", "")),
        "tags": tags,
        "idnumber": row.get("idnumber") or None,
        "general_feedback": row.get("general_feedback", ""),
        "shuffle": _flag(row.get("shuffle", ""), True),
        "line": line,
    }
    letters = [(letter, row.get(letter, "")) for letter in LETTERS if row.get(letter, "")]
    question = _build(question_type, fields, letters, row, problems)
    for problem in problems:
        parsed.error(line, name, problem)
    if problems:
        question = undeliverable(question, problems[0])
    parsed.questions.append(question)


def _shares(correct: str, problems: list[str], letters: set[str]) -> dict[str, float | None]:
    shares: dict[str, float | None] = {}
    leftover = _TOKEN.sub("", correct)
    if re.sub(r"[\s,;]", "", leftover):
        problems.append(
            _(
                "cannot read the correct column '{value}'; write letters such as 'B' or 'A:50 C:50'"
            ).format(value=correct)
        )
    for letter, share in _TOKEN.findall(correct):
        letter = letter.upper()
        if letter not in letters:
            problems.append(
                _("correct answer {letter} names an empty option").format(letter=letter)
            )
            continue
        shares[letter] = float(share.replace(",", ".")) / 100 if share else None
    return shares


def _build(
    question_type: QuestionType,
    fields: dict[str, Any],
    letters: list[tuple[str, str]],
    row: dict[str, str],
    problems: list[str],
) -> Question:
    correct = row.get("correct", "")
    present = {letter for letter, _text in letters}
    if question_type in {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE}:
        shares = _shares(correct, problems, present)
        explicit = any(v is not None for v in shares.values())
        several = len(shares) > 1
        if not row.get("type") and (several or explicit):
            question_type = QuestionType.MULTIPLE_RESPONSE
        single = question_type is QuestionType.SINGLE_CHOICE
        options = []
        for letter, text in letters:
            share = shares.get(letter, 0.0)
            if share is None:
                share = 1.0 if single else 1.0 / len(shares)
            options.append(Option(text, round_fraction(share)))
        if len(options) < 2:
            problems.append(_("a choice question needs at least 2 options"))
        return Question(type=question_type, options=tuple(options), single=single, **fields)
    if question_type is QuestionType.TRUE_FALSE:
        word = correct.strip().lower()
        if word not in _TRUE | _FALSE:
            problems.append(_("true_false needs 'true' or 'false' in the correct column"))
        is_true = word in _TRUE
        both = (
            Option("True", 1.0 if is_true else 0.0),
            Option("False", 0.0 if is_true else 1.0),
        )
        return Question(
            type=question_type, options=both, single=True, **(fields | {"shuffle": False})
        )
    if question_type in {QuestionType.SHORT_ANSWER, QuestionType.NUMERICAL}:
        shares = _shares(correct, problems, present) if correct.strip() else {}
        tolerance = parse_number(row.get("tolerance", "") or "0")
        if tolerance is None:
            problems.append(
                _("tolerance '{value}' is not a number").format(value=row.get("tolerance"))
            )
            tolerance = 0.0
        options = []
        for letter, text in letters:
            share = shares.get(letter, 1.0 if not shares else 0.0)
            if (
                question_type is QuestionType.NUMERICAL
                and text != "*"
                and parse_number(text) is None
            ):
                problems.append(_("numerical answer '{value}' is not a number").format(value=text))
            options.append(
                Option(
                    text,
                    round_fraction(1.0 if share is None else share),
                    "",
                    abs(tolerance) if question_type is QuestionType.NUMERICAL else 0.0,
                )
            )
        if not options:
            problems.append(_("at least one accepted answer is needed in column A"))
        return Question(
            type=question_type,
            options=tuple(options),
            case_sensitive=_flag(row.get("case_sensitive", ""), False),
            **(fields | {"shuffle": False}),
        )
    if question_type is QuestionType.MATCHING:
        pairs = []
        for letter, text in letters:
            if "->" not in text:
                problems.append(
                    _("matching option {letter} needs 'item -> match'").format(letter=letter)
                )
                continue
            left, right = text.split("->", 1)
            pairs.append(MatchPair(left.strip(), right.strip()))
        return Question(type=question_type, pairs=tuple(pairs), **fields)
    if question_type is QuestionType.ORDERING:
        return Question(type=question_type, ordering_items=tuple(t for _l, t in letters), **fields)
    reason = {
        QuestionType.ESSAY: _("an essay has no automatic score; it needs a human marker"),
        QuestionType.DESCRIPTION: _("a description has nothing to answer"),
    }.get(question_type, _("unknown question type"))
    return Question(type=question_type, deliverable=False, skip_reason=reason, **fields)


def _template_rows() -> list[list[str]]:
    return [list(COLUMNS)] + [[example.get(c, "") for c in COLUMNS] for example in _EXAMPLES]


def template_csv() -> str:
    """The Emtihan CSV template with one example row per question type."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(_template_rows())
    return buffer.getvalue()


def template_xlsx() -> bytes:
    """The same template as an XLSX workbook (first sheet: questions; second: column help)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Questions"
    for row in _template_rows():
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    help_sheet = workbook.create_sheet("Help")
    for line in (__doc__ or "").splitlines():
        help_sheet.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
