"""Checks every format shares, run after a reader has built the questions.

Errors block the import: the question cannot be scored as written (too few options, a fraction
outside [-1, 1], a numerical answer that is not a number, a cloze gap Moodle would refuse).
Warnings are what an appeal could later be built on: no correct option, several correct options
where one is required, no way to earn full marks, duplicate options, duplicate questions, empty
option texts, and questions without a category (topic). A question with an error, or with no
correct option, is not deliverable.
"""

from __future__ import annotations

from dataclasses import replace

from question_bank.htmltext import canonical_html, is_blank, visible_text
from question_bank.i18n import _
from question_bank.model import (
    CHOICE_TYPES,
    Category,
    ClozeGap,
    FileReport,
    Format,
    GapKind,
    Issue,
    Option,
    Parsed,
    Question,
    QuestionType,
    undeliverable,
)
from question_bank.numbers import parse_number

FULL = 0.9999999  # Moodle stores 7 decimals: 0.9999999 is full marks


def _percent(value: float) -> str:
    return f"{value * 100:.4g}%"


class _Findings:
    def __init__(self, question: Question) -> None:
        self.question = question
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.no_correct = False

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _option_key(option: Option, *, case_sensitive: bool = False) -> tuple[str, float]:
    text = canonical_html(option.text)
    # Numerical answers are the same only with the same tolerance (1822 exact vs 1822 ± 2).
    return (text if case_sensitive else text.casefold()), option.tolerance


def _check_options(findings: _Findings, options: tuple[Option, ...], label: str = "") -> None:
    seen: dict[tuple[str, float], int] = {}
    for number, option in enumerate(options, start=1):
        if not -1.0 <= option.fraction <= 1.0:
            findings.error(
                _("{label}option {n} has fraction {f}; it must be between -1 and 1").format(
                    label=label, n=number, f=option.fraction
                )
            )
        if is_blank(option.text):
            findings.warn(_("{label}option {n} is empty").format(label=label, n=number))
            continue
        key = _option_key(option, case_sensitive=findings.question.case_sensitive)
        if key in seen:
            findings.warn(
                _("{label}options {a} and {b} are the same: '{text}'").format(
                    label=label, a=seen[key], b=number, text=visible_text(option.text)[:60]
                )
            )
        else:
            seen[key] = number


def _check_choice(findings: _Findings) -> None:
    question = findings.question
    options = question.options
    if len(options) < 2:
        findings.error(_("a choice question needs at least 2 answers"))
        return
    _check_options(findings, options)
    best = max(o.fraction for o in options)
    if best <= 0:
        findings.no_correct = True
        findings.warn(_("no correct option: no answer earns any mark"))
        return
    if question.type is QuestionType.SINGLE_CHOICE:
        correct = sum(1 for o in options if o.fraction >= FULL)
        if correct > 1:
            findings.warn(_("single-answer question has {n} correct options").format(n=correct))
        elif best < FULL:
            findings.warn(
                _("no option earns full marks (the best earns {p})").format(p=_percent(best))
            )
    else:
        total = round(sum(o.fraction for o in options if o.fraction > 0), 4)
        if total < 1:
            findings.warn(
                _("the correct options add up to {p}, so full marks are impossible").format(
                    p=_percent(total)
                )
            )
        elif total > 1:
            findings.warn(
                _("the correct options add up to {p}; full marks need only some of them").format(
                    p=_percent(total)
                )
            )


def _check_true_false(findings: _Findings) -> None:
    fractions = sorted(o.fraction for o in findings.question.options)
    if len(fractions) != 2 or fractions[-1] < FULL:
        findings.error(_("a true/false question needs exactly one right answer"))


def _check_answers(
    findings: _Findings, options: tuple[Option, ...], *, numerical: bool, label: str = ""
) -> None:
    if not options:
        findings.error(_("{label}at least one accepted answer is needed").format(label=label))
        return
    if numerical:
        for option in options:
            if option.text != "*" and parse_number(option.text) is None:
                findings.error(
                    _(
                        "{label}the answer must be a number, for example -1.234 or 3e8, "
                        "or '*'; found '{value}'"
                    ).format(label=label, value=option.text)
                )
    _check_options(findings, options, label)
    if max(o.fraction for o in options) <= 0:
        findings.no_correct = True
        findings.warn(_("{label}no correct answer: no answer earns any mark").format(label=label))


def _check_matching(findings: _Findings) -> None:
    pairs = findings.question.pairs
    real = [p for p in pairs if not is_blank(p.prompt)]
    if not real:
        findings.error(_("a matching question needs at least one item with its match"))
        return
    prompts: set[str] = set()
    for number, pair in enumerate(pairs, start=1):
        if not pair.answer.strip():
            findings.warn(_("pair {n} has an empty answer").format(n=number))
        key = canonical_html(pair.prompt).casefold()
        if pair.prompt and key in prompts:
            findings.warn(
                _("item {n} repeats an earlier item: '{text}'").format(
                    n=number, text=visible_text(pair.prompt)[:60]
                )
            )
        prompts.add(key)


def _check_ordering(findings: _Findings) -> None:
    items = findings.question.ordering_items
    if len(items) < 2:
        findings.error(_("an ordering question needs at least 2 items"))
        return
    seen: set[str] = set()
    for number, item in enumerate(items, start=1):
        if is_blank(item):
            findings.warn(_("item {n} is empty").format(n=number))
        key = canonical_html(item).casefold()
        if key in seen:
            findings.warn(
                _("item {n} repeats an earlier item, so the right order is ambiguous").format(
                    n=number
                )
            )
        seen.add(key)


def _check_gap(findings: _Findings, gap: ClozeGap, number: int) -> None:
    label = _("gap {n}: ").format(n=number)
    answered = [o for o in gap.options if o.text.strip()]
    if gap.kind in {GapKind.MULTICHOICE, GapKind.MULTIRESPONSE}:
        if len(answered) < 2:
            findings.error(label + _("this type of question requires at least 2 choices"))
            return
        _check_options(findings, gap.options, label)
        full = (
            any(o.fraction > 0 for o in answered)
            if gap.kind is GapKind.MULTIRESPONSE
            else any(o.fraction >= FULL for o in answered)
        )
    else:
        _check_answers(findings, gap.options, numerical=gap.kind is GapKind.NUMERICAL, label=label)
        if not answered:
            return
        full = any(o.fraction >= FULL for o in answered)
    if not full:
        findings.error(
            label
            + _(
                "one of the answers should have a score of 100% so it is possible to get full marks"
            )
        )


def _check_cloze(findings: _Findings) -> None:
    for number, gap in enumerate(findings.question.gaps, start=1):
        _check_gap(findings, gap, number)


def check_question(question: Question) -> _Findings:
    findings = _Findings(question)
    if not question.deliverable:
        # Not going to be put in front of anyone: its answers are never scored.
        return findings
    if is_blank(question.text):
        findings.warn(_("the question has no text; the examinee sees only the answers"))
    if question.type in CHOICE_TYPES:
        _check_choice(findings)
    elif question.type is QuestionType.TRUE_FALSE:
        _check_true_false(findings)
    elif question.type in {QuestionType.SHORT_ANSWER, QuestionType.NUMERICAL}:
        _check_answers(
            findings, question.options, numerical=question.type is QuestionType.NUMERICAL
        )
    elif question.type is QuestionType.MATCHING:
        _check_matching(findings)
    elif question.type is QuestionType.ORDERING:
        _check_ordering(findings)
    elif question.type is QuestionType.CLOZE:
        _check_cloze(findings)
    return findings


def _identity(question: Question) -> tuple[object, ...]:
    """What makes two questions the same to an examinee: text and answers, not name or id."""
    return (
        question.type,
        canonical_html(question.text).casefold(),
        tuple(
            (canonical_html(o.text).casefold(), o.fraction, o.tolerance) for o in question.options
        ),
        question.pairs,
        question.ordering_items,
        question.gaps,
    )


def review(parsed: Parsed, *, path: str, file_format: Format | None) -> FileReport:
    """Run the shared checks and build the file's report."""
    errors = list(parsed.errors)
    warnings = list(parsed.warnings)
    failed = {(issue.line, issue.item) for issue in errors}
    questions: list[Question] = []
    seen: dict[tuple[object, ...], Question] = {}
    for question in parsed.questions:
        findings = check_question(question)
        errors += [Issue(question.line, question.name, m) for m in findings.errors]
        warnings += [Issue(question.line, question.name, m) for m in findings.warnings]
        if findings.errors:
            question = undeliverable(question, findings.errors[0])
        elif (question.line, question.name) in failed:
            message = next(
                i.message
                for i in parsed.errors
                if (i.line, i.item) == (question.line, question.name)
            )
            question = undeliverable(question, message)
        elif findings.no_correct:
            question = undeliverable(question, _("no correct answer is given"))
        if question.type is not QuestionType.DESCRIPTION:
            key = _identity(question)
            if key in seen:
                first = seen[key]
                where = _(" (line {line})").format(line=first.line) if first.line else ""
                warnings.append(
                    Issue(
                        question.line,
                        question.name,
                        _("duplicate question: same text and answers as '{name}'{where}").format(
                            name=first.name, where=where
                        ),
                    )
                )
            else:
                seen[key] = question
        questions.append(question)
    uncategorised = [q for q in questions if not q.category]
    if uncategorised:
        first = uncategorised[0]
        warnings.append(
            Issue(
                first.line,
                first.name,
                _(
                    "{n} of {total} questions have no category (topic); they will land in the "
                    "default category"
                ).format(n=len(uncategorised), total=len(questions)),
            )
        )
    if not questions and not parsed.categories and not errors:
        warnings.append(Issue(None, None, _("the file holds no questions")))
    categories = list(parsed.categories)
    for question in questions:
        if question.category and all(c.path != question.category for c in categories):
            categories.append(Category(question.category))
    return FileReport(
        path=path,
        format=file_format,
        questions=tuple(questions),
        categories=tuple(categories),
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def with_issue(report: FileReport, issue: Issue, *, error: bool = True) -> FileReport:
    if error:
        return replace(report, errors=(*report.errors, issue))
    return replace(report, warnings=(*report.warnings, issue))
