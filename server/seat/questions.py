"""The paper's questions as HTML: each unanswered question rendered once, served to every paper.

At an exam's start 2,000 papers are opened within a minute, and rendering a paper's 25 questions
from its views cost ~2 ms of the server's one interpreter (reading the views half of it): 17 %
of it in the sign-in minute, the largest share (docs/BENCHMARKS.md). But the papers of a sitting
are drawn from the same few hundred item versions, and a question nobody has answered looks the
same on every paper that holds it, but for its position: so its section is rendered once per
item version, option order, language, page locale, discipline and paper size, with a placeholder
where the position goes, and every paper fills in its own. A question with a save (an answer,
a cleared answer, a flag) shows it, and is rendered for its page.

Item versions never change once made, and the key holds everything else a section shows, so a
kept section never goes stale. Sections are kept per process, as many as ``CACHE_SIZE``.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.orm import Session

from server.i18n import get_locale
from server.models import Attempt, Language
from server.seat.views import (
    ItemTexts,
    Place,
    item_texts,
    newest_saves,
    paper_places,
    question_view,
)
from server.web import environment

TEMPLATE = "seat/_questions.html"
SECTION_TEMPLATE = "seat/_question.html"
NAVIGATOR_TEMPLATE = "seat/_navigator.html"

# A few thousand sections of ~2 KB: every question of a large sitting's papers, in their
# languages, with room to spare; beyond it the least used go first and are rendered again.
CACHE_SIZE = 8192

# Where a kept section's position goes. Random per process: no item's text can hold it.
_POSITION = f"\x00{secrets.token_hex(16)}\x00"

# item version, option order, language, page locale, discipline, paper size, shown first
_Key = tuple[int, tuple[int, ...], Language, str, str, int, bool]
_sections: OrderedDict[_Key, tuple[str, ...]] = OrderedDict()
# The navigator of a paper nobody has answered, by page locale and paper size.
_navigators: dict[tuple[str, int], str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class NavigatorEntry:
    """A question's button in the paper's navigator."""

    position: int
    answered: bool
    flagged: bool


def forget_rendered() -> None:
    """Forget every kept section (the tests roll back databases whose ids come again)."""
    with _lock:
        _sections.clear()
        _navigators.clear()


def _render_section(**context: object) -> str:
    return environment().get_template(SECTION_TEMPLATE).render(**context)


def _render_navigator(navigator: list[NavigatorEntry]) -> str:
    return environment().get_template(NAVIGATOR_TEMPLATE).render(questions=navigator)


def _navigator_html(navigator: list[NavigatorEntry], *, locale: str) -> str:
    if any(entry.answered or entry.flagged for entry in navigator):
        return _render_navigator(navigator)
    key = (locale, len(navigator))
    with _lock:
        html = _navigators.get(key)
    if html is None:
        html = _render_navigator(navigator)
        with _lock:
            _navigators[key] = html
    return html


def _unanswered_section(
    place: Place, item: ItemTexts, language: Language, *, total: int, locale: str
) -> str:
    first = place.position == 1
    key = (
        place.item_version_id,
        place.option_order,
        language,
        locale,
        place.discipline,
        total,
        first,
    )
    with _lock:
        parts = _sections.get(key)
        if parts is not None:
            _sections.move_to_end(key)
    if parts is None:
        view = question_view(place, item, language, None)
        html = _render_section(q=view, position=_POSITION, total=total, first=first)
        parts = tuple(html.split(_POSITION))
        with _lock:
            _sections[key] = parts
            while len(_sections) > CACHE_SIZE:
                _sections.popitem(last=False)
    return str(place.position).join(parts)


def questions_html(db: Session, attempt: Attempt) -> Markup:
    """The attempt's questions for its paper page, in the page's locale."""
    places = paper_places(db, attempt.id)
    answers = newest_saves(db, attempt.id)
    items = item_texts(db, {place.item_version_id for place in places})
    language, locale, total = attempt.language, get_locale(), len(places)
    navigator: list[NavigatorEntry] = []
    sections: list[Markup] = []
    for place in places:
        item = items[place.item_version_id]
        response = answers.get(place.id)
        if response is None:
            html = _unanswered_section(place, item, language, total=total, locale=locale)
            navigator.append(NavigatorEntry(place.position, answered=False, flagged=False))
        else:
            view = question_view(place, item, language, response)
            html = _render_section(
                q=view, position=place.position, total=total, first=place.position == 1
            )
            navigator.append(NavigatorEntry(place.position, view.answered, view.flagged))
        sections.append(Markup(html))  # noqa: S704 - rendered by the autoescaping environment
    page = (
        environment()
        .get_template(TEMPLATE)
        .render(
            navigator=Markup(_navigator_html(navigator, locale=locale)),  # noqa: S704 - rendered
            sections=sections,
        )
    )
    return Markup(page)  # noqa: S704 - rendered by the autoescaping environment
