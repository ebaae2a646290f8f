"""Answers at the seat: their shape for each item type, how a save is checked, what counts.

The page sends, and ``responses.answer`` stores, one JSON value per save:

================================================  ==================================  =========
item type                                         answer                              empty
================================================  ==================================  =========
single choice, true/false, multiple response      ``[1, 3]``: option numbers (page);  ``[]``
                                                  ``[41, 43]``: option ids (stored)
short answer, numerical                           ``{"text": "3,5"}``: as typed       blank
matching                                          ``{"pairs": [[stem, choice], …]}``  no pair
ordering                                          ``{"order": [entry, …]}``           ``[]``
================================================  ==================================  =========

A typed text is kept exactly as typed (at most ``TEXT_LIMIT`` characters): the numerical
credit reads "3,5" itself, and an appeal sees what the student wrote. Matching pairs are stored
sorted by stem; an order lists every entry exactly once, or is empty (cleared).

**Ids that carry no key.** A matching item's stems are numbered 1, 2, … in the item's order; its
*choices* are the distinct answer texts, and an ordering item's *entries* its texts, each
numbered by the rank of its text in sorted order (in the paper's language). A position in the
stored item would be the key itself (the right order; the stem an answer belongs to), so none
ever reaches the page: what the page shows depends on the texts and the draw only, and changing
the key changes nothing the student sees. The paper's ``option_order`` holds these numbers in
the shuffled order the page shows (matching choices) or starts from (ordering entries).

A choice item's ``option_order`` holds its option ids (``item_options.id``) in the order drawn
for the paper. Those ids follow the authoring order, and the key is often authored first, so
they never reach the page either: the page numbers the options 1, 2, … by their place in
``option_order`` (``choice_numbers``) and sends those numbers; ``checked_answer`` takes them back
to the option ids, which is what ``responses.answer`` keeps, so scoring, results, appeals and the
proctor's views read real option ids as before.

The key-side helpers (``matching_right``, ``ordering_right``) are for scoring only; the views
never call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from question_bank.htmltext import visible_text
from server.models import ItemType, Language
from server.seat.errors import (
    AnswerTooLong,
    MalformedAnswer,
    OneOptionOnly,
    UnknownOption,
)

TEXT_LIMIT = 500
CHOICE_LIMIT = 64  # option numbers in one save, as the request model allows
# When a text is missing in the paper's language, the first that exists, in this order.
FALLBACK = (Language.KK, Language.RU, Language.EN)

CHOICE_TYPES = frozenset({ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_RESPONSE, ItemType.TRUE_FALSE})
ONE_ANSWER_TYPES = frozenset({ItemType.SINGLE_CHOICE, ItemType.TRUE_FALSE})
TEXT_TYPES = frozenset({ItemType.SHORT_ANSWER, ItemType.NUMERICAL})
# The item types whose answer is an object rather than a list of option ids.
SHAPES: Mapping[ItemType, str] = {
    ItemType.SHORT_ANSWER: "text",
    ItemType.NUMERICAL: "text",
    ItemType.MATCHING: "pairs",
    ItemType.ORDERING: "order",
}

# What ``responses.answer`` holds: option ids, or one of the objects above.
StoredAnswer = list[int] | dict[str, Any]
# What a save carries before it is checked: the page's JSON (option numbers for a choice item).
RawAnswer = Sequence[int] | Mapping[str, Any]


def is_answered(answer: object) -> bool:
    """Whether a stored answer holds an answer: a cleared or blank one does not count."""
    if isinstance(answer, Mapping):
        text = answer.get("text")
        if isinstance(text, str):
            return bool(text.strip())
        return any(bool(answer.get(key)) for key in ("pairs", "order"))
    return bool(answer)


# -- texts in the paper's language -------------------------------------------------------------


def pick_text(texts: Mapping[str, str], language: Language) -> str:
    """The text in ``language``, else the first of kk, ru, en that exists, else any."""
    for candidate in (language, *FALLBACK):
        if candidate.value in texts:
            return texts[candidate.value]
    return next(iter(texts.values()), "")


def _pairs(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    pairs = content.get("pairs") or []
    return [p for p in pairs if isinstance(p, dict)]


def matching_stems(content: Mapping[str, Any], language: Language) -> list[str]:
    """The stems (cleaned HTML) in the item's order; stem number = index + 1."""
    return [
        pick_text(p.get("prompt") or {}, language)
        for p in _pairs(content)
        if not p.get("distractor")
    ]


def matching_choices(content: Mapping[str, Any], language: Language) -> list[str]:
    """The distinct answer texts (plain), sorted; choice id = index + 1.

    Equal texts are one choice, as in Moodle, so two stems with the same answer are both right
    with it; the distractors (answers without a stem) are choices too.
    """
    return sorted(
        {visible_text(pick_text(p.get("answer") or {}, language)) for p in _pairs(content)}
    )


def matching_right(content: Mapping[str, Any], language: Language) -> list[str]:
    """The key: each stem's right answer text, in stem order. Scoring only."""
    return [
        visible_text(pick_text(p.get("answer") or {}, language))
        for p in _pairs(content)
        if not p.get("distractor")
    ]


def ordering_entries(content: Mapping[str, Any], language: Language) -> list[str]:
    """The entries (cleaned HTML) sorted by their text; entry id = index + 1."""
    texts = [pick_text(entry, language) for entry in content.get("ordering") or []]
    return sorted(texts, key=lambda text: (visible_text(text), text))


def ordering_right(content: Mapping[str, Any], language: Language) -> list[str]:
    """The key: the entries in their right order. Scoring only."""
    return [pick_text(entry, language) for entry in content.get("ordering") or []]


def id_count(item_type: ItemType, content: Mapping[str, Any], language: Language) -> int:
    """How many choice (matching) or entry (ordering) ids the paper shuffles for this item."""
    if item_type is ItemType.MATCHING:
        return len(matching_choices(content, language))
    if item_type is ItemType.ORDERING:
        return len(content.get("ordering") or [])
    return 0


# -- choice options: the page's numbers and the stored ids -------------------------------------


def choice_numbers(option_order: Sequence[int], stored: object) -> tuple[int, ...]:
    """The page's numbers (1-based places in ``option_order``) of a stored choice answer's ids.

    An id that is not on the paper is left out: the page has no option to check for it.
    """
    if not isinstance(stored, list):
        return ()
    number = {option_id: place for place, option_id in enumerate(option_order, start=1)}
    return tuple(number[option_id] for option_id in stored if option_id in number)


# -- checking a save ---------------------------------------------------------------------------


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(raw: RawAnswer, key: str) -> Any:
    if not isinstance(raw, Mapping) or set(raw) != {key}:
        raise MalformedAnswer()
    return raw[key]


def _ids(value: object, limit: int) -> list[int]:
    if not isinstance(value, list) or len(value) > limit or not all(map(_is_id, value)):
        raise MalformedAnswer()
    return list(value)


def checked_answer(
    item_type: ItemType, raw: RawAnswer, *, option_order: Sequence[int], stems: int
) -> StoredAnswer:
    """The answer as it is stored, or the refusal that says what is wrong with it.

    ``option_order`` is the paper's order of option, choice or entry ids; ``stems`` the number
    of stems of a matching item (0 for other types). A choice answer arrives as the page's
    option numbers (1 to ``len(option_order)``, each once) and is stored as the option ids at
    those places.
    """
    known = set(option_order)
    if item_type in CHOICE_TYPES:
        if isinstance(raw, Mapping):
            raise MalformedAnswer()
        chosen = _ids(list(raw), CHOICE_LIMIT)
        if len(set(chosen)) != len(chosen) or not all(
            1 <= number <= len(option_order) for number in chosen
        ):
            raise UnknownOption()
        if item_type in ONE_ANSWER_TYPES and len(chosen) > 1:
            raise OneOptionOnly()
        return [option_order[number - 1] for number in chosen]
    shape = SHAPES.get(item_type)
    if shape is None:  # a type the draw never puts on a paper
        raise MalformedAnswer()
    value = _object(raw, shape)
    if shape == "text":
        if not isinstance(value, str):
            raise MalformedAnswer()
        if len(value) > TEXT_LIMIT:
            raise AnswerTooLong(limit=TEXT_LIMIT)
        return {"text": value}
    if shape == "pairs":
        if not isinstance(value, list) or len(value) > stems:
            raise MalformedAnswer()
        pairs = [_ids(pair, 2) for pair in value]
        if any(len(pair) != 2 for pair in pairs):
            raise MalformedAnswer()
        if len({stem for stem, _choice in pairs}) != len(pairs):
            raise MalformedAnswer()
        if any(not 1 <= stem <= stems or choice not in known for stem, choice in pairs):
            raise UnknownOption()
        return {"pairs": sorted(pairs)}
    order = _ids(value, len(option_order))
    if not set(order) <= known:
        raise UnknownOption()
    if order and sorted(order) != sorted(option_order):
        raise MalformedAnswer()
    return {"order": order}


def same_answer(stored: object, answer: StoredAnswer) -> bool:
    """Whether a stored answer is this one (option ids in any order are the same choice)."""
    if isinstance(answer, list):
        return isinstance(stored, list) and sorted(stored) == sorted(answer)
    return stored == answer
