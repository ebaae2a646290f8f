"""Small HTML chores: visible text, blankness, media references, and well-formed XHTML.

Question texts stay HTML as the author wrote them; these helpers only look at them (checks,
default names) or re-serialize them where a target format demands XML (QTI export).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
MEDIA = frozenset({"img", "audio", "video", "object", "embed", "math", "svg", "iframe", "source"})
_MEDIA_ATTRS = {"img": "src", "audio": "src", "video": "src", "source": "src", "embed": "src",
                "object": "data"}  # fmt: skip


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.media: list[str] = []
        self.has_media = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        if tag in MEDIA:
            self.has_media = True
        attr = _MEDIA_ATTRS.get(tag)
        if attr:
            for name, value in attrs:
                if name == attr and value:
                    self.media.append(value)
        if tag in {"br", "p", "div", "li", "tr"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _scan(markup: str) -> _Scanner:
    scanner = _Scanner()
    scanner.feed(markup)
    scanner.close()
    return scanner


def _is_plain(markup: str) -> bool:
    # Most option texts carry no markup at all; they skip the HTML parser.
    return "<" not in markup and "&" not in markup


def visible_text(markup: str) -> str:
    """The words an examinee would read, whitespace collapsed."""
    if _is_plain(markup):
        return collapse(markup)
    return collapse("".join(_scan(markup).parts))


def is_blank(markup: str) -> bool:
    """No words and no picture, sound or formula: nothing for an examinee to look at."""
    if _is_plain(markup):
        return not markup.strip()
    scanner = _scan(markup)
    return not collapse("".join(scanner.parts)) and not scanner.has_media


def media_refs(markup: str) -> list[str]:
    return _scan(markup).media


def plain_to_html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br/>")


class _Canonical(HTMLParser):
    """Re-emits HTML with one spelling per construct, for comparing texts across formats."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def _attrs(self, attrs: list[tuple[str, str | None]]) -> str:
        pieces = []
        for name, value in attrs:
            if not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", name):
                continue
            pieces.append(f' {name}="{html.escape(value if value is not None else name)}"')
        return "".join(pieces)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            self.out.append(f"<{tag}{self._attrs(attrs)}/>")
            return
        self.out.append(f"<{tag}{self._attrs(attrs)}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}{self._attrs(attrs)}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.open:
            return  # a stray end tag would make the result ill-formed
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def to_xhtml(markup: str) -> str:
    """Well-formed XHTML for the same markup: void tags closed, entities resolved, tags balanced."""
    parser = _Canonical()
    parser.feed(markup)
    return parser.result()


def canonical_html(markup: str) -> str:
    """One spelling of a text, whitespace collapsed: equal when an examinee would see the same."""
    if _is_plain(markup):
        return collapse(markup.replace(">", "&gt;"))
    parser = _Canonical()
    parser.feed(markup)
    return collapse(parser.result()).replace("> <", "><").replace(" <", "<").replace("> ", ">")


def shorten(text: str, limit: int = 80) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut + "..."
