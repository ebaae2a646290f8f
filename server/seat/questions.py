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

When the students came before the start, their waiting pages all open the paper within the
same two seconds (``waiting.js``): 2,000 papers put together at once, and the sections' first
renderings with them, held the start p99 at 9 s at 2,000 where papers made ahead held it at 4 s
(docs/BENCHMARKS.md). So each admitted student's paper is also put together at the admission,
in the check-in window (``prepare``), and kept whole (compressed, ~8 KB) while nothing is saved
on it: at the start the page only puts its header and clock around it. A kept paper is lost
with the process; then the page puts the paper together from the sections, as on any reload.
"""

from __future__ import annotations

import logging
import secrets
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from server.db.session import columns
from server.i18n import get_locale, set_locale
from server.models import Attempt, AttemptState, Language, Response
from server.seat.closing import Saved, current_answers
from server.seat.views import (
    ItemTexts,
    Place,
    item_texts,
    paper_places,
    question_view,
)
from server.web import environment

logger = logging.getLogger(__name__)

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
# Whole papers nobody has saved on, put together at the admission: attempt, language, locale.
_PaperKey = tuple[int, Language, str]
_papers: OrderedDict[_PaperKey, bytes] = OrderedDict()
_lock = threading.Lock()

# Admitted, or already sitting when a latecomer's page opens the paper before this runs.
_OPEN = frozenset({AttemptState.ADMITTED, AttemptState.IN_PROGRESS})

# Built once: it runs for every paper page at the start.
_HAS_RESPONSES = select(exists().where(Response.attempt_id == bindparam("attempt_id")))
# Built once: it runs for every admission.
_UNTOUCHED_LANGUAGE = select(Attempt.language).where(
    Attempt.id == bindparam("attempt_id"),
    Attempt.state.in_(_OPEN),
    ~exists().where(Response.attempt_id == Attempt.id),
)


@dataclass(frozen=True)
class NavigatorEntry:
    """A question's button in the paper's navigator."""

    position: int
    answered: bool
    flagged: bool


def forget_rendered() -> None:
    """Forget every kept section and paper (the tests roll back databases whose ids come
    again)."""
    with _lock:
        _sections.clear()
        _navigators.clear()
        _papers.clear()


def _keep(kept: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key``, the least used going first beyond ``CACHE_SIZE``."""
    with _lock:
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > CACHE_SIZE:
            kept.popitem(last=False)


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
        _keep(_sections, key, parts)
    return str(place.position).join(parts)


def _assemble(
    db: Session, attempt_id: int, language: Language, answers: Mapping[int, Saved]
) -> Markup:
    """The attempt's questions in ``language``, with ``answers`` (its saves by place)."""
    places = paper_places(db, attempt_id)
    items = item_texts(db, {place.item_version_id for place in places})
    locale, total = get_locale(), len(places)
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


def _keep_paper(key: _PaperKey, html: Markup) -> None:
    # Level 1: a quarter of level 6's CPU (62 against 247 µs a paper), a fifth larger; every
    # admission of the check-in window pays it.
    _keep(_papers, key, zlib.compress(html.encode(), 1))


def questions_html(db: Session, attempt: Attempt) -> Markup:
    """The attempt's questions for its paper page, in the page's locale: the paper kept at the
    admission while nothing is saved on it, else put together from the sections."""
    key = (attempt.id, attempt.language, get_locale())
    with _lock:
        packed = _papers.get(key)
    if packed is not None:
        if not columns(db, _HAS_RESPONSES, {"attempt_id": attempt.id}).scalar_one():
            return Markup(zlib.decompress(packed).decode())  # noqa: S704 - assembled here
        with _lock:
            _papers.pop(key, None)  # saved on: never served again
    answers = current_answers(db, attempt.id)
    html = _assemble(db, attempt.id, attempt.language, answers)
    if not answers:
        _keep_paper(key, html)
    return html


def prepare(db: Session, attempt_id: int) -> None:
    """Put an admitted attempt's paper together ahead of the start, in its language.

    Runs after the admission has committed, in a read session of the reader threads
    (``server.db.reader``); a failure here costs only the head start, so it is logged, never
    raised to the proctor whose admission has already succeeded.
    """
    locale = get_locale()
    try:
        # The attempt's language, if it is open and nothing is saved on it: a paper with a save
        # is never kept, so it is not put together here.
        language = columns(db, _UNTOUCHED_LANGUAGE, {"attempt_id": attempt_id}).scalar()
        if language is None:
            return
        set_locale(language.value)
        _keep_paper((attempt_id, language, language.value), _assemble(db, attempt_id, language, {}))
    except Exception:
        logger.exception("putting the paper of attempt %s together ahead of the start", attempt_id)
    finally:
        set_locale(locale)
