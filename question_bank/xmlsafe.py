"""XML parsing that cannot be turned against the server, and that remembers line numbers.

Only defusedxml parses: a DTD is refused outright, so no entity can expand (billion laughs) and no
external entity or DTD can be fetched. Every element gets its 1-based source line in the
attribute LINE, so errors can point at the line a department head has to fix.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from question_bank.i18n import _

LINE = "{urn:emtihan}line"
SOURCE_TAG = "{urn:emtihan}tag"  # the name an element had before it was renamed


@dataclass(frozen=True, slots=True)
class XmlResult:
    root: ET.Element | None
    error: str | None = None
    line: int | None = None


class _LineTreeBuilder(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.parser: Any = None

    def start(self, tag: Any, attrs: dict[str, str]) -> ET.Element:
        attrs = dict(attrs)
        if self.parser is not None:
            attrs[LINE] = str(self.parser.parser.CurrentLineNumber)
        return super().start(tag, attrs)


def parse_xml(data: bytes) -> XmlResult:
    """Parse a whole document; malformed or hostile input gives an error, never an exception."""
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        line: int | None = exc.position[0] if exc.position else None
        return XmlResult(None, _("malformed XML: {detail}").format(detail=_expat_detail(exc)), line)
    except DefusedXmlException as exc:
        line = _current_line(parser)
        return XmlResult(
            None,
            _("XML with a DTD or entity declarations is refused ({kind})").format(
                kind=type(exc).__name__
            ),
            line,
        )
    except (ValueError, LookupError) as exc:  # unknown encoding declared, and the like
        return XmlResult(None, _("unreadable XML: {detail}").format(detail=exc), None)
    return XmlResult(root)


def _current_line(parser: DefusedXMLParser) -> int | None:
    try:
        return int(parser.parser.CurrentLineNumber)
    except (AttributeError, TypeError, ValueError):
        return None


def _expat_detail(exc: ET.ParseError) -> str:
    # expat appends ": line 3, column 4"; the report carries the line separately.
    message = str(exc)
    return message.split(": line ")[0]


def local(tag: object) -> str:
    """Tag without its namespace (comments and processing instructions give '')."""
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]


def namespace(tag: object) -> str:
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def line_of(element: ET.Element | None) -> int | None:
    if element is None:
        return None
    value = element.get(LINE)
    return int(value) if value else None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local(child.tag) == name]


def child(element: ET.Element, name: str) -> ET.Element | None:
    for candidate in element:
        if local(candidate.tag) == name:
            return candidate
    return None


def text_of(element: ET.Element | None) -> str:
    """All character data inside an element (Moodle's <text> holds escaped or CDATA HTML)."""
    if element is None:
        return ""
    return "".join(element.itertext())


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"})  # fmt: skip


def attributes(element: ET.Element) -> str:
    parts = []
    for name, value in element.attrib.items():
        if name in {LINE, SOURCE_TAG}:
            continue
        escaped = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        parts.append(f' {local(name)}="{escaped}"')
    return "".join(parts)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serialize(element: ET.Element, *, math_root: bool = True) -> str:
    """One element as markup, namespaces dropped (MathML keeps its xmlns on the <math> root)."""
    name = local(element.tag)
    attrs = attributes(element)
    if name == "math" and math_root and namespace(element.tag):
        attrs = f' xmlns="{namespace(element.tag)}"' + attrs
    inner = serialize_children(element)
    if not inner and name in _VOID:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{inner}</{name}>"


def serialize_children(element: ET.Element) -> str:
    """Everything inside an element, as markup (used where XML carries HTML as elements)."""
    parts = [_escape_text(element.text or "")]
    for item in element:
        if isinstance(item.tag, str):
            parts.append(serialize(item))
        parts.append(_escape_text(item.tail or ""))
    return "".join(parts)


def source_tag(element: ET.Element) -> str:
    """The element's name as the author wrote it."""
    return element.get(SOURCE_TAG) or local(element.tag)
