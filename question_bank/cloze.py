"""Moodle Cloze ("embedded answers"): the `{2:MULTICHOICE:=a#ok~b}` syntax.

Used for Cloze text files (one question per file, as Moodle's multianswer format) and for the
text of Moodle XML `cloze`/`multianswer` questions. The question text keeps Moodle's own
placeholders `{#1}`, `{#2}`... where the gaps were; the gaps themselves are in `Question.gaps`,
each with the marks written before the type (`{2:...}` is worth twice `{1:...}`).

Cloze items are deliverable: every gap is a drop-down, a list of radio buttons or tick boxes, or
a text box, all scored with the same fractions as the stand-alone types. A gap Moodle itself would
refuse (fewer than 2 choices, no full-marks answer, a numerical answer that is not a number) makes
the question an error, as it makes Moodle's import fail.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Any

from question_bank.htmltext import shorten, visible_text
from question_bank.i18n import _
from question_bank.model import (
    ClozeGap,
    GapKind,
    Option,
    Parsed,
    Question,
    QuestionType,
    TextFormat,
    round_fraction,
)
from question_bank.numbers import parse_number

# (kind, layout, shuffle, case sensitive) for each Moodle spelling.
_TYPES: dict[str, tuple[GapKind, str, bool, bool]] = {}
for names, spec in (
    (("NUMERICAL", "NM"), (GapKind.NUMERICAL, "", False, False)),
    (("SHORTANSWER", "SA", "MW"), (GapKind.SHORT_ANSWER, "", False, False)),
    (("SHORTANSWER_C", "SAC", "MWC"), (GapKind.SHORT_ANSWER, "", False, True)),
    (("MULTICHOICE", "MC"), (GapKind.MULTICHOICE, "dropdown", False, False)),
    (("MULTICHOICE_V", "MCV"), (GapKind.MULTICHOICE, "vertical", False, False)),
    (("MULTICHOICE_H", "MCH"), (GapKind.MULTICHOICE, "horizontal", False, False)),
    (("MULTICHOICE_S", "MCS"), (GapKind.MULTICHOICE, "dropdown", True, False)),
    (("MULTICHOICE_VS", "MCVS"), (GapKind.MULTICHOICE, "vertical", True, False)),
    (("MULTICHOICE_HS", "MCHS"), (GapKind.MULTICHOICE, "horizontal", True, False)),
    (("MULTIRESPONSE", "MR"), (GapKind.MULTIRESPONSE, "vertical", False, False)),
    (("MULTIRESPONSE_H", "MRH"), (GapKind.MULTIRESPONSE, "horizontal", False, False)),
    (("MULTIRESPONSE_S", "MRS"), (GapKind.MULTIRESPONSE, "vertical", True, False)),
    (("MULTIRESPONSE_HS", "MRHS"), (GapKind.MULTIRESPONSE, "horizontal", True, False)),
):
    for type_name in names:
        _TYPES[type_name] = spec

_TYPE_ALTERNATION = "|".join(sorted(_TYPES, key=len, reverse=True))
_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
# An answer ends before an unescaped ~, # or }; `&#..;` entities are not feedback markers.
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = rf"(?:{_FRACTION})?({_ANSWER})(?:#({_FEEDBACK}))?"
_ALTERNATIVE_RE = re.compile(rf"~?(?:({_FRACTION}))?({_ANSWER})(?:#({_FEEDBACK}))?", re.S)
EMBEDDED = re.compile(
    rf"\{{([0-9]*):({_TYPE_ALTERNATION}):({_ALTERNATIVE}(?:~{_ALTERNATIVE})*)\}}", re.S
)
# Anything that looks like the start of an embedded answer, to recognise Cloze text at all.
LOOKS_LIKE_CLOZE = re.compile(rf"\{{[0-9]*:({_TYPE_ALTERNATION}):")
_MARKER = re.compile(r"\{#(\d+)\}")

KIND_TO_TYPE = {
    (GapKind.NUMERICAL, False): "NUMERICAL",
    (GapKind.SHORT_ANSWER, False): "SHORTANSWER",
    (GapKind.SHORT_ANSWER, True): "SHORTANSWER_C",
}


@dataclass(frozen=True, slots=True)
class ClozeResult:
    text: str  # with {#n} markers
    gaps: tuple[ClozeGap, ...]
    problems: tuple[str, ...]


def _unescape(text: str) -> str:
    text = html.unescape(text)
    return text.replace("\\}", "}").replace("\\#", "#").replace("\\~", "~")


def _alternatives(body: str) -> list[tuple[float, bool, str, str]]:
    """(fraction, fraction given as %, answer, feedback) for each `~`-separated alternative."""
    found = []
    position = 0
    while position < len(body):
        match = _ALTERNATIVE_RE.match(body, position)
        if not match or match.end() == position:
            break
        marker, percent, answer, feedback = match.group(1, 2, 3, 4)
        if marker == "=":
            fraction, specific = 1.0, False
        elif percent is not None:
            fraction, specific = float(percent.replace(",", ".")) / 100, True
        else:
            fraction, specific = 0.0, False
        found.append((fraction, specific, answer, feedback or ""))
        position = match.end()
    return found


def extract(text: str) -> ClozeResult:
    """Replace each embedded answer by `{#n}` and read it into a gap."""
    gaps: list[ClozeGap] = []
    problems: list[str] = []
    pieces: list[str] = []
    position = 0
    for match in EMBEDDED.finditer(text):
        pieces.append(text[position : match.start()])
        number = len(gaps) + 1
        pieces.append(f"{{#{number}}}")
        position = match.end()
        gaps.append(_gap(match.group(1), match.group(2), match.group(3)))
    pieces.append(text[position:])
    if not gaps:
        problems.append(_("the question text must include at least one embedded answer"))
    return ClozeResult("".join(pieces), tuple(gaps), tuple(problems))


def _gap(weight_text: str, type_name: str, body: str) -> ClozeGap:
    kind, layout, shuffle, case_sensitive = _TYPES[type_name]
    raw = _alternatives(body)
    options = []
    for fraction, _specific, answer, feedback in raw:
        answer_text = _unescape(answer).strip()
        if kind is GapKind.NUMERICAL:
            value, _colon, tolerance_text = answer_text.partition(":")
            tolerance = parse_number(tolerance_text) if tolerance_text else 0.0
            if tolerance is None:
                value, tolerance = answer_text, 0.0  # validation reports it as not a number
            option = Option(
                value.strip() if answer_text != "*" else "*",
                round_fraction(fraction),
                _unescape(feedback).strip(),
                abs(tolerance or 0.0),
            )
        else:
            option = Option(answer_text, round_fraction(fraction), _unescape(feedback).strip())
        options.append(option)
    if kind is GapKind.MULTIRESPONSE:
        options = _normalise_multiresponse(options, any(s for _f, s, _a, _b in raw))
    weight = float(weight_text) if weight_text else 1.0
    return ClozeGap(kind, tuple(options), weight, case_sensitive, shuffle, layout or "dropdown")


def _normalise_multiresponse(options: list[Option], specific: bool) -> list[Option]:
    """Moodle's rule: positive fractions are scaled to add up to 1; wrong ones cancel one right."""
    total = sum(o.fraction for o in options if o.fraction > 0)
    if not total:
        return options
    result = []
    for option in options:
        if option.fraction > 0:
            fraction = option.fraction / total
        elif not specific:
            fraction = -1.0 / total
        else:
            fraction = option.fraction
        result.append(Option(option.text, round_fraction(fraction), option.feedback))
    return result


def build_question(
    text: str,
    *,
    name: str | None,
    text_format: TextFormat,
    source_type: str,
    line: int | None,
    parsed: Parsed,
    **fields: Any,
) -> Question:
    """A cloze Question from text with embedded answers; problems become the file's errors."""
    result = extract(text)
    label = name or shorten(visible_text(_MARKER.sub("_____", result.text))) or _("Cloze")
    for problem in result.problems:
        parsed.error(line, label, problem)
    question = Question(
        name=label,
        type=QuestionType.CLOZE,
        source_type=source_type,
        text=result.text,
        text_format=text_format,
        gaps=result.gaps,
        line=line,
        default_mark=sum(g.weight for g in result.gaps) or 1.0,
        **fields,
    )
    if result.problems:
        question = replace(question, deliverable=False, skip_reason=result.problems[0])
    return question


def parse(text: str) -> Parsed:
    """A Cloze text file: the whole file is one question, as in Moodle's multianswer format."""
    parsed = Parsed()
    body = text.strip()
    first_line = next((n for n, line in enumerate(text.split("\n"), 1) if line.strip()), 1)
    parsed.questions.append(
        build_question(
            body,
            name=None,
            text_format=TextFormat.MOODLE,
            source_type="multianswer",
            line=first_line,
            parsed=parsed,
        )
    )
    return parsed


def _escape_answer(text: str) -> str:
    return text.replace("}", "\\}").replace("#", "\\#").replace("~", "\\~")


def _percent(fraction: float) -> str:
    value = round(fraction * 100, 5)
    return str(int(value)) if value == int(value) else str(value)


def embed(gap: ClozeGap) -> str:
    """The Cloze spelling of a gap (for export): `{1:MULTICHOICE:%100%a#ok~%0%b}`."""
    if gap.kind in {GapKind.MULTICHOICE, GapKind.MULTIRESPONSE}:
        base = "MULTICHOICE" if gap.kind is GapKind.MULTICHOICE else "MULTIRESPONSE"
        suffix = {"vertical": "_V", "horizontal": "_H"}.get(gap.layout, "")
        if gap.kind is GapKind.MULTIRESPONSE and suffix == "_V":
            suffix = ""
        type_name = base + suffix + ("S" if gap.shuffle and suffix else "_S" if gap.shuffle else "")
    else:
        type_name = KIND_TO_TYPE[
            (gap.kind, gap.case_sensitive and gap.kind is GapKind.SHORT_ANSWER)
        ]
    parts = []
    for option in gap.options:
        answer = option.text
        if gap.kind is GapKind.NUMERICAL and answer != "*" and option.tolerance:
            answer = f"{answer}:{option.tolerance:g}"
        piece = f"%{_percent(option.fraction)}%{_escape_answer(answer)}"
        if option.feedback:
            piece += "#" + _escape_answer(option.feedback)
        parts.append(piece)
    weight = gap.weight
    weight_text = str(int(weight)) if weight == int(weight) else str(weight)
    return f"{{{weight_text}:{type_name}:{'~'.join(parts)}}}"


def embed_all(text: str, gaps: tuple[ClozeGap, ...]) -> str:
    """Put the embedded answers back where the `{#n}` markers are."""

    def put(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return embed(gaps[index]) if 0 <= index < len(gaps) else match.group(0)

    return _MARKER.sub(put, text)
