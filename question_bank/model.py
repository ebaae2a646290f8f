"""The normalized item model every format is read into and written from.

Fractions follow Moodle: each option carries the share of the question's mark it earns, in
[-1, 1]. A single-answer item scores the fraction of the one option picked; a multiple-response
item scores the sum of the picked options' fractions, floored at 0. This is the one scoring rule
the server implements, so every importer translates its source's scoring into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class QuestionType(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"
    NUMERICAL = "numerical"
    MATCHING = "matching"
    ORDERING = "ordering"
    CLOZE = "cloze"
    ESSAY = "essay"
    DESCRIPTION = "description"
    OTHER = "other"


# Types whose `options` list is part of the contract; every other type reports an empty list.
OPTION_TYPES = frozenset(
    {
        QuestionType.SINGLE_CHOICE,
        QuestionType.MULTIPLE_RESPONSE,
        QuestionType.TRUE_FALSE,
        QuestionType.SHORT_ANSWER,
        QuestionType.NUMERICAL,
    }
)
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE})


class TextFormat(StrEnum):
    """How a text is rendered: Moodle's four formats (QTI, CSV and XLSX texts are HTML)."""

    HTML = "html"
    MOODLE = "moodle"  # Moodle auto-format: HTML allowed, line breaks kept
    PLAIN = "plain"  # shown verbatim: markup must reach the examinee as text
    MARKDOWN = "markdown"


class Format(StrEnum):
    GIFT = "gift"
    MOODLE_XML = "moodle-xml"
    AIKEN = "aiken"
    QTI21 = "qti-2.1"
    QTI22 = "qti-2.2"
    QTI30 = "qti-3.0"
    QTI_PACKAGE = "qti-package"
    CSV = "csv"
    XLSX = "xlsx"
    CLOZE_TEXT = "cloze-text"


class GapKind(StrEnum):
    MULTICHOICE = "multichoice"  # pick one (drop-down, or radio buttons)
    MULTIRESPONSE = "multiresponse"  # tick several
    SHORT_ANSWER = "shortanswer"
    NUMERICAL = "numerical"


@dataclass(frozen=True, slots=True)
class Option:
    text: str
    fraction: float
    feedback: str = ""
    # Numerical answers only: the accepted absolute error around `text`.
    tolerance: float = 0.0


@dataclass(frozen=True, slots=True)
class MatchPair:
    """One row of a matching item; an empty `prompt` marks a distractor answer."""

    prompt: str
    answer: str


@dataclass(frozen=True, slots=True)
class ClozeGap:
    """One embedded answer of a cloze item; the text shows it as `{#n}` (1-based)."""

    kind: GapKind
    options: tuple[Option, ...]
    weight: float = 1.0  # marks of this gap, relative to the other gaps
    case_sensitive: bool = False
    shuffle: bool = False
    layout: str = "dropdown"  # dropdown | vertical | horizontal (choice gaps only)


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A file shipped inside the question source (Moodle XML base64 `<file>`)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Question:
    name: str
    type: QuestionType
    source_type: str
    text: str
    text_format: TextFormat = TextFormat.HTML
    category: str = ""
    tags: tuple[str, ...] = ()
    idnumber: str | None = None
    options: tuple[Option, ...] = ()
    deliverable: bool = True
    skip_reason: str | None = None
    # What the server needs to deliver and score, beyond the contract's fields.
    single: bool | None = None  # choice items: one answer allowed
    shuffle: bool = True
    case_sensitive: bool = False  # short answers
    pairs: tuple[MatchPair, ...] = ()
    ordering_items: tuple[str, ...] = ()  # in the correct order
    gaps: tuple[ClozeGap, ...] = ()
    general_feedback: str = ""
    default_mark: float = 1.0
    line: int | None = None
    files: tuple[MediaFile, ...] = ()
    media: tuple[str, ...] = ()  # relative hrefs the text refers to (QTI)

    def to_json(self) -> dict[str, Any]:
        """The contract's question object."""
        options = self.options if self.type in OPTION_TYPES else ()
        return {
            "name": self.name,
            "type": self.type.value,
            "source_type": self.source_type,
            "text": self.text,
            "text_format": self.text_format.value,
            "category": self.category,
            "tags": list(self.tags),
            "idnumber": self.idnumber,
            "options": [{"text": o.text, "fraction": float(o.fraction)} for o in options],
            "deliverable": self.deliverable,
            "skip_reason": self.skip_reason,
        }


@dataclass(frozen=True, slots=True)
class Category:
    path: str
    info: str = ""
    idnumber: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "info": self.info}


@dataclass(frozen=True, slots=True)
class Issue:
    line: int | None
    item: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "item": self.item, "message": self.message}


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    format: Format | None
    questions: tuple[Question, ...] = ()
    categories: tuple[Category, ...] = ()
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format.value if self.format else None,
            "ok": self.ok,
            "questions": [q.to_json() for q in self.questions],
            "categories": [c.to_json() for c in self.categories],
            "errors": [i.to_json() for i in self.errors],
            "warnings": [i.to_json() for i in self.warnings],
        }


@dataclass(slots=True)
class Parsed:
    """What a format reader collects while it walks a source; turned into a FileReport."""

    questions: list[Question] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, line: int | None, item: str | None, message: str) -> None:
        self.errors.append(Issue(line, item, message))

    def warn(self, line: int | None, item: str | None, message: str) -> None:
        self.warnings.append(Issue(line, item, message))

    def declare(self, category: Category) -> None:
        if all(c.path != category.path for c in self.categories):
            self.categories.append(category)

    def extend(self, other: Parsed) -> None:
        self.questions.extend(other.questions)
        for category in other.categories:
            self.declare(category)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


def round_fraction(value: float) -> float:
    """Seven decimals, as Moodle stores them (33.33333 % is 0.3333333)."""
    return round(float(value), 7) + 0.0  # + 0.0 turns -0.0 into 0.0


def undeliverable(question: Question, reason: str) -> Question:
    """Mark a question undeliverable, keeping the first reason given."""
    if not question.deliverable:
        return question
    return replace(question, deliverable=False, skip_reason=reason)
