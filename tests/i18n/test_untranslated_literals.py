"""No human-language text reaches a user without going through gettext.

(a) Templates: text between tags and the ``title``/``placeholder``/``aria-label``/``alt``
    attributes (and the ``value`` of buttons) must come from ``_()`` or ``{% trans %}``.
    The template is parsed with Jinja2 (so ``{% trans %}`` bodies and expressions are told apart
    from literal template text, ``nodes.TemplateData``); the literal text, with every Jinja
    construct replaced by a neutral marker, is then read with ``html.parser``.
(b) Python: an ``ExamError`` subclass given a string literal as its message, a ``field_errors=``
    dict with a literal value, and ``HTMLResponse("literal text")``.

Both scanners are tested on planted violations below, so they cannot silently pass.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = PROJECT_ROOT / "proctor_ui" / "templates"
SERVER_DIR = PROJECT_ROOT / "server"

# Text that is the same in every language: rating labels, dashes and separators.
ALLOWED_TEXT = frozenset({"R1", "R2", "—", "–", "·"})
TRANSLATED_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt"})
BUTTON_INPUT_TYPES = frozenset({"submit", "button", "reset"})
GETTEXT_NAMES = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext"})
# Stands for any Jinja construct in the reconstructed HTML: not a letter, not whitespace.
MARK = "\ue000"
_ATTRIBUTE_FRAGMENT = re.compile(r'^\s*(?:[\w:.-]+(?:\s*=\s*(?:"[^"]*"|\'[^\']*\'|[^\s>]+))?\s*)+$')


@dataclass(frozen=True, order=True)
class Finding:
    where: str  # "file:line"
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r}"


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _is_human_text(text: str) -> bool:
    words = " ".join(text.replace(MARK, " ").split())
    if not _has_letters(words):
        return False
    return words not in ALLOWED_TEXT and not all(
        word.strip("():,;.") in ALLOWED_TEXT or not _has_letters(word) for word in words.split()
    )


# --- (a) templates --------------------------------------------------------------------------


def _environment() -> Environment:
    # The same extension and whitespace settings as server/web.py; filters are not needed to parse.
    return Environment(
        extensions=["jinja2.ext.i18n"], autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


def _is_gettext_call(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in GETTEXT_NAMES
    )


def _output_literals(expr: nodes.Node) -> Iterator[nodes.Const]:
    """String constants an expression prints as they are (not through gettext)."""
    if _is_gettext_call(expr):
        return
    if isinstance(expr, nodes.Const) and isinstance(expr.value, str):
        yield expr
    elif isinstance(expr, nodes.CondExpr):
        yield from _output_literals(expr.expr1)
        if expr.expr2 is not None:
            yield from _output_literals(expr.expr2)
    elif isinstance(expr, nodes.Concat):
        for part in expr.nodes:
            yield from _output_literals(part)
    elif isinstance(expr, nodes.Filter) and expr.node is not None:
        yield from _output_literals(expr.node)
        if expr.name in ("default", "d"):
            for arg in expr.args:
                yield from _output_literals(arg)
    elif isinstance(expr, (nodes.Or, nodes.And)):
        yield from _output_literals(expr.left)
        yield from _output_literals(expr.right)


class _Fragment:
    """Literal template text with line numbers kept, Jinja constructs replaced by MARK."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.line = 1

    def data(self, node: nodes.TemplateData) -> None:
        if node.lineno > self.line:
            self.parts.append("\n" * (node.lineno - self.line))
            self.line = node.lineno
        self.parts.append(node.data)
        self.line += node.data.count("\n")

    def mark(self) -> None:
        self.parts.append(MARK)

    def text(self) -> str:
        return "".join(self.parts)


def _fragments(template: nodes.Template) -> tuple[list[_Fragment], list[nodes.Const]]:
    """The page itself, and each macro/call-block body (output elsewhere) as its own fragment."""
    fragments = [_Fragment()]
    literals: list[nodes.Const] = []

    def walk(node: nodes.Node, fragment: _Fragment) -> None:
        for child in node.iter_child_nodes():
            if isinstance(child, (nodes.Macro, nodes.CallBlock)):
                own = _Fragment()
                fragments.append(own)
                for statement in child.body:
                    walk_statement(statement, own)
                fragment.mark()
            else:
                walk_statement(child, fragment)

    def walk_statement(node: nodes.Node, fragment: _Fragment) -> None:
        if isinstance(node, nodes.Output):
            for item in node.nodes:
                if isinstance(item, nodes.TemplateData):
                    fragment.data(item)
                else:
                    literals.extend(_output_literals(item))
                    fragment.mark()
        elif isinstance(node, (nodes.Macro, nodes.CallBlock)):
            walk(nodes.Scope([node]), fragment)
        elif isinstance(node, nodes.Stmt):
            fragment.mark()
            walk(node, fragment)
            fragment.mark()

    walk(template, fragments[0])
    return fragments, literals


class _TextFinder(HTMLParser):
    def __init__(self, first_line: int = 0) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.first_line = first_line
        self.raw_text_depth = 0

    def _line(self) -> int:
        return self.getpos()[0] + self.first_line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in attrs:
            if name in TRANSLATED_ATTRIBUTES and value and _is_human_text(value):
                self.found.append((self._line(), f"{name}={value}"))
        is_button = tag == "button" or (
            tag == "input" and values.get("type", "").lower() in BUTTON_INPUT_TYPES
        )
        if is_button and _is_human_text(values.get("value", "")):
            self.found.append((self._line(), f"value={values['value']}"))
        if tag in ("script", "style"):
            self.raw_text_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.raw_text_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.raw_text_depth:
            self.raw_text_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.raw_text_depth and _is_human_text(data):
            leading = data[: len(data) - len(data.lstrip())]
            line = self._line() + leading.count("\n")
            self.found.append((line, " ".join(data.replace(MARK, " ").split())))


def _scan_fragment(text: str) -> list[tuple[int, str]]:
    prefix = re.match(rf"[\s{MARK}]*", text)
    rest = text[prefix.end() if prefix else 0 :]
    if rest and not rest.startswith("<") and _ATTRIBUTE_FRAGMENT.match(rest.replace(MARK, " ")):
        # A macro that prints attributes (aria-invalid="true" ...): read them as a tag's.
        parser = _TextFinder(first_line=prefix.group().count("\n") if prefix else 0)
        parser.feed(f"<x-fragment {rest}>")
    else:
        parser = _TextFinder()
        parser.feed(text)
    parser.close()
    return parser.found


def scan_template(source: str, name: str = "<template>") -> list[Finding]:
    """Untranslated human-language text in a Jinja2/HTML template."""
    tree = _environment().parse(source, name=name)
    fragments, literals = _fragments(tree)
    findings = [
        Finding(f"{name}:{line}", text)
        for fragment in fragments
        for line, text in _scan_fragment(fragment.text())
    ]
    findings += [
        Finding(f"{name}:{const.lineno}", str(const.value))
        for const in literals
        if _is_human_text(str(const.value))
    ]
    return sorted(set(findings))


def _templates() -> list[Path]:
    return sorted(TEMPLATE_DIR.rglob("*.html"))


def test_templates_are_found() -> None:
    assert len(_templates()) >= 5


def test_templates_have_no_untranslated_text() -> None:
    findings = [
        finding
        for path in _templates()
        for finding in scan_template(
            path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT))
        )
    ]
    assert not findings, (
        "text shown to users must go through {{ _(...) }} or {% trans %}:\n"
        + "\n".join(f"  {f}" for f in findings)
    )


BAD_TEMPLATE = """\
{% extends "base.html" %}
{% macro hint() %}title="Closes the form"{% endmacro %}
{% block content %}
<h1>Exam results</h1>
<p>{{ _("Fine") }} but loose words</p>
<button type="submit" title="Send it">{{ _("Send") }}</button>
<input type="submit" value="Save">
<img src="/x.png" alt="University logo">
<input name="q" placeholder="Search students">
<nav aria-label="Main menu"></nav>
<td>{{ line.r1 if line.r1 is not none else "not recorded" }}</td>
<script>var ignored = "script text is not checked";</script>
{% endblock %}
"""

GOOD_TEMPLATE = """\
{% extends "base.html" %}
{% macro invalid(name) %}
{% if errors.get(name) %}aria-invalid="true" aria-describedby="{{ name }}-error"{% endif %}
{% endmacro %}
{% block title %}{{ _("Exams") }}{% endblock %}
{% block content %}
<h1 title="{{ _('Exams') }}">{{ _("Exams") }}</h1>
<p>{% trans count=3 %}There are {{ count }} exams{% endtrans %}</p>
<th scope="col">R1</th><th scope="col">R2</th>
<td>{{ line.r1 if line.r1 is not none else "—" }}</td>
<input type="hidden" name="next" value="/registrar">
<option value="{{ code }}" {% if code == locale %}selected{% endif %}>{{ name }}</option>
<input id="t" name="t" {{ invalid('t') }}>
<p>{{ _("Start") }}: {{ exam.start }} ({{ timezone }}) · {{ reason|translate }}</p>
{% endblock %}
"""


def test_template_scanner_reports_planted_text() -> None:
    found = {(f.where, f.text) for f in scan_template(BAD_TEMPLATE, "bad.html")}
    assert found == {
        ("bad.html:2", "title=Closes the form"),
        ("bad.html:4", "Exam results"),
        ("bad.html:5", "but loose words"),
        ("bad.html:6", "title=Send it"),
        ("bad.html:7", "value=Save"),
        ("bad.html:8", "alt=University logo"),
        ("bad.html:9", "placeholder=Search students"),
        ("bad.html:10", "aria-label=Main menu"),
        ("bad.html:11", "not recorded"),
    }


def test_template_scanner_accepts_translated_text() -> None:
    assert scan_template(GOOD_TEMPLATE, "good.html") == []


# --- (b) Python -----------------------------------------------------------------------------

MARKERS = frozenset({"_", "gettext", "ngettext", "N_", "pgettext", "npgettext"})
RESPONSE_CLASSES = frozenset({"HTMLResponse"})


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal_text(node: ast.expr | None) -> str | None:
    """The human-language text of a literal not passed through gettext, else None."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _has_letters(node.value) else None
    if isinstance(node, ast.JoinedStr):
        text = "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
        return text if _has_letters(text) else None
    if isinstance(node, ast.BinOp):  # "..." % x, "..." + x
        return _literal_text(node.left) or _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) or _literal_text(node.orelse)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"  # "...".format(...)
    ):
        return _literal_text(node.func.value)
    return None


def exam_error_classes(trees: Iterable[ast.Module]) -> set[str]:
    """ExamError and every class that inherits from it, by name, across the given modules."""
    classes = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    known = {"ExamError"}
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name not in known and any(_name_of(base) in known for base in cls.bases):
                known.add(cls.name)
                grew = True
    return known


def scan_python(tree: ast.Module, filename: str, error_classes: set[str]) -> list[Finding]:
    findings: list[Finding] = []

    def report(node: ast.AST, text: str) -> None:
        findings.append(Finding(f"{filename}:{getattr(node, 'lineno', 0)}", text))

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in error_classes:
            # class Refused(InvalidInput): message = "..."  (must be N_("..."))
            for statement in node.body:
                target, value = None, None
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target, value = statement.targets[0], statement.value
                elif isinstance(statement, ast.AnnAssign):
                    target, value = statement.target, statement.value
                if isinstance(target, ast.Name) and target.id == "message":
                    text = _literal_text(value)
                    if text:
                        report(statement, text)
        if not isinstance(node, ast.Call):
            continue
        called = _name_of(node.func)
        if called in error_classes and node.args:
            text = _literal_text(node.args[0])
            if text:
                report(node, text)
        if called in RESPONSE_CLASSES:
            content = node.args[0] if node.args else None
            content = next((k.value for k in node.keywords if k.arg == "content"), content)
            text = _literal_text(content)
            if text:
                report(node, text)
        for keyword in node.keywords:
            if keyword.arg == "field_errors" and isinstance(keyword.value, ast.Dict):
                for value in keyword.value.values:
                    text = _literal_text(value)
                    if text:
                        report(value, text)

    # field_errors=errors, with errors filled in the same function: errors["x"] = "..."
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        names = {
            keyword.value.id
            for call in ast.walk(function)
            if isinstance(call, ast.Call)
            for keyword in call.keywords
            if keyword.arg == "field_errors" and isinstance(keyword.value, ast.Name)
        }
        for assignment in ast.walk(function):
            if isinstance(assignment, ast.Assign):
                targets, value = assignment.targets, assignment.value
            elif isinstance(assignment, ast.AnnAssign) and assignment.value is not None:
                targets, value = [assignment.target], assignment.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Subscript) and _name_of(target.value) in names:
                    text = _literal_text(value)
                    if text:
                        report(assignment, text)
                elif (
                    isinstance(target, ast.Name)
                    and target.id in names
                    and isinstance(value, ast.Dict)
                ):
                    for item in value.values:
                        text = _literal_text(item)
                        if text:
                            report(item, text)
    return findings


def _server_modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PROJECT_ROOT)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(SERVER_DIR.rglob("*.py"))
    }


def test_python_error_classes_are_found() -> None:
    classes = exam_error_classes(_server_modules().values())
    assert {"ExamError", "InvalidInput", "NotFound", "CsrfFailed"} <= classes


def test_server_passes_no_literal_messages() -> None:
    modules = _server_modules()
    classes = exam_error_classes(modules.values())
    findings = [
        finding
        for filename, tree in modules.items()
        for finding in scan_python(tree, filename, classes)
    ]
    assert not findings, (
        "user-facing messages must be marked with N_() or translated with gettext():\n"
        + "\n".join(f"  {f}" for f in sorted(findings))
    )


BAD_PYTHON = """\
from fastapi.responses import HTMLResponse
from server.errors import InvalidInput, NotFound
from server.i18n import N_, gettext


class RoomClosed(NotFound):
    message = "The room is closed."


class SeatTaken(RoomClosed):
    pass


def f(seat, name):
    raise SeatTaken("Seat %(seat)s is taken.", seat=seat)


def g(name):
    raise InvalidInput(field_errors={"title": "Enter a title.", "start": gettext("Fine.")})


def h(name):
    return HTMLResponse(f"<p>Hello {name}</p>")


def i():
    raise NotFound("Exam %s is gone." % 3)


def j(plan):
    errors: dict[str, str] = {"rooms": "Choose a room."}
    if not plan.title:
        errors["title"] = "Enter a title."
    raise InvalidInput(N_("Fix the form."), field_errors=errors)
"""

GOOD_PYTHON = """\
from fastapi.responses import HTMLResponse
from server.errors import InvalidInput, NotFound
from server.i18n import N_, gettext


class RoomClosed(NotFound):
    message = N_("The room is closed.")


def f(seat, html):
    if seat is None:
        raise ValueError("internal: seat must be given")  # not an ExamError: for developers
    raise RoomClosed(N_("Seat %(seat)s is taken."), seat=seat)


def g(errors):
    raise InvalidInput(field_errors={"title": gettext("Enter a title.")})


def h(html):
    return HTMLResponse(html)


def i(plan):
    errors: dict[str, str] = {}
    if not plan.title:
        errors["title"] = gettext("Enter a title.")
    errors["key"] = plan.key  # not a literal
    raise InvalidInput(N_("Fix the form."), field_errors=errors)
"""


def test_python_scanner_reports_planted_literals() -> None:
    tree = ast.parse(BAD_PYTHON)
    classes = exam_error_classes([*_server_modules().values(), tree])
    assert {"RoomClosed", "SeatTaken"} <= classes
    found = {(f.where, f.text) for f in scan_python(tree, "bad.py", classes)}
    assert found == {
        ("bad.py:7", "The room is closed."),
        ("bad.py:15", "Seat %(seat)s is taken."),
        ("bad.py:19", "Enter a title."),
        ("bad.py:23", "<p>Hello </p>"),
        ("bad.py:27", "Exam %s is gone."),
        ("bad.py:31", "Choose a room."),
        ("bad.py:33", "Enter a title."),
    }


def test_python_scanner_accepts_marked_messages() -> None:
    tree = ast.parse(GOOD_PYTHON)
    classes = exam_error_classes([*_server_modules().values(), tree])
    assert scan_python(tree, "good.py", classes) == []


@pytest.mark.parametrize(
    ("text", "human"),
    [
        ("Hello", True),
        ("R1", False),
        ("—", False),
        ("(R2)", False),
        (f"{MARK}: {MARK}", False),
        ("12:30", False),
        ("Балл", True),
    ],
)
def test_human_text_rule(text: str, human: bool) -> None:
    assert _is_human_text(text) is human
