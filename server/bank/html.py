"""Item HTML as it may reach an examinee's browser.

Banks come from outside (Moodle exports, QTI packages, spreadsheets), so their markup is untrusted:
it is cleaned when stored and again when the seat renders it, so a text stored before a change of
these rules is still held to the current ones. Only formatting survives. An image is kept only
when it points at one of our own ``/media/<id>`` files: an external URL would let the author track
who sees the item and when, and would break in a lab cut off from the Internet (R 4.8).
"""

from __future__ import annotations

import html as html_escape
import re
from functools import lru_cache

import nh3
from markupsafe import Markup

from question_bank.model import TextFormat

MEDIA_SRC = re.compile(r"^/media/[1-9][0-9]{0,17}$")

TAGS = frozenset(
    {
        "p", "br", "hr", "div", "span", "b", "strong", "i", "em", "u", "s", "del", "ins", "mark",
        "small", "sub", "sup", "code", "pre", "kbd", "samp", "var", "blockquote", "q",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
        "img", "figure", "figcaption", "abbr", "bdi", "bdo", "ruby", "rt", "rp", "wbr",
    }
)  # fmt: skip
ATTRIBUTES = {
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "bdo": {"dir"},
    "abbr": {"title"},
    "*": {"lang", "dir"},
}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if MEDIA_SRC.match(value) else None
    if attribute in {"width", "height", "colspan", "rowspan", "span", "start"}:
        return value if value.isdigit() and len(value) <= 5 else None
    return value


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(),
        attribute_filter=_attribute_filter,
        link_rel=None,
        strip_comments=True,
    )


def clean(html: str) -> str:
    """The markup with everything but formatting, tables, lists and our own images removed."""
    return _cleaner().clean(html)


def markup(html: str) -> Markup:
    """Cleaned markup that a template may output as it is."""
    return Markup(clean(html))  # noqa: S704 - cleaned on the line it is made


def to_html(text: str, text_format: TextFormat) -> str:
    """A source text in its own format as (uncleaned) HTML.

    Markdown is shown as plain text with its line breaks: a Markdown renderer is one more parser
    of untrusted input, and the corpus has Markdown only in description items, which are never
    delivered.
    """
    if text_format is TextFormat.HTML:
        return text
    if text_format is TextFormat.MOODLE:
        # Moodle's auto-format keeps the author's line breaks unless the text is laid out in HTML.
        if re.search(r"<(p|br|div|table|ul|ol|pre)\b", text, re.IGNORECASE):
            return text
        return text.replace("\r\n", "\n").replace("\n", "<br>")
    escaped = html_escape.escape(text, quote=False)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")
