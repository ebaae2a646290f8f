"""IMS QTI 2.1, 2.2 and 3.0: single items (`assessmentItem`) and tests (`assessmentTest`).

QTI 3.0's kebab-case names (`qti-choice-interaction`, `response-identifier`) are rewritten to the
2.x camelCase names on load, so one reader serves all versions.

Scoring. The server scores every item with the model's fractions (see model.py), so the item's
response processing is translated, not run:

* the standard templates: match_correct (the correct response earns full marks) and
  map_response (the mapping gives each choice its value);
* custom processing built from the usual blocks: `mapResponse` of a response, or conditions
  comparing a response with its correct value or with constants (`match`, `equal` with a
  tolerance, `stringMatch`) that set the score to a constant or add one to it.

Mapped and constant scores are divided by the item's maximum (the best single choice, or the sum
of positive values for several answers) to give fractions. A multiple-answer item scored
all-or-nothing gives each correct choice 1/k and each wrong one -1 (any wrong tick cancels the
mark). Processing that cannot be translated, templated items (values drawn per attempt),
adaptive items, and interactions without a name in the contract are kept, not deliverable, with
the reason. Structural faults that make an item unscorable as written (an undeclared identifier,
an empty correct response, an unknown processing element, a MAXSCORE without value, processing
that sets no outcome) are errors.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Protocol

from question_bank.htmltext import collapse, media_refs
from question_bank.i18n import N_, _
from question_bank.model import (
    ClozeGap,
    Format,
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
from question_bank.qti_render import (
    INTERACTIONS,
    inner,
    prompt_html,
    render_body,
    render_children,
    unwrap,
)
from question_bank.qti_scoring import (
    ItemContext,
    ResponseDeclaration,
    Scoring,
    analyse,
    check_processing,
    child_named,
    children_named,
    choice_fractions,
    read_declarations,
    text_answers,
)
from question_bank.xmlsafe import (
    SOURCE_TAG,
    line_of,
    local,
    namespace,
    parse_xml,
)

NAMESPACES = {
    "http://www.imsglobal.org/xsd/imsqti_v2p0": Format.QTI21,
    "http://www.imsglobal.org/xsd/imsqti_v2p1": Format.QTI21,
    "http://www.imsglobal.org/xsd/imsqti_v2p2": Format.QTI22,
    "http://www.imsglobal.org/xsd/imsqtiasi_v3p0": Format.QTI30,
}
_NOT_ANSWERS = frozenset({"mediaInteraction", "endAttemptInteraction"})
_GAP_INTERACTIONS = frozenset(
    {"textEntryInteraction", "inlineChoiceInteraction", "choiceInteraction"}
)
_UNSUPPORTED = {
    "hotspotInteraction": N_("clicking areas of an image (hotspot) is not supported"),
    "selectPointInteraction": N_("clicking a point on an image is not supported"),
    "graphicOrderInteraction": N_("ordering hotspots on an image is not supported"),
    "graphicAssociateInteraction": N_("associating hotspots on an image is not supported"),
    "graphicGapMatchInteraction": N_("dragging labels onto an image is not supported"),
    "positionObjectInteraction": N_("positioning objects on an image is not supported"),
    "sliderInteraction": N_("slider answers are not supported"),
    "hottextInteraction": N_("selecting words in the text (hot text) is not supported"),
    "associateInteraction": N_("free association of pairs is not supported"),
    "gapMatchInteraction": N_("dragging words into gaps is not supported"),
    "drawingInteraction": N_("drawn answers are not supported"),
    "uploadInteraction": N_("uploaded files need a human marker; not supported"),
    "customInteraction": N_("custom interactions are not supported"),
    "portableCustomInteraction": N_("portable custom interactions are not supported"),
}
_Fields = dict[str, Any]  # Question fields an item's readers share


class Resolver(Protocol):
    """Where an item's or test's relative hrefs are looked up (a folder, or a zip package)."""

    def read(self, href: str) -> bytes | str:
        """The bytes at href, or a message saying why they cannot be read."""

    def exists(self, href: str) -> bool: ...


def join(base: str, href: str) -> str:
    """href relative to the document at base; '' when it would leave the package or folder."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith(("/", "\\")):
        return ""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), href.split("#")[0]))
    if path.startswith("..") or path == ".":
        return ""
    return path


# -- loading -----------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def normalize(root: ET.Element) -> Format | None:
    """Drop the QTI namespace and rewrite QTI 3.0 names to QTI 2.x names, in place."""
    version = NAMESPACES.get(namespace(root.tag))
    if version is None and local(root.tag).startswith("qti-"):
        version = Format.QTI30
    qti_namespaces = {*NAMESPACES, ""}
    for element in root.iter():
        if not isinstance(element.tag, str) or namespace(element.tag) not in qti_namespaces:
            continue
        name = local(element.tag)
        if name.startswith("qti-"):
            element.set(SOURCE_TAG, name)
            element.tag = _camel(name[4:])
            for key in [k for k in element.attrib if "-" in k and not k.startswith("{")]:
                element.attrib[_camel(key)] = element.attrib.pop(key)
        else:
            element.tag = name
    return version


# -- items -------------------------------------------------------------------------------------


def _interactions(body: ET.Element | None) -> list[ET.Element]:
    if body is None:
        return []
    return [e for e in body.iter() if e.tag in INTERACTIONS and e.tag not in _NOT_ANSWERS]


def parse_item(
    root: ET.Element,
    *,
    href: str = "",
    resolver: Resolver | None = None,
    category: str = "",
    tags: tuple[str, ...] = (),
) -> Parsed:
    """One assessmentItem (already normalized) into exactly one Question."""
    parsed = Parsed()
    name = collapse(root.get("title", "")) or root.get("identifier", "") or _("QTI item")
    item = ItemContext(root, href, name, parsed)
    read_declarations(item)
    processing = child_named(root, "responseProcessing")
    if processing is not None:
        check_processing(item, processing)
    body = child_named(root, "itemBody")
    interactions = _interactions(body)
    for interaction in interactions:
        response = interaction.get("responseIdentifier", "")
        if response not in item.responses:
            item.error(
                interaction,
                _("interaction answers {id}, which is not declared").format(id=response),
            )
    base = {
        "name": name,
        "text_format": TextFormat.HTML,
        "category": category,
        "tags": tags,
        "idnumber": root.get("identifier") or None,
        "line": line_of(root),
    }
    question = _classify(item, body, interactions, processing, base)
    unanswerable = {QuestionType.DESCRIPTION, QuestionType.ESSAY, QuestionType.OTHER}
    if processing is None and question.type not in unanswerable:
        question = replace(
            question,
            deliverable=False,
            skip_reason=_("the item has no response processing, so nothing can score it"),
        )
    if child_named(root, "templateProcessing") is not None or item.templates:
        question = replace(
            question,
            deliverable=False,
            skip_reason=_(
                "values are drawn per attempt by template processing; "
                "templated items are not supported"
            ),
        )
    if root.get("adaptive", "false").lower() == "true":
        question = replace(
            question,
            deliverable=False,
            skip_reason=_("adaptive items (several attempts with hints) are not supported"),
        )
    if parsed.errors and question.deliverable:
        question = replace(question, deliverable=False, skip_reason=parsed.errors[0].message)
    question = replace(question, media=tuple(_media(question)))
    if resolver is not None:
        files = []
        for ref in question.media:
            target = join(href, ref)
            data = resolver.read(target) if target and resolver.exists(target) else None
            if isinstance(data, bytes):
                files.append(MediaFile(ref, data))
                continue
            parsed.warn(
                question.line,
                name,
                _(
                    "the item shows '{href}', which is missing; the "
                    "examinee will see a broken image"
                ).format(href=ref),
            )
        question = replace(question, files=tuple(files))
    parsed.questions.append(question)
    return parsed


def _media(question: Question) -> list[str]:
    texts = [question.text, *(o.text for o in question.options)]
    texts += [p.prompt + p.answer for p in question.pairs]
    texts += list(question.ordering_items)
    refs: list[str] = []
    for text in texts:
        for ref in media_refs(text):
            if ref not in refs and not re.match(r"^(data|https?):", ref):
                refs.append(ref)
    return refs


def _classify(
    item: ItemContext,
    body: ET.Element | None,
    interactions: list[ET.Element],
    processing: ET.Element | None,
    base: _Fields,
) -> Question:
    if body is None or not interactions:
        text = render_body(body, {}) if body is not None else ""
        return Question(
            type=QuestionType.DESCRIPTION,
            source_type="itemBody",
            text=text,
            deliverable=False,
            skip_reason=_("a description has nothing to answer"),
            **base,
        )
    kinds = [i.tag for i in interactions]
    responses = {i.get("responseIdentifier") for i in interactions}
    scorings = analyse(item, processing)
    if len(interactions) == 1 or len(responses) == 1:
        return _single(item, body, interactions[0], scorings, base)
    if all(kind in _GAP_INTERACTIONS for kind in kinds):
        return _cloze(item, body, interactions, scorings, base)
    unsupported = next((k for k in kinds if k not in _GAP_INTERACTIONS), kinds[0])
    return Question(
        type=QuestionType.OTHER,
        source_type=" ".join(dict.fromkeys(kinds)),
        text=render_children(body).strip(),
        deliverable=False,
        skip_reason=_(
            _UNSUPPORTED.get(
                unsupported, N_("items combining these interactions are not supported")
            )
        ),
        **base,
    )


def _choices(interaction: ET.Element) -> list[tuple[str, str]]:
    tags = {"simpleChoice", "inlineChoice"}
    return [(c.get("identifier", ""), inner(c)) for c in interaction.iter() if c.tag in tags]


def _single(
    item: ItemContext,
    body: ET.Element,
    interaction: ET.Element,
    scorings: dict[str, Scoring] | None,
    base: _Fields,
) -> Question:
    kind = interaction.tag
    response = interaction.get("responseIdentifier", "")
    declaration = item.responses.get(response)
    scoring = scorings.get(response) if scorings is not None else None
    replacement = prompt_html(interaction)
    if kind in {"textEntryInteraction", "inlineChoiceInteraction"}:
        replacement = "_____"
    text = render_body(body, {interaction: replacement})
    # An answer box alone at the end is not part of the stem.
    text = unwrap(re.sub(r"\s*<(p|div)>\s*_____\s*</\1>\s*$", "", text))
    common = dict(
        base,
        text=text,
        source_type=kind,
        shuffle=interaction.get("shuffle", "false").lower() == "true",
    )
    untranslatable = _("the item's response processing cannot be translated into fractions")
    if declaration is None:
        return Question(
            type=QuestionType.OTHER, deliverable=False, skip_reason=untranslatable, **common
        )

    if kind in {"choiceInteraction", "inlineChoiceInteraction"}:
        choices = _choices(interaction)
        max_choices = int(parse_number(interaction.get("maxChoices", "1")) or 0)
        several = declaration.cardinality != "single" and max_choices != 1
        found = choice_fractions(
            declaration, scoring, [c[0] for c in choices], several=several, max_score=item.max_score
        )
        fractions = found[0] if found else [0.0] * len(choices)
        question_type = QuestionType.MULTIPLE_RESPONSE if several else QuestionType.SINGLE_CHOICE
        texts = [choice_text for _id, choice_text in choices]
        if not several and [c[0].lower() for c in choices] == ["true", "false"]:
            # How true/false travels in QTI (Emtihan's export writes it so, as do others).
            question_type, texts = QuestionType.TRUE_FALSE, ["True", "False"]
        options = tuple(Option(t, round_fraction(f)) for t, f in zip(texts, fractions, strict=True))
        question = Question(type=question_type, options=options, single=not several, **common)
        return question if found is not None else _undeliverable(question, untranslatable)

    if kind == "textEntryInteraction":
        return _text_entry(declaration, scoring, common, untranslatable, item.max_score)

    if kind == "matchInteraction":
        return _match(interaction, declaration, scoring, common, untranslatable)

    if kind == "orderInteraction":
        items = dict(_choices_of(interaction, "simpleChoice"))
        order = [items[i] for i in declaration.correct if i in items]
        question = Question(type=QuestionType.ORDERING, ordering_items=tuple(order), **common)
        if not order or scoring is None:
            return _undeliverable(question, untranslatable)
        return question

    if kind == "extendedTextInteraction":
        return Question(
            type=QuestionType.ESSAY,
            deliverable=False,
            skip_reason=_("an essay has no automatic score; it needs a human marker"),
            **common,
        )

    return Question(
        type=QuestionType.OTHER,
        deliverable=False,
        skip_reason=_(_UNSUPPORTED.get(kind, N_("this interaction is not supported"))),
        **common,
    )


def _choices_of(interaction: ET.Element, tag: str) -> list[tuple[str, str]]:
    return [(c.get("identifier", ""), inner(c)) for c in interaction.iter() if c.tag == tag]


def _plain_or_markup(element: ET.Element) -> str:
    if any(isinstance(c.tag, str) for c in element):
        return inner(element)
    return collapse(element.text or "")


def _undeliverable(question: Question, reason: str) -> Question:
    return replace(question, deliverable=False, skip_reason=reason)


def _text_entry(
    declaration: ResponseDeclaration,
    scoring: Scoring | None,
    common: _Fields,
    untranslatable: str,
    max_score: float | None,
) -> Question:
    numeric = declaration.base_type in {"float", "integer"}
    question_type = QuestionType.NUMERICAL if numeric else QuestionType.SHORT_ANSWER
    answers = text_answers(declaration, scoring, max_score)
    common = dict(common, shuffle=False)
    if answers is None:
        return Question(type=question_type, deliverable=False, skip_reason=untranslatable, **common)
    options, case, _best = answers
    return Question(
        type=question_type, options=tuple(options), case_sensitive=case and not numeric, **common
    )


def _match(
    interaction: ET.Element,
    declaration: ResponseDeclaration,
    scoring: Scoring | None,
    common: _Fields,
    untranslatable: str,
) -> Question:
    sets = children_named(interaction, "simpleMatchSet")
    if len(sets) != 2:
        return Question(
            type=QuestionType.OTHER, deliverable=False, skip_reason=untranslatable, **common
        )
    sources = _choices_of(sets[0], "simpleAssociableChoice")
    # Match answers are plain text in Moodle; keep markup only where there is some (images).
    targets = {
        c.get("identifier", ""): _plain_or_markup(c)
        for c in sets[1].iter()
        if c.tag == "simpleAssociableChoice"
    }
    if scoring is not None and scoring.mapping and declaration.mapping:
        correct = [k for k, v in declaration.mapping.items() if v > 0]
    else:
        correct = list(declaration.correct)
    links: dict[str, list[str]] = {}
    for pair in correct:
        parts = pair.split()
        if len(parts) == 2:
            links.setdefault(parts[0], []).append(parts[1])
    pairs = []
    unmatched = []
    for identifier, prompt in sources:
        answers = links.get(identifier, [])
        if len(answers) != 1 or answers[0] not in targets:
            unmatched.append(collapse(prompt))
            continue
        pairs.append(MatchPair(prompt, targets[answers[0]]))
    used = {a for answers in links.values() for a in answers}
    pairs += [MatchPair("", text) for identifier, text in targets.items() if identifier not in used]
    question = Question(type=QuestionType.MATCHING, pairs=tuple(pairs), **common)
    if scoring is None or not correct:
        return _undeliverable(question, untranslatable)
    if unmatched:
        return _undeliverable(
            question,
            _("'{item}' has no single correct match; matching items need exactly one").format(
                item=unmatched[0]
            ),
        )
    return question


def _weight(best: float) -> float:
    return round(best, 7) if best > 0 else 1.0


def _cloze(
    item: ItemContext,
    body: ET.Element,
    interactions: list[ET.Element],
    scorings: dict[str, Scoring] | None,
    base: _Fields,
) -> Question:
    replacements: dict[ET.Element, str] = {}
    gaps: list[ClozeGap] = []
    translatable = scorings is not None
    for number, interaction in enumerate(interactions, start=1):
        response = interaction.get("responseIdentifier", "")
        declaration = item.responses.get(response)
        scoring = scorings.get(response) if scorings is not None else None
        replacements[interaction] = prompt_html(interaction) + f"{{#{number}}}"
        gap, weight = None, 1.0
        if declaration is not None and interaction.tag == "textEntryInteraction":
            answers = text_answers(declaration, scoring)
            if answers is not None:
                numeric = declaration.base_type in {"float", "integer"}
                kind = GapKind.NUMERICAL if numeric else GapKind.SHORT_ANSWER
                gap = ClozeGap(
                    kind, tuple(answers[0]), _weight(answers[2]), answers[1] and not numeric
                )
        elif declaration is not None:
            choices = _choices(interaction)
            max_choices = int(parse_number(interaction.get("maxChoices", "1")) or 0)
            several = declaration.cardinality != "single" and max_choices != 1
            found = choice_fractions(declaration, scoring, [c[0] for c in choices], several=several)
            if found is not None:
                fractions, best = found
                weight = _weight(best)
                options = tuple(
                    Option(t, round_fraction(f))
                    for (_i, t), f in zip(choices, fractions, strict=True)
                )
                layout = (
                    "dropdown"
                    if interaction.tag == "inlineChoiceInteraction"
                    else interaction.get("orientation", "vertical")
                )
                gap = ClozeGap(
                    GapKind.MULTIRESPONSE if several else GapKind.MULTICHOICE,
                    options,
                    weight,
                    shuffle=interaction.get("shuffle", "false").lower() == "true",
                    layout=layout,
                )
        if gap is None:
            translatable = False
            gap = ClozeGap(GapKind.SHORT_ANSWER, ())
        gaps.append(gap)
    question = Question(
        type=QuestionType.CLOZE,
        source_type=" ".join(dict.fromkeys(i.tag for i in interactions)),
        text=render_body(body, replacements),
        gaps=tuple(gaps),
        default_mark=sum(g.weight for g in gaps),
        **base,
    )
    if not translatable:
        return _undeliverable(
            question, _("the item's response processing cannot be translated into fractions")
        )
    return question


# -- documents ---------------------------------------------------------------------------------


def _section_items(
    element: ET.Element, path: tuple[str, ...]
) -> Iterator[tuple[ET.Element, tuple[str, ...]]]:
    for child in element:
        if child.tag == "assessmentSection":
            title = collapse(child.get("title", ""))
            yield from _section_items(child, (*path, title) if title else path)
        elif child.tag == "testPart":
            yield from _section_items(child, path)
        elif child.tag == "assessmentItemRef":
            yield child, path


def parse_test(
    root: ET.Element,
    *,
    href: str,
    resolver: Resolver | None,
    tags_for: dict[str, tuple[str, ...]] | None = None,
) -> tuple[Parsed, list[str]]:
    """The items a test refers to, in test order; also the hrefs it used."""
    parsed = Parsed()
    used: list[str] = []
    for reference, path in _section_items(root, ()):
        target = join(href, reference.get("href", ""))
        label = reference.get("identifier") or reference.get("href") or ""
        if resolver is None or not target:
            parsed.error(
                line_of(reference),
                label,
                _("the test refers to '{href}', which cannot be opened").format(
                    href=reference.get("href", "")
                ),
            )
            continue
        data = resolver.read(target)
        if isinstance(data, str):
            parsed.error(line_of(reference), label, data)
            continue
        used.append(target)
        category = "/".join(path)
        parsed.extend(
            parse_item_document(
                data,
                href=target,
                resolver=resolver,
                category=category,
                tags=(tags_for or {}).get(target, ()),
            )[1]
        )
    return parsed, used


def parse_item_document(
    data: bytes,
    *,
    href: str,
    resolver: Resolver | None,
    category: str = "",
    tags: tuple[str, ...] = (),
) -> tuple[Format | None, Parsed]:
    """An item file inside a test or package; issues name the file they come from."""
    version, parsed = parse_document(
        data, href=href, resolver=resolver, category=category, tags=tags, allow_test=False
    )
    if href:
        prefix = f"{href}: "
        parsed.errors = [replace(i, message=prefix + i.message) for i in parsed.errors]
        parsed.warnings = [replace(i, message=prefix + i.message) for i in parsed.warnings]
    return version, parsed


def parse_document(
    data: bytes,
    *,
    href: str = "",
    resolver: Resolver | None = None,
    category: str = "",
    tags: tuple[str, ...] = (),
    allow_test: bool = True,
) -> tuple[Format | None, Parsed]:
    """A QTI file: one item, or a test whose items are read through the resolver."""
    result = parse_xml(data)
    if result.root is None:
        parsed = Parsed()
        parsed.error(result.line, None, result.error or _("unreadable XML"))
        return None, parsed
    root = result.root
    version = normalize(root)
    if root.tag == "assessmentItem":
        return version, parse_item(root, href=href, resolver=resolver, category=category, tags=tags)
    if root.tag == "assessmentTest" and allow_test:
        return version, parse_test(root, href=href, resolver=resolver)[0]
    parsed = Parsed()
    parsed.error(
        line_of(root),
        None,
        _("not a QTI item or test: the root element is <{tag}>").format(tag=local(root.tag)),
    )
    return version, parsed
