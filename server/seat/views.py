"""The paper as the student sees it: stems and options in their language, never a key.

Everything a student-facing page or JSON shows of a question is built here, from texts only:
``ItemOption.fraction`` is not even loaded, so no template can print it by mistake, and neither
are the options of short-answer and numerical items (they are the accepted answers) nor their
content (tolerances). A matching or ordering item's stored pairs and order are the key: of them
the view takes only the texts, numbered by sorted text (``server.seat.answers``), never a
position. A choice item's options are numbered by their place on this paper, never by their
database id, which follows the authoring order (the key is often authored first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.bank.html import clean
from server.db.session import columns
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
    Response,
)
from server.seat.answers import (
    CHOICE_TYPES,
    FALLBACK,
    TEXT_TYPES,
    choice_numbers,
    is_answered,
    matching_choices,
    matching_stems,
    ordering_entries,
)
from server.seat.closing import Saved, current_answers


@dataclass(frozen=True)
class OptionView:
    """One option as shown; ``id`` is what the page sends back for it.

    A choice option's number on this paper, a matching choice's or an ordering entry's id: none
    of them an ``item_options.id``.
    """

    id: int
    text: Markup


@dataclass(frozen=True)
class QuestionView:
    """One question; ``kind`` says how the page shows it and reads its answer.

    * ``choice``: ``options`` in the paper's order, numbered 1, 2, … in that order (never an
      ``item_options.id``), ``answer`` the numbers of the chosen ones;
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


@lru_cache(maxsize=16384)
def _markup(html: str) -> Markup:
    # Every paper of a sitting is drawn from the same few hundred texts, and at the start all of
    # them are shown within seconds: each text is cleaned once, not once per paper.
    return Markup(clean(html))  # noqa: S704 - cleaned


@dataclass(frozen=True)
class ItemTexts:
    """What the page shows of one item version, in every language; never its key."""

    type: ItemType
    stems: dict[Language, str]
    options: dict[int, dict[Language, str]]  # choice types only: the others' options are keys
    content: Any  # matching and ordering only: their texts


# Item versions never change once made (server.models.bank), and at an exam's start every
# paper is drawn from the same few hundred: each is read once per process, not once per paper.
_ITEM_CACHE_SIZE = 4096
_item_cache: OrderedDict[int, ItemTexts] = OrderedDict()
_item_cache_lock = threading.Lock()


def clear_item_cache() -> None:
    """Forget every item read (the tests roll back databases whose ids come again)."""
    with _item_cache_lock:
        _item_cache.clear()


def item_texts(db: Session, version_ids: set[int]) -> dict[int, ItemTexts]:
    with _item_cache_lock:
        found = {v: _item_cache[v] for v in version_ids if v in _item_cache}
    missing = version_ids - found.keys()
    if not missing:
        return found
    types = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.type).where(ItemVersion.id.in_(missing))
        ).all()
    )
    stems: dict[int, dict[Language, str]] = defaultdict(dict)
    for version_id, language, text in db.execute(
        select(ItemText.item_version_id, ItemText.language, ItemText.text).where(
            ItemText.item_version_id.in_(missing)
        )
    ):
        stems[version_id][language] = text
    choices = [v for v in missing if types[v] in CHOICE_TYPES]
    options: dict[int, dict[int, dict[Language, str]]] = defaultdict(lambda: defaultdict(dict))
    for version_id, option_id, language, text in db.execute(
        select(
            ItemOption.item_version_id, ItemOption.id, ItemOptionText.language, ItemOptionText.text
        )
        .join(ItemOption, ItemOption.id == ItemOptionText.option_id)
        .where(ItemOption.item_version_id.in_(choices))
    ):
        options[version_id][option_id][language] = text
    structured = [v for v in missing if types[v] in (ItemType.MATCHING, ItemType.ORDERING)]
    contents: dict[int, Any] = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.content).where(ItemVersion.id.in_(structured))
        ).all()
    )
    read = {
        v: ItemTexts(
            type=types[v],
            stems=dict(stems[v]),
            options={option: dict(texts) for option, texts in options[v].items()},
            content=contents.get(v),
        )
        for v in missing
    }
    with _item_cache_lock:
        for version_id, texts in read.items():
            _item_cache[version_id] = texts
            _item_cache.move_to_end(version_id)
        while len(_item_cache) > _ITEM_CACHE_SIZE:
            _item_cache.popitem(last=False)
    return found | read


@dataclass(frozen=True)
class Place:
    """A question's place on a paper: what its view is made of, besides the student's answer.

    ``option_order`` holds database ids (or a matching item's choice numbers): it stays on the
    server, and only the view built from it reaches a page.
    """

    id: int
    position: int
    item_version_id: int
    option_order: tuple[int, ...]
    discipline: str


# Built once: it runs for every paper page.
_PLACES = (
    select(
        PaperQuestion.id,
        PaperQuestion.position,
        PaperQuestion.item_version_id,
        PaperQuestion.option_order,
        Discipline.name,
    )
    .join(Discipline, Discipline.id == PaperQuestion.discipline_id)
    .where(PaperQuestion.attempt_id == bindparam("attempt_id"))
    .order_by(PaperQuestion.position)
)


def paper_places(db: Session, attempt_id: int) -> list[Place]:
    return [
        Place(place_id, position, version_id, tuple(order), discipline)
        for place_id, position, version_id, order, discipline in columns(
            db, _PLACES, {"attempt_id": attempt_id}
        )
    ]


def question_view(
    place: Place, item: ItemTexts, language: Language, response: Saved | None
) -> QuestionView:
    """The question at ``place`` as the student sees it, with ``response``, its newest save."""
    stored: Any = response.answer if response else None
    item_type = item.type
    common: dict[str, Any] = {
        "position": place.position,
        "discipline": place.discipline,
        "multiple": item_type == ItemType.MULTIPLE_RESPONSE,
        "stem": _markup(_pick(item.stems, language)),
        "flagged": response.flagged if response else False,
        "answered": is_answered(stored),
    }
    content = item.content or {}
    if item_type in CHOICE_TYPES:
        return QuestionView(
            kind="choice",
            options=tuple(
                OptionView(id=number, text=_markup(_pick(item.options[option_id], language)))
                for number, option_id in enumerate(place.option_order, start=1)
            ),
            answer=choice_numbers(place.option_order, stored),
            **common,
        )
    if item_type in TEXT_TYPES:
        typed = stored.get("text") if isinstance(stored, dict) else None
        return QuestionView(
            kind="text",
            options=(),
            answer=(),
            numerical=item_type == ItemType.NUMERICAL,
            text=typed if isinstance(typed, str) else "",
            **common,
        )
    if item_type == ItemType.MATCHING:
        choices = matching_choices(content, language)
        pairs = stored.get("pairs") if isinstance(stored, dict) else None
        return QuestionView(
            kind="matching",
            options=tuple(
                OptionView(id=choice, text=Markup.escape(choices[choice - 1]))
                for choice in place.option_order
                if 1 <= choice <= len(choices)
            ),
            answer=(),
            stems=tuple(_markup(stem) for stem in matching_stems(content, language)),
            matched={stem: choice for stem, choice in pairs or []},
            **common,
        )
    entries = ordering_entries(content, language)
    order = stored.get("order") if isinstance(stored, dict) else None
    return QuestionView(
        kind="ordering",
        options=tuple(
            OptionView(id=entry, text=_markup(entries[entry - 1]))
            for entry in (order or place.option_order)
            if 1 <= entry <= len(entries)
        ),
        answer=(),
        start=place.option_order,
        **common,
    )


def paper_view(db: Session, attempt: Attempt) -> list[QuestionView]:
    places = paper_places(db, attempt.id)
    items = item_texts(db, {place.item_version_id for place in places})
    answers = current_answers(db, attempt.id)
    return [
        question_view(place, items[place.item_version_id], attempt.language, answers.get(place.id))
        for place in places
    ]


def unanswered_positions(db: Session, attempt_id: int) -> tuple[list[int], int]:
    """The places on the paper whose newest save holds no answer, and the paper's size: what
    the finish page tells. Two small reads, not ``paper_view``: at the end of an exam every
    student opens this page within a minute, and the page shows no question."""
    places = dict(
        db.execute(
            select(PaperQuestion.id, PaperQuestion.position).where(
                PaperQuestion.attempt_id == attempt_id
            )
        ).all()
    )
    newest: dict[int, Any] = {}
    saves = db.execute(
        select(Response.paper_question_id, Response.answer)
        .where(Response.attempt_id == attempt_id)
        .order_by(Response.seq)
    )
    for question_id, answer in saves:
        newest[question_id] = answer
    unanswered = sorted(
        position
        for question_id, position in places.items()
        if not is_answered(newest.get(question_id))
    )
    return unanswered, len(places)
