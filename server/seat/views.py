"""The paper as the student sees it: stems and options in their language, never a key.

Everything a student-facing page or JSON shows of a question is built here, from texts only:
``ItemOption.fraction`` is not even loaded, so no template can print it by mistake, and neither
are the options of short-answer and numerical items (they are the accepted answers) nor their
content (tolerances). A matching or ordering item's stored pairs and order are the key: of them
the view takes only the texts, numbered by sorted text (``server.seat.answers``), never a
position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.bank.html import clean
from server.models import (
    Attempt,
    Discipline,
    ItemOption,
    ItemOptionText,
    ItemText,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
)
from server.seat.answers import (
    CHOICE_TYPES,
    FALLBACK,
    TEXT_TYPES,
    is_answered,
    matching_choices,
    matching_stems,
    ordering_entries,
)
from server.seat.closing import current_answers


@dataclass(frozen=True)
class OptionView:
    id: int
    text: Markup


@dataclass(frozen=True)
class QuestionView:
    """One question; ``kind`` says how the page shows it and reads its answer.

    * ``choice``: ``options`` in the paper's order, ``answer`` the chosen option ids;
    * ``text`` (short answer, numerical): ``text`` as typed;
    * ``matching``: ``stems`` in the item's order, ``options`` the choices in the paper's order,
      ``matched`` the choice id given to each stem number;
    * ``ordering``: ``options`` the entries in the student's saved order (the paper's starting
      order until one is saved), ``start`` that starting order.
    """

    position: int
    discipline: str
    kind: str
    multiple: bool
    stem: Markup
    options: tuple[OptionView, ...]
    answer: tuple[int, ...]
    flagged: bool
    answered: bool
    numerical: bool = False
    text: str = ""
    stems: tuple[Markup, ...] = ()
    matched: Mapping[int, int] = field(default_factory=dict)
    start: tuple[int, ...] = ()

    @property
    def input_type(self) -> str:
        return "checkbox" if self.multiple else "radio"


def _pick(texts: dict[Language, str], language: Language) -> str:
    for candidate in (language, *FALLBACK):
        if candidate in texts:
            return texts[candidate]
    return ""


def _markup(html: str) -> Markup:
    return Markup(clean(html))  # noqa: S704 - cleaned


def paper_view(db: Session, attempt: Attempt) -> list[QuestionView]:
    paper = list(
        db.execute(
            select(PaperQuestion)
            .where(PaperQuestion.attempt_id == attempt.id)
            .order_by(PaperQuestion.position)
        ).scalars()
    )
    version_ids = [q.item_version_id for q in paper]
    types = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.type).where(ItemVersion.id.in_(version_ids))
        ).all()
    )
    stems: dict[int, dict[Language, str]] = defaultdict(dict)
    for version_id, language, text in db.execute(
        select(ItemText.item_version_id, ItemText.language, ItemText.text).where(
            ItemText.item_version_id.in_(version_ids)
        )
    ):
        stems[version_id][language] = text
    # Only the options the paper shows: a short answer's options are its accepted answers.
    shown = [
        option_id
        for q in paper
        if types[q.item_version_id] in CHOICE_TYPES
        for option_id in q.option_order
    ]
    option_texts: dict[int, dict[Language, str]] = defaultdict(dict)
    for option_id, language, text in db.execute(
        select(ItemOptionText.option_id, ItemOptionText.language, ItemOptionText.text)
        .join(ItemOption, ItemOption.id == ItemOptionText.option_id)
        .where(ItemOption.id.in_(shown))
    ):
        option_texts[option_id][language] = text
    structured = [v for v in version_ids if types[v] in (ItemType.MATCHING, ItemType.ORDERING)]
    contents: dict[int, Any] = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.content).where(ItemVersion.id.in_(structured))
        ).all()
    )
    disciplines = dict(
        db.execute(
            select(Discipline.id, Discipline.name).where(
                Discipline.id.in_({q.discipline_id for q in paper})
            )
        ).all()
    )
    answers = current_answers(db, attempt.id)
    language = attempt.language
    views = []
    for question in paper:
        response = answers.get(question.id)
        stored: Any = response.answer if response else None
        item_type = types[question.item_version_id]
        common: dict[str, Any] = {
            "position": question.position,
            "discipline": disciplines[question.discipline_id],
            "multiple": item_type == ItemType.MULTIPLE_RESPONSE,
            "stem": _markup(_pick(stems[question.item_version_id], language)),
            "flagged": response.flagged if response else False,
            "answered": is_answered(stored),
        }
        content = contents.get(question.item_version_id) or {}
        if item_type in CHOICE_TYPES:
            view = QuestionView(
                kind="choice",
                options=tuple(
                    OptionView(id=option_id, text=_markup(_pick(option_texts[option_id], language)))
                    for option_id in question.option_order
                ),
                answer=tuple(stored) if isinstance(stored, list) else (),
                **common,
            )
        elif item_type in TEXT_TYPES:
            typed = stored.get("text") if isinstance(stored, dict) else None
            view = QuestionView(
                kind="text",
                options=(),
                answer=(),
                numerical=item_type == ItemType.NUMERICAL,
                text=typed if isinstance(typed, str) else "",
                **common,
            )
        elif item_type == ItemType.MATCHING:
            choices = matching_choices(content, language)
            pairs = stored.get("pairs") if isinstance(stored, dict) else None
            view = QuestionView(
                kind="matching",
                options=tuple(
                    OptionView(id=choice, text=Markup.escape(choices[choice - 1]))
                    for choice in question.option_order
                    if 1 <= choice <= len(choices)
                ),
                answer=(),
                stems=tuple(_markup(stem) for stem in matching_stems(content, language)),
                matched={stem: choice for stem, choice in pairs or []},
                **common,
            )
        else:
            entries = ordering_entries(content, language)
            order = stored.get("order") if isinstance(stored, dict) else None
            view = QuestionView(
                kind="ordering",
                options=tuple(
                    OptionView(id=entry, text=_markup(entries[entry - 1]))
                    for entry in (order or question.option_order)
                    if 1 <= entry <= len(entries)
                ),
                answer=(),
                start=tuple(question.option_order),
                **common,
            )
        views.append(view)
    return views
