"""Rendering pages and htmx fragments from the Jinja2 templates in ``proctor_ui/templates``.

An htmx request (``HX-Request``) gets only the named block of the page, rendered from the same
template as the full page, so fragments and pages never drift apart.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2_fragments import render_block
from markupsafe import Markup

from server.auth.cookies import csrf_token_for
from server.auth.roles import ROLE_NAMES
from server.i18n import (
    LANGUAGE_NAMES,
    LOCALES,
    get_locale,
    gettext,
    ngettext,
    translations_for,
)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "proctor_ui" / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "proctor_ui" / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code and change only with a restart; checking every template
        # file's time on every render cost a system call per template at the exam's start.
        auto_reload=False,
    )
    # The callables read the request's language from a context variable at render time.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = env.globals["gettext"] = template_gettext
    env.filters["local"] = local_time
    env.filters["percent"] = percent
    env.filters["clock"] = clock
    # For msgids marked in Python with N_(): newstyle _() would %-format them, and "50%" breaks.
    env.filters["translate"] = gettext
    return env


# A message without variables, as a template shows it, by language: templates hold a few hundred
# msgids, so this stays small; a bound keeps it so if a template ever passes a computed one.
_PLAIN_MESSAGES: dict[tuple[str, str], Markup] = {}
_PLAIN_MESSAGES_BOUND = 4096


@pass_context
def template_gettext(context: Context, message: str, /, **variables: Any) -> str:
    """``_()`` and ``{% trans %}`` in a template: what Jinja's newstyle gettext gives, in one
    call instead of three, and a message without variables translated once per language.

    A page of the exam holds some forty messages; through Jinja's alias, its context calls and
    a ``Markup % {}`` each, they were a quarter of rendering the paper page (docs/BENCHMARKS.md).
    As in Jinja, the message is always a format string (``%%`` is a percent sign) and, where
    the template autoescapes, its variables are escaped.
    """
    if not context.eval_ctx.autoescape:
        return gettext(message) % variables
    if variables:
        return Markup(gettext(message)) % variables  # noqa: S704 - the catalog's text, as Jinja's
    key = (get_locale(), message)
    shown = _PLAIN_MESSAGES.get(key)
    if shown is None:
        shown = Markup(gettext(message)) % {}  # noqa: S704 - the catalog's text, as Jinja's
        if len(_PLAIN_MESSAGES) < _PLAIN_MESSAGES_BOUND:
            _PLAIN_MESSAGES[key] = shown
    return shown


@lru_cache(maxsize=len(LOCALES))
def _role_names(locale: str) -> dict[str, str]:
    return {role.value: translations_for(locale).gettext(name) for role, name in ROLE_NAMES.items()}


def local_time(instant: datetime, timezone: str) -> str:
    """An instant as the university's wall-clock time."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def clock(epoch_ms: int, timezone: str) -> str:
    """An instant given in epoch milliseconds as the university's time of day, to the second."""
    return datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(timezone)).strftime("%H:%M:%S")


def percent(value: Decimal) -> str:
    """A percentage with two decimals, written the way the reader's language writes numbers."""
    return format_decimal(value, format="0.00", locale=get_locale())


def page_context(request: Request, **context: Any) -> dict[str, Any]:
    return {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token_for(request),
        "locale": get_locale(),
        "locales": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "role_names": _role_names(get_locale()),
        **context,
    }


def render(
    request: Request,
    template: str,
    *,
    block: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page, or only ``block`` of it when htmx asks for a fragment."""
    env = environment()
    full_context = page_context(request, **context)
    wants_fragment = block is not None and request.headers.get("hx-request") == "true"
    if wants_fragment:
        assert block is not None
        html = render_block(env, template, block, full_context)
    else:
        html = env.get_template(template).render(full_context)
    return HTMLResponse(html, status_code=status_code)
