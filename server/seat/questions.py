"""The paper's questions as HTML, rendered for each attempt before the exam starts.

At the start every admitted student's waiting page opens the paper within the same two seconds
(``waiting.js``), and rendering 25 questions costs ~6 ms of the interpreter: 2,000 papers are
12 s of it, served one after another. But a paper is frozen at sign-in, and its item versions
never change, so its questions can be rendered before the start: when the proctor admits the
student, during the check-in window, while the server has time to spare. At the start the page
only puts its header and clock around them.

A rendering stands for the attempt as long as no answer or flag is saved, which is every attempt
at the start. Once one is, the questions show it and are rendered live, as on any reload.
Renderings are kept per process (compressed, ~7 KB each) and lost with it: after a restart, or
in a worker that did not admit the student, the page renders live, as it always may.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import OrderedDict

from markupsafe import Markup
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from server.i18n import get_locale, set_locale
from server.models import Attempt, AttemptState, Response
from server.seat.views import paper_view
from server.web import environment

logger = logging.getLogger(__name__)

TEMPLATE = "seat/_questions.html"

# Enough for every examinee of a large exam-start storm; beyond it the oldest renderings go
# first, and their pages are rendered live.
CACHE_SIZE = 8192

_Key = tuple[int, str, str]  # attempt, its language, the page's locale
_rendered: OrderedDict[_Key, bytes] = OrderedDict()
_lock = threading.Lock()

# Admitted, or already sitting when a latecomer's page opens the paper before this runs.
_OPEN = frozenset({AttemptState.ADMITTED, AttemptState.IN_PROGRESS})


def forget_rendered() -> None:
    """Forget every rendering (the tests roll back databases whose ids come again)."""
    with _lock:
        _rendered.clear()


def _key(attempt: Attempt) -> _Key:
    return (attempt.id, attempt.language.value, get_locale())


# Built once: it runs for every paper page at the start.
_HAS_RESPONSES = select(exists().where(Response.attempt_id == bindparam("attempt_id")))


def _has_responses(db: Session, attempt_id: int) -> bool:
    return bool(db.execute(_HAS_RESPONSES, {"attempt_id": attempt_id}).scalar_one())


def _render(db: Session, attempt: Attempt) -> tuple[Markup, bool]:
    """The questions, and whether they show no saved answer or flag (so they may be kept)."""
    views = paper_view(db, attempt)
    html = environment().get_template(TEMPLATE).render(questions=views)
    untouched = not any(view.answered or view.flagged for view in views)
    return Markup(html), untouched  # noqa: S704 - rendered by the autoescaping environment


def _keep(key: _Key, html: Markup) -> None:
    packed = zlib.compress(html.encode(), 6)
    with _lock:
        _rendered[key] = packed
        _rendered.move_to_end(key)
        while len(_rendered) > CACHE_SIZE:
            _rendered.popitem(last=False)


def questions_html(db: Session, attempt: Attempt) -> Markup:
    """The attempt's questions for its paper page, rendered before the start where possible."""
    key = _key(attempt)
    with _lock:
        packed = _rendered.get(key)
    if packed is not None and not _has_responses(db, attempt.id):
        return Markup(zlib.decompress(packed).decode())  # noqa: S704 - rendered by _render
    html, untouched = _render(db, attempt)
    if untouched:
        _keep(key, html)
    return html


def prepare(db: Session, attempt_id: int) -> None:
    """Render an admitted attempt's questions ahead of the start, in its language.

    Runs after the admission has committed, in a read session of the reader threads
    (``server.db.reader``); a failure here costs only the head start, so it is logged, never
    raised to the proctor whose admission has already succeeded.
    """
    locale = get_locale()
    try:
        attempt = db.get(Attempt, attempt_id)
        if attempt is None or attempt.state not in _OPEN:
            return
        set_locale(attempt.language.value)
        key = _key(attempt)
        html, untouched = _render(db, attempt)
        if untouched:
            _keep(key, html)
    except Exception:
        logger.exception("rendering the questions of attempt %s ahead of the start", attempt_id)
    finally:
        set_locale(locale)
