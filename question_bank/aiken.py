"""Aiken: a stem, lettered options `A)` or `A.`, then `ANSWER: B`.

Texts are plain text (Moodle escapes them): `<html>` in an Aiken stem is shown as written, so the
items carry `text_format` "plain". Only single-answer items exist in Aiken.
"""

from __future__ import annotations

import re

from question_bank.htmltext import shorten
from question_bank.i18n import _
from question_bank.model import Option, Parsed, Question, QuestionType, TextFormat, undeliverable

_OPTION = re.compile(r"^([A-Z])[.)]\s+(.*)$")
_ANSWER = re.compile(r"^ANSWER\s*:\s*(.*)$", re.IGNORECASE)


def parse(text: str) -> Parsed:
    parsed = Parsed()
    stem: list[str] = []
    options: list[tuple[str, str]] = []
    start: int | None = None

    def reset() -> None:
        nonlocal stem, options, start
        stem, options, start = [], [], None

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        option = _OPTION.match(line)
        answer = _ANSWER.match(line)
        if answer:
            _finish(parsed, stem, options, answer.group(1).strip(), start or number)
            reset()
        elif option and stem:
            options.append((option.group(1), option.group(2).strip()))
        elif options:
            # A line after the options that is neither an option nor ANSWER: a lost answer line.
            parsed.error(
                number,
                None,
                _("expected the next option or 'ANSWER: <letter>', found '{line}'").format(
                    line=shorten(line, 40)
                ),
            )
            _finish(parsed, stem, options, None, start or number)
            reset()
            start = number
            stem = [line]
        else:
            if start is None:
                start = number
            stem.append(line)
    if stem or options:
        parsed.error(
            start, shorten(" ".join(stem)) or None, _("the question has no 'ANSWER: <letter>' line")
        )
        _finish(parsed, stem, options, None, start)
    return parsed


def _finish(
    parsed: Parsed,
    stem: list[str],
    options: list[tuple[str, str]],
    answer: str | None,
    line: int | None,
) -> None:
    text = "\n".join(stem)
    name = shorten(" ".join(stem)) or _("Question")
    letters = [letter for letter, _text in options]
    problem = None
    if not stem:
        problem = _("'ANSWER:' without a question before it")
    elif len(options) < 2:
        problem = _("a choice question needs at least 2 answers")
    elif answer is not None and answer not in letters:
        problem = _("ANSWER '{answer}' is not one of the options {letters}").format(
            answer=answer, letters=", ".join(letters)
        )
    if problem:
        parsed.error(line, name, problem)
    question = Question(
        name=name,
        type=QuestionType.SINGLE_CHOICE,
        source_type="aiken",
        text=text,
        text_format=TextFormat.PLAIN,
        options=tuple(Option(t, 1.0 if letter == answer else 0.0) for letter, t in options),
        single=True,
        line=line,
    )
    if problem or answer is None:
        question = undeliverable(question, problem or _("no answer given"))
    parsed.questions.append(question)
