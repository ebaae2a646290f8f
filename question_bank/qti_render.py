"""QTI item bodies as the HTML an examinee sees: interactions replaced, feedback left out."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from question_bank.htmltext import VOID
from question_bank.xmlsafe import attributes, namespace, serialize

INTERACTIONS = frozenset((
    "choiceInteraction", "orderInteraction", "associateInteraction", "matchInteraction",
    "gapMatchInteraction", "inlineChoiceInteraction", "textEntryInteraction",
    "extendedTextInteraction", "hottextInteraction", "hotspotInteraction",
    "selectPointInteraction", "graphicOrderInteraction", "graphicAssociateInteraction",
    "graphicGapMatchInteraction", "positionObjectInteraction", "sliderInteraction",
    "drawingInteraction", "uploadInteraction", "customInteraction", "portableCustomInteraction",
    "mediaInteraction", "endAttemptInteraction"
))  # fmt: skip
_DROP = frozenset({"feedbackBlock", "feedbackInline", "modalFeedback", "stylesheet"})
_UNWRAP = frozenset({"templateBlock", "templateInline", "contentBody", "itemBody"})


# -- rendering ---------------------------------------------------------------------------------


def _render(element: ET.Element, replacements: dict[ET.Element, str]) -> str:
    if element in replacements:
        return replacements[element] + _escape(element.tail)
    name = element.tag if isinstance(element.tag, str) else ""
    tail = _escape(element.tail)
    if not name:
        return tail
    if name in _DROP and not any(e.tag in INTERACTIONS for e in element.iter()):
        return tail
    if name == "rubricBlock" and "candidate" not in (element.get("view") or "candidate"):
        return tail
    if name == "printedVariable":
        return f"[{element.get('identifier', '')}]" + tail
    if name in INTERACTIONS:
        return tail
    inner = _escape(element.text) + "".join(_render(c, replacements) for c in element)
    if name in _UNWRAP or name in _DROP or name in {"rubricBlock", "prompt"}:
        return inner + tail
    if namespace(name):
        # MathML and other foreign markup are kept as they are.
        return serialize(element) + tail
    if not inner and name in VOID:
        return f"<{name}{attributes(element)}/>" + tail
    return f"<{name}{attributes(element)}>{inner}</{name}>" + tail


def _escape(text: str | None) -> str:
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inner(element: ET.Element) -> str:
    return render_children(element).strip()


def render_children(element: ET.Element) -> str:
    return _escape(element.text) + "".join(_render(c, {}) for c in element)


def prompt_html(interaction: ET.Element) -> str:
    prompt = next((c for c in interaction if c.tag == "prompt"), None)
    if prompt is None:
        return ""
    content = inner(prompt)
    return f"<div>{content}</div>" if content else ""


def _content_root(body: ET.Element) -> ET.Element:
    """Skip a lone attribute-less <div> wrapping the whole body: it changes nothing on screen."""
    while True:
        elements = [c for c in body if isinstance(c.tag, str)]
        if (
            len(elements) != 1
            or elements[0].tag != "div"
            or _attributes_of(elements[0])
            or (body.text or "").strip()
            or (elements[0].tail or "").strip()
        ):
            return body
        body = elements[0]


def _attributes_of(element: ET.Element) -> dict[str, str]:
    return {k: v for k, v in element.attrib.items() if not k.startswith("{urn:emtihan}")}


_LONE_DIV = re.compile(r"^<div>((?:(?!</?div\b).)*)</div>$", re.S)


def render_body(body: ET.Element, replacements: dict[ET.Element, str]) -> str:
    root = _content_root(body)
    text = (_escape(root.text) + "".join(_render(c, replacements) for c in root)).strip()
    return unwrap(text)


def unwrap(text: str) -> str:
    lone = _LONE_DIV.match(text)
    return lone.group(1).strip() if lone else text
