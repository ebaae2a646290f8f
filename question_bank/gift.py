"""GIFT, Moodle's text format, read the way Moodle 4.5's importer reads it.

Questions are separated by blank lines; `//` lines are comments (Moodle 4 reads `[tag:x]` and
`[id:x]` from them). `::name::` gives the name, `[html]`/`[moodle]`/`[plain]`/`[markdown]` the
text format, `$CATEGORY:` the category of the questions that follow. The answer block `{...}`
decides the type exactly as Moodle does:

* no block: description; `{}`: essay; `{#...}`: numerical; a `~`: choice (single-answer when it
  has an `=` answer, multiple-response otherwise); `=` with `->`: matching; `T`/`TRUE`/`F`/`FALSE`:
  true/false; else short answer; `{>n ...}`: the ordering plugin's extension.
* `\\~ \\= \\# \\{ \\} \\:` are literal characters, `\\n` a line break and `\\\\` a backslash.
* Text after the closing brace makes a "missing word" item: the stem gets `_____` where the
  block was.

Beyond Moodle, a block holding two answer sections (a forgotten blank line between questions) is
an error instead of a question with stray braces in its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from question_bank.htmltext import collapse, shorten, visible_text
from question_bank.i18n import _
from question_bank.model import (
    Category,
    MatchPair,
    Option,
    Parsed,
    Question,
    QuestionType,
    TextFormat,
    round_fraction,
)
from question_bank.numbers import format_number, parse_number
from question_bank.paths import category_path

# Escaped control characters become private-use placeholders while the block is parsed, so a
# literal `\=` can never be taken for an answer marker.
_ESCAPES = {
    ":": "\ue001",
    "#": "\ue002",
    "=": "\ue003",
    "{": "\ue004",
    "}": "\ue005",
    "~": "\ue006",
}
_NEWLINE = "\ue007"
_BACKSLASH = "\ue008"
_RESTORE = str.maketrans({v: k for k, v in _ESCAPES.items()} | {_NEWLINE: "\n", _BACKSLASH: "\\"})
_WEIGHT = re.compile(r"^%(-?\d+(?:[.,]\d*)?)%")
_FORMAT_PREFIX = re.compile(r"^\[(html|moodle|plain|markdown)\]")
_TAG = re.compile(r"\[tag:([^\]]+)\]")
_ID = re.compile(r"\[id:([^\]]+)\]")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_ORDERING_WORDS = frozenset((
    "ALL", "EXACT", "RANDOM", "REL", "CONTIGUOUS", "CONTIG", "HORIZONTAL", "HORI", "H",
    "VERTICAL", "VERT", "V", "ALL_OR_NOTHING", "ABSOLUTE_POSITION", "ABSOLUTE", "ABS",
    "RELATIVE_NEXT_EXCLUDE_LAST", "RELATIVE_NEXT_INCLUDE_LAST", "RELATIVE_ONE_PREVIOUS_AND_NEXT",
    "RELATIVE_ALL_PREVIOUS_AND_NEXT", "RELATIVE_TO_CORRECT", "RELATIVE", "LONGEST_ORDERED_SUBSET",
    "LONGEST_CONTIGUOUS_SUBSET", "SHOW", "TRUE", "YES", "HIDE", "FALSE", "NO", "0", "1", "NONE",
    "ABC", "ABCD", "123", "III", "IIII"
))  # fmt: skip


_Common = dict[str, Any]  # the fields every question of a block shares
_Fail = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class _Block:
    lines: list[str]  # comment lines already blanked
    comments: list[str]
    line: int  # first line that is not a comment


def _escape(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for char, placeholder in _ESCAPES.items():
        text = text.replace("\\" + char, placeholder)
    return text.replace("\\n", _NEWLINE)


def restore(text: str) -> str:
    return text.translate(_RESTORE)


def _with_format(text: str, default: TextFormat) -> tuple[str, TextFormat]:
    text = text.strip()
    match = _FORMAT_PREFIX.match(text)
    if match:
        return restore(text[match.end() :]).strip(), TextFormat(match.group(1))
    return restore(text).strip(), default


def _split_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    lines: list[str] = []
    comments: list[str] = []
    first: int | None = None

    def flush() -> None:
        nonlocal lines, comments, first
        if first is not None:
            blocks.append(_Block(lines, comments, first))
        lines, comments, first = [], [], None

    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if not stripped:
            flush()
            continue
        if stripped.startswith("//"):
            comments.append(stripped)
            lines.append("")
            continue
        if stripped.startswith("$CATEGORY:"):
            # Moodle needs a blank line after it; a category glued to a question is meant apart.
            flush()
            blocks.append(_Block([stripped], [], number))
            continue
        if first is None:
            first = number
        lines.append(raw)
    flush()
    return blocks


def parse(text: str) -> Parsed:
    parsed = Parsed()
    category = ""
    for block in _split_blocks(text):
        body = "\n".join(block.lines).strip()
        if body.startswith("$CATEGORY:"):
            category = category_path(body[len("$CATEGORY:") :].strip())
            parsed.declare(Category(category))
            continue
        _read_question(parsed, block, body, category)
    return parsed


def _read_question(parsed: Parsed, block: _Block, body: str, category: str) -> None:
    tags = tuple(t.strip() for c in block.comments for t in _TAG.findall(c) if t.strip())
    ids = [i.strip() for c in block.comments for i in _ID.findall(c)]
    text = _escape(body)
    name: str | None = None
    if text.startswith("::"):
        end = text.find("::", 2)
        if end != -1:
            name = collapse(restore(text[2:end]))
            text = text[end + 2 :].strip()
        else:
            text = text[2:]

    start, finish = text.find("{"), text.find("}")
    base: _Common = {
        "category": category,
        "tags": tags,
        "idnumber": ids[0] if ids else None,
        "line": block.line,
    }

    def fail(message: str) -> None:
        label = name or shorten(visible_text(restore(text)))
        parsed.error(block.line, label, message)
        parsed.questions.append(
            Question(
                name=label,
                type=QuestionType.OTHER,
                source_type="invalid",
                text=restore(text),
                text_format=TextFormat.MOODLE,
                deliverable=False,
                skip_reason=message,
                **base,
            )
        )

    if start == -1 and finish == -1:
        stem, fmt = _with_format(text, TextFormat.MOODLE)
        parsed.questions.append(
            Question(
                name=name or _default_name(stem),
                type=QuestionType.DESCRIPTION,
                source_type="description",
                text=stem,
                text_format=fmt,
                deliverable=False,
                skip_reason=_("a description has nothing to answer"),
                **base,
            )
        )
        return
    if start == -1 or finish == -1 or finish < start:
        fail(_("unbalanced braces: the answers must be enclosed in { and }"))
        return
    rest = text[finish + 1 :]
    if "{" in rest or "}" in rest:
        fail(_("two answer blocks in one question; separate questions with a blank line"))
        return

    answers = text[start + 1 : finish].strip()
    # Text after the block makes a missing-word item: the blank goes where the block was.
    stem_raw = text[:start] if text.endswith("}") else text[:start] + "_____" + rest
    feedback = ""
    separator = answers.rfind("####")
    if separator != -1:
        feedback = answers[separator + 4 :]
        answers = answers[:separator].strip()
    stem, fmt = _with_format(stem_raw, TextFormat.MOODLE)
    general_feedback, _fmt = _with_format(feedback, fmt)
    label = name or _default_name(stem)
    common: _Common = dict(
        base, name=label, text=stem, text_format=fmt, general_feedback=general_feedback
    )

    if answers.startswith(">") and re.match(r">\s*\d", answers):
        _ordering(parsed, answers, common, fail)
    elif answers == "":
        parsed.questions.append(
            Question(
                type=QuestionType.ESSAY,
                source_type="essay",
                deliverable=False,
                skip_reason=_("an essay has no automatic score; it needs a human marker"),
                **common,
            )
        )
    elif answers.startswith("#"):
        _numerical(parsed, answers[1:], fmt, common, fail)
    elif "~" in answers:
        _multichoice(parsed, answers, fmt, common, fail)
    elif "=" in answers and "->" in answers:
        _matching(parsed, answers, fmt, common, fail)
    else:
        check = answers.split("#", 1)[0].strip() if "#" in answers[1:] else answers
        if check in _TRUE_FALSE:
            _true_false(parsed, answers, fmt, common)
        else:
            _short_answer(parsed, answers, fmt, common, fail)


def _default_name(stem: str) -> str:
    return shorten(visible_text(stem)) or _("Question")


def _weight(answer: str) -> tuple[float | None, str]:
    match = _WEIGHT.match(answer)
    if not match:
        return None, answer
    return float(match.group(1).replace(",", ".")) / 100, answer[match.end() :]


def _comment(answer: str, fmt: TextFormat) -> tuple[str, str]:
    text, _sep, feedback = answer.partition("#")
    return _with_format(text, fmt)[0], _with_format(feedback, fmt)[0]


def _split_answers(answers: str, marker: str) -> list[str]:
    parts = answers.split(marker)
    if parts and not parts[0].strip():
        parts = parts[1:]
    return parts


def _multichoice(
    parsed: Parsed, answers: str, fmt: TextFormat, common: _Common, fail: _Fail
) -> None:
    single = "=" in answers
    options = []
    for raw in _split_answers(answers.replace("=", "~="), "~"):
        answer = raw.strip()
        if answer.startswith("="):
            weight, answer = _weight(answer[1:])
            fraction = 1.0 if weight is None else weight
        else:
            weight, answer = _weight(answer)
            fraction = weight or 0.0
        text, feedback = _comment(answer, fmt)
        options.append(Option(text, round_fraction(fraction), feedback))
    if len(options) < 2:
        fail(_("a choice question needs at least 2 answers"))
        return
    parsed.questions.append(
        Question(
            type=QuestionType.SINGLE_CHOICE if single else QuestionType.MULTIPLE_RESPONSE,
            source_type="multichoice",
            options=tuple(options),
            single=single,
            **common,
        )
    )


def _matching(parsed: Parsed, answers: str, fmt: TextFormat, common: _Common, fail: _Fail) -> None:
    pairs = []
    for raw in _split_answers(answers, "="):
        if "->" not in raw:
            fail(_("every matching answer needs '->' between the item and its match"))
            return
        left, right = raw.split("->", 1)
        pairs.append(MatchPair(_with_format(left, fmt)[0], collapse(restore(right))))
    if len(pairs) < 2:
        fail(_("a matching question needs at least 2 pairs"))
        return
    parsed.questions.append(
        Question(type=QuestionType.MATCHING, source_type="match", pairs=tuple(pairs), **common)
    )


def _true_false(parsed: Parsed, answers: str, fmt: TextFormat, common: _Common) -> None:
    bits = answers.split("#", 2)
    correct = _TRUE_FALSE[bits[0].strip()]
    wrong_feedback = _with_format(bits[1], fmt)[0] if len(bits) > 1 else ""
    right_feedback = _with_format(bits[2], fmt)[0] if len(bits) > 2 else ""
    true = Option("True", 1.0 if correct else 0.0, right_feedback if correct else wrong_feedback)
    false = Option("False", 0.0 if correct else 1.0, wrong_feedback if correct else right_feedback)
    parsed.questions.append(
        Question(
            type=QuestionType.TRUE_FALSE,
            source_type="truefalse",
            options=(true, false),
            single=True,
            shuffle=False,
            **common,
        )
    )


def _short_answer(
    parsed: Parsed, answers: str, fmt: TextFormat, common: _Common, fail: _Fail
) -> None:
    options = []
    for raw in _split_answers(answers, "="):
        weight, answer = _weight(raw.strip())
        text, feedback = _comment(answer, fmt)
        options.append(Option(text, round_fraction(1.0 if weight is None else weight), feedback))
    if not options:
        fail(_("a short-answer question needs at least one answer"))
        return
    parsed.questions.append(
        Question(
            type=QuestionType.SHORT_ANSWER,
            source_type="shortanswer",
            options=tuple(options),
            **common,
        )
    )


def _numerical(parsed: Parsed, answers: str, fmt: TextFormat, common: _Common, fail: _Fail) -> None:
    wrong = ""
    if "~" in answers:
        answers, wrong = answers[: answers.find("~")], answers[answers.find("~") :]
    options = []
    for raw in _split_answers(answers, "="):
        weight, answer = _weight(raw.strip())
        value, feedback = _comment(answer, fmt)
        parsed_value = _numeric_answer(value)
        if parsed_value is None:
            fail(
                _("'{value}' is not a number, a range a..b or a value with tolerance a:t").format(
                    value=value
                )
            )
            return
        number, tolerance = parsed_value
        options.append(
            Option(number, round_fraction(1.0 if weight is None else weight), feedback, tolerance)
        )
    if not options:
        fail(_("a numerical question needs at least one answer"))
        return
    if wrong:
        options.append(Option("*", 0.0, _comment(wrong[1:], fmt)[1]))
    parsed.questions.append(
        Question(
            type=QuestionType.NUMERICAL,
            source_type="numerical",
            options=tuple(options),
            shuffle=False,
            **common,
        )
    )


def _numeric_answer(value: str) -> tuple[str, float] | None:
    """`a..b` (a range), `a:t` (a value and its tolerance) or `a`; '*' accepts anything."""
    value = value.strip()
    if value == "*":
        return "*", 0.0
    if ".." in value[1:]:
        low_text, high_text = value.split("..", 1)
        low, high = parse_number(low_text), parse_number(high_text)
        if low is None or high is None:
            return None
        middle = (low + high) / 2
        return format_number(middle), round(abs(high - middle), 12)
    if ":" in value[1:]:
        answer_text, tolerance_text = value.split(":", 1)
        answer, tolerance = parse_number(answer_text), parse_number(tolerance_text)
        if answer is None or tolerance is None:
            return None
        return answer_text.strip(), abs(tolerance)
    if parse_number(value) is None:
        return None
    return value, 0.0


def _ordering(parsed: Parsed, answers: str, common: _Common, fail: _Fail) -> None:
    header, _newline, body = answers[1:].partition("\n")
    words = header.split()
    unknown = [w for w in words[1:] if w.upper() not in _ORDERING_WORDS]
    items = [restore(line).strip() for line in body.split("\n") if line.strip()]
    if unknown:
        # Words after the settings are the first item written on the header line.
        items.insert(0, restore(" ".join(words[1 + words[1:].index(unknown[0]) :])))
    if len(items) < 2:
        fail(_("an ordering question needs at least 2 items"))
        return
    parsed.questions.append(
        Question(
            type=QuestionType.ORDERING,
            source_type="ordering",
            ordering_items=tuple(items),
            **common,
        )
    )
