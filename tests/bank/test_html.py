"""Cleaning item HTML: formatting stays, anything that runs or reaches out goes."""

from __future__ import annotations

import pytest

from question_bank.model import TextFormat
from server.bank.html import clean, to_html


@pytest.mark.parametrize(
    ("dirty", "expected"),
    [
        ("<p>H<sub>2</sub>O and x<sup>2</sup></p>", "<p>H<sub>2</sub>O and x<sup>2</sup></p>"),
        ("<script>alert(1)</script><b>bold</b>", "<b>bold</b>"),
        ('<p onclick="steal()">text</p>', "<p>text</p>"),
        ('<p style="position:fixed">text</p>', "<p>text</p>"),
        ('<img src="/media/12" alt="graph">', '<img src="/media/12" alt="graph">'),
        ('<img src="https://tracker.example/x.png">', "<img>"),
        ('<img src="/media/12/../../login">', "<img>"),
        ('<img src="javascript:alert(1)">', "<img>"),
        ('<a href="https://example.com">link</a>', "link"),
        ("<iframe src='/x'></iframe>after", "after"),
        (
            "<table><tr><td colspan='2'>a</td></tr></table>",
            '<table><tbody><tr><td colspan="2">a</td></tr></tbody></table>',
        ),
        ("<pre><code>x &lt; y</code></pre>", "<pre><code>x &lt; y</code></pre>"),
        (
            "<ul><li>one</li></ul><ol start='3'><li>three</li></ol>",
            '<ul><li>one</li></ul><ol start="3"><li>three</li></ol>',
        ),
        ("<!-- note -->kept", "kept"),
    ],
)
def test_clean(dirty: str, expected: str) -> None:
    assert clean(dirty) == expected


def test_clean_is_idempotent() -> None:
    once = clean('<p>a<br>b <img src="/media/3"> <em>c</em></p>')
    assert clean(once) == once


@pytest.mark.parametrize(
    ("text", "text_format", "expected"),
    [
        ("a < b\nc", TextFormat.PLAIN, "a &lt; b<br>c"),
        ("*bold*\nnext", TextFormat.MARKDOWN, "*bold*<br>next"),
        ("line one\nline two", TextFormat.MOODLE, "line one<br>line two"),
        ("<p>one</p>\n<p>two</p>", TextFormat.MOODLE, "<p>one</p>\n<p>two</p>"),
        ("<b>x</b>", TextFormat.HTML, "<b>x</b>"),
    ],
)
def test_to_html(text: str, text_format: TextFormat, expected: str) -> None:
    assert to_html(text, text_format) == expected
