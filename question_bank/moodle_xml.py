"""Moodle XML (`<quiz><question type="...">`), as Moodle 4.5 exports and imports it.

Also accepts a lone `<question>` root (how the ordering plugin ships its fixtures). Category
pseudo-questions set the category of the questions after them. `gapselect` and `ddwtos` (select
or drag the missing words) are read as cloze items with one drop-down per gap, which scores them
exactly; drag-and-drop onto images, calculated and random questions are kept as `other`, not
deliverable.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from question_bank import cloze
from question_bank.htmltext import shorten, visible_text
from question_bank.i18n import N_, _
from question_bank.model import (
    Category,
    ClozeGap,
    GapKind,
    MatchPair,
    MediaFile,
    Option,
    Parsed,
    Question,
    QuestionType,
    TextFormat,
    round_fraction,
)
from question_bank.numbers import parse_number
from question_bank.paths import category_path
from question_bank.xmlsafe import (
    child,
    children,
    line_of,
    local,
    parse_xml,
    serialize_children,
    text_of,
)

FORMATS = {
    "html": TextFormat.HTML,
    "moodle_auto_format": TextFormat.MOODLE,
    "plain_text": TextFormat.PLAIN,
    "markdown": TextFormat.MARKDOWN,
}
FORMAT_NAMES = {value: key for key, value in FORMATS.items()}
_PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\"'\s<>)?#]+)")
_NOT_SUPPORTED = {
    "ddimageortext": N_("drag-and-drop onto an image is not supported"),
    "ddmarker": N_("drag-and-drop marker questions are not supported"),
    "calculated": N_("calculated questions draw their values per attempt; not supported"),
    "calculatedsimple": N_("calculated questions draw their values per attempt; not supported"),
    "calculatedmulti": N_("calculated questions draw their values per attempt; not supported"),
    "randomsamatch": N_("random short-answer matching draws its items per attempt; not supported"),
    "random": N_("a random question is drawn per attempt from a category; not supported"),
}
_Fields = dict[str, Any]


def parse(data: bytes) -> Parsed:
    parsed = Parsed()
    result = parse_xml(data)
    if result.root is None:
        parsed.error(result.line, None, result.error or _("unreadable XML"))
        return parsed
    root = result.root
    if local(root.tag) == "question":
        elements = [root]
    elif local(root.tag) == "quiz":
        elements = children(root, "question")
    else:
        parsed.error(
            line_of(root),
            None,
            _("not a Moodle XML file: the root element must be <quiz> or <question>"),
        )
        return parsed
    category = ""
    for element in elements:
        kind = (element.get("type") or "").strip()
        if kind == "category":
            category = _category(parsed, element)
            continue
        if not kind:
            parsed.error(
                line_of(element),
                _name(element) or None,
                _("the <question> element has no type attribute"),
            )
        parsed.questions.append(_question(parsed, element, kind, category))
    return parsed


def _category(parsed: Parsed, element: ET.Element) -> str:
    holder = child(element, "category")
    raw = text_of(child(holder, "text")) if holder is not None else ""
    if holder is not None and not raw:
        raw = holder.text or ""
    path = category_path(raw)
    info = _text(child(element, "info")).strip()
    idnumber = text_of(child(element, "idnumber")).strip() or None
    if path:
        parsed.declare(Category(path, info, idnumber))
    return path


def _text(holder: ET.Element | None) -> str:
    """The HTML inside a `<text>`: CDATA or escaped as Moodle writes it, or bare elements."""
    if holder is None:
        return ""
    text = child(holder, "text")
    if text is None:
        return ""
    if len(text):
        return serialize_children(text)
    return text.text or ""


def _format(holder: ET.Element | None, default: TextFormat = TextFormat.MOODLE) -> TextFormat:
    if holder is None:
        return default
    return FORMATS.get(holder.get("format", ""), default)


def _flag(element: ET.Element, name: str, default: bool) -> bool:
    value = text_of(child(element, name)).strip().lower()
    if value in {"1", "true", "yes"}:
        return True
    if value in {"0", "false", "no"}:
        return False
    return default


def _name(element: ET.Element) -> str:
    return " ".join(_text(child(element, "name")).split())


def _fraction(answer: ET.Element) -> float | None:
    value = parse_number(answer.get("fraction", "0"))
    return None if value is None else round_fraction(value / 100)


def _files(element: ET.Element, parsed: Parsed, label: str) -> tuple[MediaFile, ...]:
    files = []
    for item in element.iter():
        if local(item.tag) != "file":
            continue
        name = item.get("name", "")
        try:
            data = base64.b64decode("".join((item.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            parsed.warn(
                line_of(item),
                label,
                _("embedded file '{name}' is not valid base64; it will be missing").format(
                    name=name
                ),
            )
            continue
        files.append(MediaFile(name, data))
    return tuple(files)


def _question(parsed: Parsed, element: ET.Element, kind: str, category: str) -> Question:
    line = line_of(element)
    text_holder = child(element, "questiontext")
    text = _text(text_holder)
    text_format = _format(text_holder)
    label = _name(element) or shorten(visible_text(text)) or _("Question")
    tags = tuple(
        t
        for t in (" ".join(_text(tag).split()) for tag in element.iter() if local(tag.tag) == "tag")
        if t
    )
    mark = parse_number(text_of(child(element, "defaultgrade")))
    common: _Fields = {
        "name": label,
        "source_type": kind or "unknown",
        "text": text,
        "text_format": text_format,
        "category": category,
        "tags": tags,
        "idnumber": text_of(child(element, "idnumber")).strip() or None,
        "general_feedback": _text(child(element, "generalfeedback")),
        "default_mark": mark if mark is not None else 1.0,
        "line": line,
        "files": _files(element, parsed, label),
    }
    reader = _READERS.get(kind)
    if reader is not None:
        question = reader(parsed, element, common)
    else:
        known = _NOT_SUPPORTED.get(kind)
        reason = (
            _(known)
            if known
            else _("Moodle question type '{kind}' is not supported").format(kind=kind)
        )
        question = Question(
            type=QuestionType.OTHER, deliverable=False, skip_reason=reason, **common
        )
    _check_files(parsed, question)
    return question


def _check_files(parsed: Parsed, question: Question) -> None:
    names = {f.name for f in question.files}
    texts = [question.text, question.general_feedback, *(o.text for o in question.options)]
    for ref in sorted({unquote(r) for t in texts for r in _PLUGINFILE.findall(t)}):
        if ref not in names and ref.rsplit("/", 1)[-1] not in names:
            parsed.warn(
                question.line,
                question.name,
                _(
                    "the text shows file '{name}', which is not in the file; the examinee "
                    "will see a broken image"
                ).format(name=ref),
            )


def _answers(element: ET.Element) -> list[ET.Element]:
    return children(element, "answer")


def _option(answer: ET.Element, parsed: Parsed, fields: _Fields) -> Option:
    fraction = _fraction(answer)
    if fraction is None:
        parsed.error(
            line_of(answer),
            fields["name"],
            _("answer fraction '{value}' is not a number").format(value=answer.get("fraction")),
        )
        fraction = 0.0
    return Option(_text(answer).strip(), fraction, _text(child(answer, "feedback")).strip())


def _multichoice(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    single = _flag(element, "single", True)
    options = tuple(_option(a, parsed, fields) for a in _answers(element))
    return Question(
        type=QuestionType.SINGLE_CHOICE if single else QuestionType.MULTIPLE_RESPONSE,
        options=options,
        single=single,
        shuffle=_flag(element, "shuffleanswers", True),
        **fields,
    )


def _true_false(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    true = Option("True", 0.0)
    false = Option("False", 0.0)
    for position, answer in enumerate(_answers(element)):
        option = _option(answer, parsed, fields)
        word = option.text.strip().lower()
        is_true = word == "true" if word in {"true", "false"} else position == 0
        if is_true:
            true = replace(option, text="True")
        else:
            false = replace(option, text="False")
    return Question(
        type=QuestionType.TRUE_FALSE, options=(true, false), single=True, shuffle=False, **fields
    )


def _short_answer(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    options = tuple(_option(a, parsed, fields) for a in _answers(element))
    return Question(
        type=QuestionType.SHORT_ANSWER,
        options=options,
        case_sensitive=_flag(element, "usecase", False),
        **fields,
    )


def _numerical(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    options = []
    for answer in _answers(element):
        option = _option(answer, parsed, fields)
        tolerance = parse_number(text_of(child(answer, "tolerance")) or "0")
        options.append(replace(option, tolerance=abs(tolerance or 0.0)))
    return Question(type=QuestionType.NUMERICAL, options=tuple(options), shuffle=False, **fields)


def _matching(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    pairs = tuple(
        MatchPair(_text(sub).strip(), " ".join(_text(child(sub, "answer")).split()))
        for sub in children(element, "subquestion")
    )
    return Question(
        type=QuestionType.MATCHING,
        pairs=pairs,
        shuffle=_flag(element, "shuffleanswers", True),
        **fields,
    )


def _ordering(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    # The plugin stores each item's position in `fraction`.
    ranked = []
    for position, answer in enumerate(_answers(element)):
        rank = parse_number(answer.get("fraction", "")) or float(position + 1)
        ranked.append((rank, position, _text(answer).strip()))
    items = tuple(text for _rank, _position, text in sorted(ranked))
    return Question(type=QuestionType.ORDERING, ordering_items=items, **fields)


def _essay(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    return Question(
        type=QuestionType.ESSAY,
        deliverable=False,
        skip_reason=_("an essay has no automatic score; it needs a human marker"),
        **fields,
    )


def _description(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    return Question(
        type=QuestionType.DESCRIPTION,
        deliverable=False,
        skip_reason=_("a description has nothing to answer"),
        **fields,
    )


def _cloze(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    rest = {
        k: v
        for k, v in fields.items()
        if k not in {"name", "text", "text_format", "source_type", "line", "default_mark"}
    }
    return cloze.build_question(
        fields["text"],
        name=fields["name"],
        text_format=fields["text_format"],
        source_type=fields["source_type"],
        line=fields["line"],
        parsed=parsed,
        **rest,
    )


def _missing_words(parsed: Parsed, element: ET.Element, fields: _Fields) -> Question:
    """gapselect / ddwtos: `[[n]]` in the text takes choice n, offered among its group."""
    choices: list[tuple[str, str]] = []
    for tag in ("selectoption", "dragbox"):
        for option in children(element, tag):
            group = text_of(child(option, "group")).strip() or "1"
            choices.append((_text(option).strip(), group))
    gaps: list[ClozeGap] = []

    def put(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if not 0 <= index < len(choices):
            parsed.error(
                fields["line"],
                fields["name"],
                _("gap [[{n}]] refers to a choice that does not exist").format(n=index + 1),
            )
            return match.group(0)
        group = choices[index][1]
        options = tuple(
            Option(text, 1.0 if position == index else 0.0)
            for position, (text, other_group) in enumerate(choices)
            if other_group == group
        )
        gaps.append(
            ClozeGap(GapKind.MULTICHOICE, options, shuffle=_flag(element, "shuffleanswers", True))
        )
        return f"{{#{len(gaps)}}}"

    text = re.sub(r"\[\[(\d+)\]\]", put, fields["text"])
    if not gaps:
        parsed.error(
            fields["line"],
            fields["name"],
            _("the question text must include at least one [[n]] gap"),
        )
    return Question(
        type=QuestionType.CLOZE,
        gaps=tuple(gaps),
        **(fields | {"text": text}),
    )


_Reader = Callable[[Parsed, ET.Element, _Fields], Question]
_READERS: dict[str, _Reader] = {
    "multichoice": _multichoice,
    "truefalse": _true_false,
    "shortanswer": _short_answer,
    "numerical": _numerical,
    "match": _matching,
    "matching": _matching,
    "ordering": _ordering,
    "essay": _essay,
    "description": _description,
    "cloze": _cloze,
    "multianswer": _cloze,
    "gapselect": _missing_words,
    "ddwtos": _missing_words,
}
