"""Writing questions back out: Moodle XML, and a QTI 2.1 content package.

Both are written so that this library reads them back into the same items (name, type, text,
options and fractions, category, tags). Items of type `other` have no faithful spelling in
either format and are left out; everything else is written.

Moodle XML keeps everything, text formats included. QTI has no notion of categories or tags, so
the package carries them the standard way: one assessmentTest whose nested sections are the
category path (consecutive items of one category share a section, so the order is kept), and
LOM keywords in each item's manifest entry. QTI texts are XHTML: HTML is re-serialized
well-formed, plain and Markdown texts are escaped. True/false travels as a two-choice item with
the identifiers `true` and `false`; numerical answers as conditions with an absolute tolerance;
every item declares MAXSCORE 1 so fractions come back unchanged.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

from question_bank import cloze
from question_bank.htmltext import plain_to_html, to_xhtml
from question_bank.model import (
    Category,
    ClozeGap,
    GapKind,
    Option,
    Question,
    QuestionType,
    TextFormat,
)
from question_bank.moodle_xml import FORMAT_NAMES
from question_bank.numbers import format_number

FULL = 0.9999999
_MOODLE_TYPES = {
    QuestionType.SINGLE_CHOICE: "multichoice",
    QuestionType.MULTIPLE_RESPONSE: "multichoice",
    QuestionType.TRUE_FALSE: "truefalse",
    QuestionType.SHORT_ANSWER: "shortanswer",
    QuestionType.NUMERICAL: "numerical",
    QuestionType.MATCHING: "matching",
    QuestionType.ORDERING: "ordering",
    QuestionType.CLOZE: "cloze",
    QuestionType.ESSAY: "essay",
    QuestionType.DESCRIPTION: "description",
}


def _exportable(questions: Iterable[Question]) -> list[Question]:
    return [q for q in questions if q.type in _MOODLE_TYPES]


def _number(value: float) -> str:
    return format_number(round(value, 7))


# -- Moodle XML --------------------------------------------------------------------------------


def _text(value: str, indent: str) -> str:
    return f"{indent}<text>{escape(value)}</text>\n"


def _formatted(tag: str, value: str, fmt: TextFormat, indent: str, extra: str = "") -> str:
    return (
        f"{indent}<{tag} format={quoteattr(FORMAT_NAMES[fmt])}>\n{_text(value, indent + '  ')}"
        f"{extra}{indent}</{tag}>\n"
    )


def _moodle_answer(
    option: Option, fmt: TextFormat, fraction: float | None = None, extra: str = ""
) -> str:
    percent = _number((option.fraction if fraction is None else fraction) * 100)
    feedback = _formatted("feedback", option.feedback, TextFormat.HTML, "      ")
    return (
        f'    <answer fraction="{percent}" format={quoteattr(FORMAT_NAMES[fmt])}>\n'
        f"{_text(option.text, '      ')}{feedback}{extra}    </answer>\n"
    )


def _moodle_body(question: Question) -> str:
    fmt = question.text_format
    if question.type in {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE}:
        single = "true" if question.type is QuestionType.SINGLE_CHOICE else "false"
        out = f"    <single>{single}</single>\n"
        out += f"    <shuffleanswers>{int(question.shuffle)}</shuffleanswers>\n"
        return out + "".join(_moodle_answer(o, fmt) for o in question.options)
    if question.type is QuestionType.TRUE_FALSE:
        out = ""
        for option, word in zip(question.options, ("true", "false"), strict=False):
            out += _moodle_answer(Option(word, option.fraction, option.feedback), TextFormat.MOODLE)
        return out
    if question.type is QuestionType.SHORT_ANSWER:
        out = f"    <usecase>{int(question.case_sensitive)}</usecase>\n"
        return out + "".join(_moodle_answer(o, TextFormat.MOODLE) for o in question.options)
    if question.type is QuestionType.NUMERICAL:
        return "".join(
            _moodle_answer(
                o, TextFormat.MOODLE, extra=f"      <tolerance>{_number(o.tolerance)}</tolerance>\n"
            )
            for o in question.options
        )
    if question.type is QuestionType.MATCHING:
        out = f"    <shuffleanswers>{int(question.shuffle)}</shuffleanswers>\n"
        for pair in question.pairs:
            out += (
                f"    <subquestion format={quoteattr(FORMAT_NAMES[fmt])}>\n"
                f"{_text(pair.prompt, '      ')}      <answer>\n"
                f"{_text(pair.answer, '        ')}      </answer>\n    </subquestion>\n"
            )
        return out
    if question.type is QuestionType.ORDERING:
        return "".join(
            _moodle_answer(Option(item, float(rank)), fmt, fraction=rank / 100)
            for rank, item in enumerate(question.ordering_items, start=1)
        )
    if question.type is QuestionType.ESSAY:
        return "    <responseformat>editor</responseformat>\n"
    return ""


def _moodle_question(question: Question) -> str:
    text = question.text
    if question.type is QuestionType.CLOZE:
        text = cloze.embed_all(text, question.gaps)
    files = "".join(
        f'      <file name={quoteattr(f.name)} encoding="base64">'
        f"{base64.b64encode(f.data).decode('ascii')}</file>\n"
        for f in question.files
    )
    out = f'  <question type="{_MOODLE_TYPES[question.type]}">\n'
    out += f"    <name>\n{_text(question.name, '      ')}    </name>\n"
    out += _formatted("questiontext", text, question.text_format, "    ", files)
    out += _formatted("generalfeedback", question.general_feedback, question.text_format, "    ")
    out += f"    <defaultgrade>{_number(question.default_mark)}</defaultgrade>\n"
    out += f"    <idnumber>{escape(question.idnumber or '')}</idnumber>\n"
    out += _moodle_body(question)
    if question.tags:
        out += (
            "    <tags>\n"
            + "".join(
                f"      <tag>\n{_text(tag, '        ')}      </tag>\n" for tag in question.tags
            )
            + "    </tags>\n"
        )
    return out + "  </question>\n"


def to_moodle_xml(questions: Iterable[Question], categories: Sequence[Category] = ()) -> str:
    """A Moodle XML quiz file; a category element precedes each change of category."""
    infos = {c.path: c for c in categories}
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    current: str | None = None
    for question in _exportable(questions):
        if question.category != current:
            current = question.category
            path = "$course$/top" + (f"/{current}" if current else "")
            category = infos.get(current, Category(current))
            info = _formatted("info", category.info, TextFormat.HTML, "    ")
            idnumber = (
                f"    <idnumber>{escape(category.idnumber)}</idnumber>\n"
                if category.idnumber
                else ""
            )
            out.append(
                f'  <question type="category">\n    <category>\n{_text(path, "      ")}'
                f"    </category>\n{info}{idnumber}  </question>\n"
            )
        out.append(_moodle_question(question))
    out.append("</quiz>\n")
    return "".join(out)


# -- QTI 2.1 -----------------------------------------------------------------------------------

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
_SCHEMA = "http://www.imsglobal.org/xsd/imsqti_v2p1 http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
_TEMPLATES = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"
_BLOCK = re.compile(r"^\s*<(p|div|ul|ol|table|h[1-6]|pre|blockquote)\b", re.I)


def _xhtml(text: str, fmt: TextFormat) -> str:
    if fmt in {TextFormat.PLAIN, TextFormat.MARKDOWN}:
        return plain_to_html(text)
    return to_xhtml(text)


def _block(markup: str) -> str:
    """QTI wants block content in itemBody; inline text gets a plain <div>."""
    return markup if _BLOCK.match(markup) else f"<div>{markup}</div>"


def _outcomes() -> str:
    return (
        '  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float">'
        "<defaultValue><value>0</value></defaultValue></outcomeDeclaration>\n"
        '  <outcomeDeclaration identifier="MAXSCORE" cardinality="single" baseType="float">'
        "<defaultValue><value>1</value></defaultValue></outcomeDeclaration>\n"
    )


def _mapping(
    entries: Iterable[tuple[str, float]],
    *,
    case_sensitive: bool | None = None,
    default: float = 0.0,
) -> str:
    case = "" if case_sensitive is None else f' caseSensitive="{str(case_sensitive).lower()}"'
    body = "".join(
        f'<mapEntry mapKey={quoteattr(k)} mappedValue="{_number(v)}"{case}/>' for k, v in entries
    )
    return f'<mapping defaultValue="{_number(default)}">{body}</mapping>'


def _declaration(
    identifier: str, cardinality: str, base_type: str, correct: Sequence[str], mapping: str = ""
) -> str:
    values = "".join(f"<value>{escape(v)}</value>" for v in correct)
    correct_xml = f"<correctResponse>{values}</correctResponse>" if correct else ""
    return (
        f'  <responseDeclaration identifier="{identifier}" cardinality="{cardinality}" '
        f'baseType="{base_type}">{correct_xml}{mapping}</responseDeclaration>\n'
    )


def _numeric_conditions(
    identifier: str, options: Sequence[Option], *, weight: float, additive: bool
) -> str:
    """if RESPONSE = value (within tolerance) then SCORE = fraction, for each answer in turn."""
    branches = []
    wildcard = None
    for option in options:
        if option.text == "*":
            wildcard = option
            continue
        tolerance = (
            f' toleranceMode="absolute" tolerance="{_number(option.tolerance)} '
            f'{_number(option.tolerance)}"'
            if option.tolerance
            else ' toleranceMode="exact"'
        )
        condition = (
            f'<equal{tolerance}><variable identifier="{identifier}"/>'
            f'<baseValue baseType="float">{escape(option.text)}</baseValue></equal>'
        )
        branches.append((condition, option.fraction * weight))

    def score(value: float) -> str:
        constant = f'<baseValue baseType="float">{_number(value)}</baseValue>'
        if additive:
            constant = f'<sum><variable identifier="SCORE"/>{constant}</sum>'
        return f'<setOutcomeValue identifier="SCORE">{constant}</setOutcomeValue>'

    parts = []
    for index, (condition, value) in enumerate(branches):
        tag = "responseIf" if index == 0 else "responseElseIf"
        parts.append(f"<{tag}>{condition}{score(value)}</{tag}>")
    if wildcard is not None and parts:
        parts.append(f"<responseElse>{score(wildcard.fraction * weight)}</responseElse>")
    return f"<responseCondition>{''.join(parts)}</responseCondition>" if parts else ""


def _choice_interaction(
    identifier: str,
    options: Sequence[Option],
    fmt: TextFormat,
    *,
    several: bool,
    shuffle: bool,
    ids: Sequence[str],
    orientation: str = "vertical",
) -> str:
    choices = "".join(
        f'<simpleChoice identifier="{cid}">{_xhtml(o.text, fmt)}</simpleChoice>'
        for cid, o in zip(ids, options, strict=True)
    )
    return (
        f'<choiceInteraction responseIdentifier="{identifier}" shuffle="{str(shuffle).lower()}"'
        f' maxChoices="{0 if several else 1}" orientation="{orientation}">{choices}'
        "</choiceInteraction>"
    )


def _qti_item(question: Question, identifier: str) -> str:
    fmt = question.text_format
    declarations = ""
    processing = f'<responseProcessing template="{_TEMPLATES}map_response"/>'
    body = _block(_xhtml(question.text, fmt))
    kind = question.type
    if kind in {
        QuestionType.SINGLE_CHOICE,
        QuestionType.MULTIPLE_RESPONSE,
        QuestionType.TRUE_FALSE,
    }:
        several = kind is QuestionType.MULTIPLE_RESPONSE
        ids = (
            ["true", "false"]
            if kind is QuestionType.TRUE_FALSE
            else [f"C{n}" for n in range(1, len(question.options) + 1)]
        )
        correct = [
            cid
            for cid, o in zip(ids, question.options, strict=True)
            if (o.fraction > 0 if several else o.fraction >= FULL)
        ]
        mapping = _mapping((cid, o.fraction) for cid, o in zip(ids, question.options, strict=True))
        declarations = _declaration(
            "RESPONSE", "multiple" if several else "single", "identifier", correct, mapping
        )
        body += _choice_interaction(
            "RESPONSE",
            question.options,
            fmt,
            several=several,
            shuffle=question.shuffle and kind is not QuestionType.TRUE_FALSE,
            ids=ids,
        )
    elif kind in {QuestionType.SHORT_ANSWER, QuestionType.NUMERICAL}:
        numeric = kind is QuestionType.NUMERICAL
        best = max(question.options, key=lambda o: o.fraction, default=None)
        correct = [best.text] if best is not None and best.text != "*" else []
        if numeric:
            declarations = _declaration("RESPONSE", "single", "float", correct)
            conditions = _numeric_conditions(
                "RESPONSE", question.options, weight=1.0, additive=False
            )
            processing = f"<responseProcessing>{conditions}</responseProcessing>"
        else:
            wildcard = next((o.fraction for o in question.options if o.text == "*"), 0.0)
            mapping = _mapping(
                ((o.text, o.fraction) for o in question.options),
                case_sensitive=question.case_sensitive,
                default=wildcard,
            )
            declarations = _declaration("RESPONSE", "single", "string", correct, mapping)
        entry = '<textEntryInteraction responseIdentifier="RESPONSE" expectedLength="20"/>'
        if "_____" in body:
            body = body.replace("_____", entry, 1)
        else:
            body += f"<p>{entry}</p>"
    elif kind is QuestionType.MATCHING:
        sources = [p for p in question.pairs if p.prompt.strip()]
        targets: list[str] = list(dict.fromkeys(p.answer for p in question.pairs))
        target_ids = {t: f"T{n}" for n, t in enumerate(targets, start=1)}
        pairs = [f"S{n} {target_ids[p.answer]}" for n, p in enumerate(sources, start=1)]
        share = 1.0 / len(pairs) if pairs else 0.0
        declarations = _declaration(
            "RESPONSE", "multiple", "directedPair", pairs, _mapping((p, share) for p in pairs)
        )
        uses = {t: sum(1 for p in sources if p.answer == t) for t in targets}
        left = "".join(
            f'<simpleAssociableChoice identifier="S{n}" matchMax="1">'
            f"{_xhtml(p.prompt, fmt)}</simpleAssociableChoice>"
            for n, p in enumerate(sources, start=1)
        )
        right = "".join(
            f'<simpleAssociableChoice identifier="{target_ids[t]}" '
            f'matchMax="{max(uses[t], 1)}">{escape(t)}</simpleAssociableChoice>'
            for t in targets
        )
        body += (
            f'<matchInteraction responseIdentifier="RESPONSE" '
            f'shuffle="{str(question.shuffle).lower()}" '
            f'maxAssociations="{len(sources)}"><simpleMatchSet>{left}</simpleMatchSet>'
            f"<simpleMatchSet>{right}</simpleMatchSet></matchInteraction>"
        )
    elif kind is QuestionType.ORDERING:
        ids = [f"O{n}" for n in range(1, len(question.ordering_items) + 1)]
        declarations = _declaration("RESPONSE", "ordered", "identifier", ids)
        processing = f'<responseProcessing template="{_TEMPLATES}match_correct"/>'
        choices = "".join(
            f'<simpleChoice identifier="{i}">{_xhtml(t, fmt)}</simpleChoice>'
            for i, t in zip(ids, question.ordering_items, strict=True)
        )
        body += (
            f'<orderInteraction responseIdentifier="RESPONSE" shuffle="true">{choices}'
            "</orderInteraction>"
        )
    elif kind is QuestionType.CLOZE:
        declarations, body, processing = _qti_cloze(question, body)
    elif kind is QuestionType.ESSAY:
        declarations = _declaration("RESPONSE", "single", "string", [])
        body += '<extendedTextInteraction responseIdentifier="RESPONSE"/>'
        processing = ""
    else:  # description
        processing = ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<assessmentItem xmlns="{QTI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{_SCHEMA}" identifier="{identifier}" '
        f'title={quoteattr(question.name)} adaptive="false" timeDependent="false">\n'
        f"{declarations}{_outcomes()}  <itemBody>{body}</itemBody>\n"
        f"  {processing}\n</assessmentItem>\n"
    )


def _qti_cloze(question: Question, body: str) -> tuple[str, str, str]:
    declarations = []
    scoring = []
    fmt = question.text_format

    def interaction(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if not 0 <= index < len(question.gaps):
            return match.group(0)
        gap: ClozeGap = question.gaps[index]
        identifier = f"R{index + 1}"
        if gap.kind in {GapKind.MULTICHOICE, GapKind.MULTIRESPONSE}:
            several = gap.kind is GapKind.MULTIRESPONSE
            ids = [f"{identifier}C{n}" for n in range(1, len(gap.options) + 1)]
            correct = [
                i
                for i, o in zip(ids, gap.options, strict=True)
                if (o.fraction > 0 if several else o.fraction >= FULL)
            ]
            declarations.append(
                _declaration(
                    identifier,
                    "multiple" if several else "single",
                    "identifier",
                    correct,
                    _mapping(
                        (i, o.fraction * gap.weight) for i, o in zip(ids, gap.options, strict=True)
                    ),
                )
            )
            scoring.append(
                f'<setOutcomeValue identifier="SCORE"><sum><variable identifier="SCORE"/>'
                f'<mapResponse identifier="{identifier}"/></sum></setOutcomeValue>'
            )
            if gap.layout == "dropdown" and not several:
                choices = "".join(
                    f'<inlineChoice identifier="{i}">{escape(o.text)}</inlineChoice>'
                    for i, o in zip(ids, gap.options, strict=True)
                )
                return (
                    f'<inlineChoiceInteraction responseIdentifier="{identifier}" '
                    f'shuffle="{str(gap.shuffle).lower()}">{choices}</inlineChoiceInteraction>'
                )
            return _choice_interaction(
                identifier,
                gap.options,
                fmt,
                several=several,
                shuffle=gap.shuffle,
                ids=ids,
                orientation="horizontal" if gap.layout == "horizontal" else "vertical",
            )
        best = max(gap.options, key=lambda o: o.fraction, default=None)
        correct = [best.text] if best is not None and best.text != "*" else []
        if gap.kind is GapKind.NUMERICAL:
            declarations.append(_declaration(identifier, "single", "float", correct))
            scoring.append(
                _numeric_conditions(identifier, gap.options, weight=gap.weight, additive=True)
            )
        else:
            wildcard = next((o.fraction for o in gap.options if o.text == "*"), 0.0)
            declarations.append(
                _declaration(
                    identifier,
                    "single",
                    "string",
                    correct,
                    _mapping(
                        ((o.text, o.fraction * gap.weight) for o in gap.options),
                        case_sensitive=gap.case_sensitive,
                        default=wildcard * gap.weight,
                    ),
                )
            )
            scoring.append(
                f'<setOutcomeValue identifier="SCORE"><sum><variable identifier="SCORE"/>'
                f'<mapResponse identifier="{identifier}"/></sum></setOutcomeValue>'
            )
        return f'<textEntryInteraction responseIdentifier="{identifier}" expectedLength="15"/>'

    body = re.sub(r"\{#(\d+)\}", interaction, body)
    processing = f"<responseProcessing>{''.join(scoring)}</responseProcessing>"
    # A cloze item's marks are the sum of its gaps', not 1.
    return "".join(declarations), body, processing


def _identifier(question: Question, number: int, used: set[str]) -> str:
    wanted = question.idnumber or ""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", wanted) and wanted not in used:
        return wanted
    return f"item{number:04d}"


def _lom(tags: Sequence[str]) -> str:
    if not tags:
        return ""
    words = "".join(
        f"<imsmd:keyword><imsmd:string>{escape(t)}</imsmd:string></imsmd:keyword>" for t in tags
    )
    return f"<metadata><imsmd:lom><imsmd:general>{words}</imsmd:general></imsmd:lom></metadata>"


def _test(runs: list[tuple[str, list[str]]]) -> str:
    sections = []
    for number, (category, refs) in enumerate(runs, start=1):
        items = "".join(f'<assessmentItemRef identifier="{i}" href="items/{i}.xml"/>' for i in refs)
        inner = items
        parts = [p for p in category.split("/") if p] if category else []
        for depth, part in reversed(list(enumerate(parts))):
            inner = (
                f'<assessmentSection identifier="S{number}_{depth}" title={quoteattr(part)} '
                f'visible="true">{inner}</assessmentSection>'
            )
        if not parts:
            inner = (
                f'<assessmentSection identifier="S{number}" title="" visible="false">'
                f"{inner}</assessmentSection>"
            )
        sections.append(inner)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<assessmentTest xmlns="{QTI_NS}" identifier="bank" title="Question bank">'
        '<testPart identifier="P1" navigationMode="nonlinear" submissionMode="simultaneous">'
        f"{''.join(sections)}</testPart></assessmentTest>\n"
    )


def to_qti21_package(questions: Iterable[Question]) -> bytes:
    """A QTI 2.1 content package (zip with imsmanifest.xml), one item file per question."""
    buffer = io.BytesIO()
    used: set[str] = set()
    resources = []
    runs: list[tuple[str, list[str]]] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, question in enumerate(_exportable(questions), start=1):
            identifier = _identifier(question, number, used)
            used.add(identifier)
            href = f"items/{identifier}.xml"
            archive.writestr(href, _qti_item(question, identifier))
            files = [f'<file href="{href}"/>']
            for media in question.files:
                name = media.name if "/" in media.name else f"@@PLUGINFILE@@/{media.name}"
                target = f"items/{name}"
                if target not in archive.namelist():
                    archive.writestr(target, media.data)
                files.append(f"<file href={quoteattr(target)}/>")
            resources.append(
                f'<resource identifier="R_{identifier}" type="imsqti_item_xmlv2p1" '
                f'href="{href}">{_lom(question.tags)}{"".join(files)}</resource>'
            )
            if runs and runs[-1][0] == question.category:
                runs[-1][1].append(identifier)
            else:
                runs.append((question.category, [identifier]))
        archive.writestr("test.xml", _test(runs))
        resources.insert(
            0,
            '<resource identifier="R_test" type="imsqti_test_xmlv2p1" '
            'href="test.xml"><file href="test.xml"/></resource>',
        )
        archive.writestr(
            "imsmanifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" '
            'xmlns:imsmd="http://ltsc.ieee.org/xsd/LOM" identifier="emtihan-bank">'
            f"<organizations/><resources>{''.join(resources)}</resources></manifest>\n",
        )
    return buffer.getvalue()
