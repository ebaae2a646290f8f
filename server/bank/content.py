"""Between the question bank's `Question` and the stored item version, both ways.

What depends on the language (stem, option texts, matching pairs, ordering items, cloze gap
answers) is stored per language: stems and options in their tables, the rest in ``content`` as
``{language: text}`` maps. What does not (type, fractions, tolerances, the number of options,
pairs, items and gaps) is the item's *structure*: every language of an item shares it, which is
what lets one paper be scored the same way in Kazakh, Russian and English.

Texts shown to the examinee are stored as cleaned HTML with media references rewritten to
``/media/<id>``. Short-answer and numerical answers are stored verbatim: they are keys compared
with what the examinee types, never rendered as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from question_bank.model import (
    ClozeGap,
    GapKind,
    MatchPair,
    MediaFile,
    Option,
    Question,
    QuestionType,
    TextFormat,
)
from server.bank.html import clean, to_html
from server.models import ItemOption, ItemOptionText, ItemText, ItemVersion, Language

Rewrite = Callable[[str], str]
KEY_TYPES = frozenset({QuestionType.SHORT_ANSWER, QuestionType.NUMERICAL})
_DIFFICULTY_TAG = re.compile(r"^difficulty\s*[:=\-_ ]\s*([1-5])$", re.IGNORECASE)
_SRC = re.compile(r"""(\b(?:src|href|data)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_PLUGINFILE = "@@PLUGINFILE@@/"
_MEDIA = re.compile(r"/media/([0-9]+)")


def external_ref(question: Question) -> str | None:
    """How an item is recognised across uploads: the source's id number, else its name."""
    ref = " ".join((question.idnumber or question.name or "").split())
    return ref[:200] or None


def difficulty(question: Question) -> int | None:
    """A tag `difficulty:N` (1-5) sets the item's difficulty; sources have no field for it."""
    for tag in question.tags:
        match = _DIFFICULTY_TAG.match(tag.strip())
        if match:
            return int(match.group(1))
    return None


def fraction(value: float | Decimal) -> Decimal:
    return Decimal(str(round(float(value), 5)))


# -- structure: what every language of an item shares -----------------------------------------


def structure(question: Question) -> tuple[object, ...]:
    numbers = question.type is QuestionType.NUMERICAL
    return (
        question.type.value,
        tuple(
            (fraction(o.fraction), round(o.tolerance, 7), o.text.strip() if numbers else None)
            for o in question.options
        ),
        len(question.pairs),
        sum(1 for p in question.pairs if not p.prompt),
        len(question.ordering_items),
        tuple(
            (
                gap.kind.value,
                tuple((fraction(o.fraction), round(o.tolerance, 7)) for o in gap.options),
            )
            for gap in question.gaps
        ),
    )


def stored_structure(version: ItemVersion) -> tuple[object, ...]:
    content = version.content or {}
    numbers = version.type is QuestionType.NUMERICAL
    tolerances = content.get("tolerances") or [0.0] * len(version.options)
    first = _any_language(version)
    return (
        version.type.value,
        tuple(
            (
                fraction(option.fraction),
                round(float(tolerance), 7),
                _option_text(option, first).strip() if numbers else None,
            )
            for option, tolerance in zip(version.options, tolerances, strict=False)
        ),
        len(content.get("pairs", [])),
        sum(1 for p in content.get("pairs", []) if p.get("distractor")),
        len(content.get("ordering", [])),
        tuple(
            (
                gap["kind"],
                tuple(
                    (fraction(o["fraction"]), round(float(o.get("tolerance", 0.0)), 7))
                    for o in gap["options"]
                ),
            )
            for gap in content.get("gaps", [])
        ),
    )


def _any_language(version: ItemVersion) -> Language | None:
    return version.texts[0].language if version.texts else None


def _option_text(option: ItemOption, language: Language | None) -> str:
    for text in option.texts:
        if text.language == language:
            return text.text
    return option.texts[0].text if option.texts else ""


# -- building rows from a question -------------------------------------------------------------


def media_lookup(files: tuple[MediaFile, ...], ids: Mapping[str, int]) -> Rewrite:
    """Rewrite the source's references to its files (`@@PLUGINFILE@@/x.png`, QTI hrefs)."""
    if not files:
        return lambda markup: markup
    by_name = {f.name: ids[f.name] for f in files if f.name in ids}
    by_base = {name.rsplit("/", 1)[-1]: media_id for name, media_id in by_name.items()}

    def target(value: str) -> int | None:
        ref = value.strip()
        if ref.startswith(_PLUGINFILE):
            ref = unquote(ref[len(_PLUGINFILE) :])
        return by_name.get(ref) or by_name.get(unquote(ref)) or by_base.get(ref.rsplit("/", 1)[-1])

    def rewrite(markup: str) -> str:
        def swap(match: re.Match[str]) -> str:
            media_id = target(match.group(3))
            if media_id is None:
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}/media/{media_id}{match.group(2)}"

        return _SRC.sub(swap, markup)

    return rewrite


def _shown(text: str, text_format: TextFormat, rewrite: Rewrite) -> str:
    return clean(rewrite(to_html(text, text_format)))


def _option_value(question: Question, option: Option, rewrite: Rewrite) -> str:
    if question.type in KEY_TYPES:
        return option.text
    return _shown(option.text, question.text_format, rewrite)


def _gap_value(gap: ClozeGap, option: Option, rewrite: Rewrite) -> str:
    if gap.kind in (GapKind.SHORT_ANSWER, GapKind.NUMERICAL):
        return option.text
    return _shown(option.text, TextFormat.HTML, rewrite)


def new_content(question: Question, language: Language, rewrite: Rewrite) -> dict[str, Any]:
    """The ``content`` JSON of a version made from this question, in one language."""
    lang = language.value
    content: dict[str, Any] = {
        "name": question.name,
        "idnumber": question.idnumber,
        "source_type": question.source_type,
        "category": question.category,
        "tags": list(question.tags),
        "default_mark": question.default_mark,
    }
    if question.single is not None:
        content["single"] = question.single
    if question.type is QuestionType.SHORT_ANSWER:
        content["case_sensitive"] = question.case_sensitive
    if question.type is QuestionType.NUMERICAL:
        content["tolerances"] = [o.tolerance for o in question.options]
    if question.pairs:
        content["pairs"] = [
            {
                "distractor": not pair.prompt,
                "prompt": {lang: _shown(pair.prompt, question.text_format, rewrite)},
                "answer": {lang: clean(pair.answer)},
            }
            for pair in question.pairs
        ]
    if question.ordering_items:
        content["ordering"] = [
            {lang: _shown(entry, question.text_format, rewrite)}
            for entry in question.ordering_items
        ]
    if question.gaps:
        content["gaps"] = [
            {
                "kind": gap.kind.value,
                "weight": gap.weight,
                "case_sensitive": gap.case_sensitive,
                "shuffle": gap.shuffle,
                "layout": gap.layout,
                "options": [
                    {
                        "fraction": float(fraction(o.fraction)),
                        "tolerance": o.tolerance,
                        "text": {lang: _gap_value(gap, o, rewrite)},
                    }
                    for o in gap.options
                ],
            }
            for gap in question.gaps
        ]
    return content


def fill_version(
    version: ItemVersion, question: Question, language: Language, rewrite: Rewrite
) -> None:
    """Give a fresh version its stem, options and content in one language."""
    version.content = new_content(question, language, rewrite)
    version.texts = [
        ItemText(language=language, text=_shown(question.text, question.text_format, rewrite))
    ]
    version.options = [
        ItemOption(
            position=position,
            fraction=fraction(option.fraction),
            texts=[
                ItemOptionText(language=language, text=_option_value(question, option, rewrite))
            ],
        )
        for position, option in enumerate(question.options, start=1)
    ]


def add_language(
    version: ItemVersion, question: Question, language: Language, rewrite: Rewrite
) -> None:
    """Give an existing version the texts of another language (same structure, checked before)."""
    lang = language.value
    version.texts.append(
        ItemText(language=language, text=_shown(question.text, question.text_format, rewrite))
    )
    for option, source in zip(version.options, question.options, strict=True):
        option.texts.append(
            ItemOptionText(language=language, text=_option_value(question, source, rewrite))
        )
    content = dict(version.content or {})
    if question.pairs:
        content["pairs"] = [
            {
                **stored,
                "prompt": {
                    **stored["prompt"],
                    lang: _shown(pair.prompt, question.text_format, rewrite),
                },
                "answer": {**stored["answer"], lang: clean(pair.answer)},
            }
            for stored, pair in zip(content["pairs"], question.pairs, strict=True)
        ]
    if question.ordering_items:
        content["ordering"] = [
            {**stored, lang: _shown(entry, question.text_format, rewrite)}
            for stored, entry in zip(content["ordering"], question.ordering_items, strict=True)
        ]
    if question.gaps:
        content["gaps"] = [
            {
                **stored,
                "options": [
                    {**o, "text": {**o["text"], lang: _gap_value(gap, source, rewrite)}}
                    for o, source in zip(stored["options"], gap.options, strict=True)
                ],
            }
            for stored, gap in zip(content["gaps"], question.gaps, strict=True)
        ]
    # A new dict, so the ORM sees the JSON column change.
    version.content = content


def same_texts(version: ItemVersion, question: Question, language: Language) -> bool:
    """Whether the version already says in this language what the question says.

    Images are left out of the comparison: their ids differ from one upload to the next.
    """
    stem = next((t.text for t in version.texts if t.language == language), None)
    if stem is None:
        return False

    def keep(markup: str) -> str:
        return markup

    if _without_images(stem) != _without_images(_shown(question.text, question.text_format, keep)):
        return False
    return [_without_images(_option_text(o, language)) for o in version.options] == [
        _without_images(_option_value(question, o, keep)) for o in question.options
    ]


def _without_images(markup: str) -> str:
    return re.sub(r"<img[^>]*>", "<img>", markup)


# -- back to a question (export) ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredMedia:
    id: int
    name: str
    data: bytes


def _text_in(texts: Mapping[str, str], language: Language) -> str:
    return texts.get(language.value) or next(iter(texts.values()), "")


def to_question(
    version: ItemVersion,
    *,
    language: Language,
    topic: str,
    external: str | None,
    media: list[StoredMedia],
) -> Question:
    """The version in one language as a question-bank `Question`, media as embedded files."""
    names = {m.id: m.name.rsplit("/", 1)[-1] for m in media}

    def back(markup: str) -> str:
        return _MEDIA.sub(
            lambda m: (
                _PLUGINFILE + names[int(m.group(1))] if int(m.group(1)) in names else m.group(0)
            ),
            markup,
        )

    content = version.content or {}
    stem = next((t.text for t in version.texts if t.language == language), "")
    tolerances = content.get("tolerances") or [0.0] * len(version.options)
    options = tuple(
        Option(
            text=_option_text(option, language)
            if version.type in KEY_TYPES
            else back(_option_text(option, language)),
            fraction=float(option.fraction),
            tolerance=float(tolerance),
        )
        for option, tolerance in zip(version.options, tolerances, strict=False)
    )
    pairs = tuple(
        MatchPair(
            prompt="" if p.get("distractor") else back(_text_in(p["prompt"], language)),
            answer=_text_in(p["answer"], language),
        )
        for p in content.get("pairs", [])
    )
    gaps = tuple(
        ClozeGap(
            kind=GapKind(g["kind"]),
            options=tuple(
                Option(
                    text=_text_in(o["text"], language),
                    fraction=float(o["fraction"]),
                    tolerance=float(o.get("tolerance", 0.0)),
                )
                for o in g["options"]
            ),
            weight=float(g.get("weight", 1.0)),
            case_sensitive=bool(g.get("case_sensitive", False)),
            shuffle=bool(g.get("shuffle", False)),
            layout=str(g.get("layout", "dropdown")),
        )
        for g in content.get("gaps", [])
    )
    return Question(
        name=str(content.get("name") or external or f"item-{version.item_id}"),
        type=QuestionType(version.type),
        source_type=str(content.get("source_type") or version.type.value),
        text=back(stem),
        text_format=TextFormat.HTML,
        category=topic,
        tags=tuple(content.get("tags", [])),
        idnumber=content.get("idnumber") or external,
        options=options,
        deliverable=version.deliverable,
        skip_reason=version.skip_reason,
        single=content.get("single"),
        shuffle=version.shuffle_options,
        case_sensitive=bool(content.get("case_sensitive", False)),
        pairs=pairs,
        ordering_items=tuple(
            back(_text_in(entry, language)) for entry in content.get("ordering", [])
        ),
        gaps=gaps,
        default_mark=float(content.get("default_mark", 1.0)),
        files=tuple(MediaFile(names[m.id], m.data) for m in media),
    )
