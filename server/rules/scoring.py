"""The exam score E%: credit per question and the percentage of the paper (R 4.5, R 4.12).

Choice items follow Moodle's fraction semantics: every option carries a fraction of the
question's credit, in [-1, 1] (a negative fraction is a penalty for a wrong option).

* Single choice and true/false: the fraction of the chosen option; nothing chosen gives 0.
* Multiple response: the sum of the fractions of the chosen options, clamped to [0, 1].

The other kinds follow Moodle's question types as well (``question/type/*/question.php``):

* **Short answer** (qtype_shortanswer): the best fraction among the accepted answers the typed
  text matches. ``*`` stands for any characters (after a backslash it is a literal asterisk),
  as in Moodle's ``compare_string_with_wildcard``; the match is case-insensitive (Unicode case
  folding, so Kazakh Ә/ә, Қ/қ, Ұ/ұ, І/і… fold too) unless the item says case-sensitive. Both
  texts are NFC-normalised, trimmed, and runs of inner whitespace are collapsed to one space
  (Moodle only trims the response; a student's double space is not a wrong answer). An empty
  answer earns nothing, even against ``*``.
* **Numerical** (qtype_numerical, tolerance type "nominal", the default): the best fraction
  among the accepted values with ``|value − given| ≤ tolerance``; ``*`` accepts any number.
  The arithmetic is decimal and exact, so a value exactly at ±tolerance counts (Moodle adds a
  tiny epsilon for the same end). The decimal separator may be a point or a comma ("3,5"), since
  students type on Kazakh and Russian layouts; a sign (also U+2212 "−") and an exponent are
  allowed; thousands separators and units are not (units are not stored by the import). A text
  that is not a number earns nothing.
* **Matching** (qtype_match): the share of stems matched with their right answer, right / stems,
  as Moodle's ``grade_response`` computes it (``$fraction = $right / $total``). It is partial
  credit, not all-or-nothing: Moodle has no all-or-nothing setting for matching. Answers are
  compared by their text, as Moodle merges equal answer texts into one choice.
* **Ordering** (qtype_ordering): the share of entries in their correct absolute position, Moodle's
  ``GRADING_ABSOLUTE_POSITION``, the grading type its edit form defaults to. The import does not
  keep the plugin's other grading types, so every ordering item is graded this way. Entries are
  compared by their text, so two entries with the same text are interchangeable. An order the
  student never saved earns nothing (Moodle grades the untouched random order it started with;
  here that would give credit for an answer nobody gave).
* Where Moodle takes the *first* matching answer in the author's order (short answer,
  numerical), the best matching fraction is taken here: never less than Moodle's, and it does
  not depend on the order the author happened to list the answers in.

Decisions:

* **A question's credit is never below 0, for every kind.** Moodle lets a single-choice option
  with a negative fraction give a negative mark; the university's documents know no negative
  marking (H table 1 reads a percentage in 0–100), and a negative credit would let a wrong answer
  on one item erase a right answer on another. So single choice is clamped to [0, 1] as well.
* **Unanswered questions count 0 and stay in the denominator:** E% is the share of the whole
  paper, ``sum(credits) / question_count × 100``.
* **E% is not rounded here.** The only rounding is the one explicit, configurable rule that reads
  the letter from B% (``grading.Rounding``); rounding E% first would round twice. It is computed
  with 28 significant digits whatever the caller's decimal context.
* A paper holds 25 questions per discipline (R 4.5: "Емтиханға енгізілген әр пән бойынша тест
  тапсырмаларының саны 25 сұрақты құрайды" — "the number of test items for each discipline
  included in the exam is 25").

To add an item kind: add a ``QuestionKind`` member and its credit rule (choice kinds: an entry
in ``_CREDIT_RULES``; others: a function here); a test fails until every kind has a rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from enum import StrEnum

from server.rules._checks import HUNDRED, ZERO

ONE = Decimal(1)
QUESTIONS_PER_DISCIPLINE = 25

# The precision of Python's default context, pinned so a caller's context cannot change a score.
_SCORE_CONTEXT = Context(prec=28)
# Enough digits for value ± tolerance to be exact for any value a question bank holds; the
# student's number is only compared, never used in arithmetic, so it needs no precision at all.
_TOLERANCE_CONTEXT = Context(prec=200)
ANY = "*"
# ASCII digits only; a point or a comma before the decimals; "−" (U+2212) is a minus too.
_MINUS = "\u2212"
_NUMBER = re.compile(r"[+\-\u2212]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+\-\u2212]?[0-9]+)?")
_STARS = re.compile(r"(?<!\\)\*+")


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"
    NUMERICAL = "numerical"
    MATCHING = "matching"
    ORDERING = "ordering"


CHOICE_KINDS = frozenset(
    {QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_RESPONSE, QuestionKind.TRUE_FALSE}
)


@dataclass(frozen=True)
class AcceptedText:
    """A short answer the item accepts and its fraction; ``*`` in it stands for any characters."""

    pattern: str
    fraction: Decimal


@dataclass(frozen=True)
class AcceptedNumber:
    """A numerical answer the item accepts: ``value`` ± ``tolerance``; ``*`` is any number."""

    value: str
    tolerance: Decimal
    fraction: Decimal


CreditRule = Callable[[frozenset[int], Mapping[int, Decimal]], Decimal]


def _clamp(value: Decimal) -> Decimal:
    return min(max(value, ZERO), ONE)


def _single_choice_credit(chosen: frozenset[int], fractions: Mapping[int, Decimal]) -> Decimal:
    if len(chosen) > 1:
        raise ValueError(f"a single-choice answer has at most one option, got {sorted(chosen)}")
    if not chosen:
        return ZERO
    (option,) = chosen
    return _clamp(fractions[option])


def _multiple_response_credit(chosen: frozenset[int], fractions: Mapping[int, Decimal]) -> Decimal:
    return _clamp(sum((fractions[option] for option in chosen), ZERO))


_CREDIT_RULES: Mapping[QuestionKind, CreditRule] = {
    QuestionKind.SINGLE_CHOICE: _single_choice_credit,
    QuestionKind.TRUE_FALSE: _single_choice_credit,
    QuestionKind.MULTIPLE_RESPONSE: _multiple_response_credit,
}


def _check_fraction(what: object, fraction: Decimal) -> None:
    if not fraction.is_finite() or not -ONE <= fraction <= ONE:
        raise ValueError(f"{what} has fraction {fraction}, outside [-1, 1]")


def question_credit(
    *, kind: QuestionKind, chosen: frozenset[int], fractions: Mapping[int, Decimal]
) -> Decimal:
    """The credit in [0, 1] earned by the chosen options of one choice question.

    ValueError for a programmer error: a kind that is not a choice kind, a chosen option the
    question does not have, a fraction outside [-1, 1], or several options for a single-choice
    question.
    """
    if kind not in _CREDIT_RULES:
        raise ValueError(f"{kind} is not a choice kind; it has a credit function of its own")
    for option, fraction in fractions.items():
        _check_fraction(f"option {option}", fraction)
    unknown = chosen - fractions.keys()
    if unknown:
        raise ValueError(f"chosen options {sorted(unknown)} are not options of this question")
    return _CREDIT_RULES[kind](chosen, fractions)


def normal_text(text: str) -> str:
    """A typed answer as it is compared: NFC, trimmed, inner whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _wildcard_match(text: str, pattern: str) -> bool:
    """Moodle's ``*`` wildcard, matched without a regular expression (no backtracking)."""
    first, *rest = (bit.replace("\\*", "*") for bit in _STARS.split(pattern))
    if not rest:
        return text == first
    *middle, last = rest
    if not text.startswith(first):
        return False
    position = len(first)
    for bit in middle:
        found = text.find(bit, position)
        if found < 0:
            return False
        position = found + len(bit)
    return len(text) - position >= len(last) and text.endswith(last)


def short_answer_credit(
    *, given: str, accepted: Sequence[AcceptedText], case_sensitive: bool
) -> Decimal:
    """The credit in [0, 1] of a typed short answer: the best fraction among those it matches.

    ValueError if an accepted answer's fraction is outside [-1, 1].
    """
    for answer in accepted:
        _check_fraction(f"accepted answer {answer.pattern!r}", answer.fraction)
    text = normal_text(given)
    if not text:
        return ZERO

    def fold(value: str) -> str:
        return value if case_sensitive else value.casefold()

    fractions = [
        answer.fraction
        for answer in accepted
        if _wildcard_match(fold(text), fold(normal_text(answer.pattern)))
    ]
    return _clamp(max(fractions)) if fractions else ZERO


def read_number(text: str) -> Decimal | None:
    """The number a student typed ("3,5", "-0.25", "1e-3", " 42 "), or None if it is not one."""
    text = text.strip()
    if _NUMBER.fullmatch(text) is None:
        return None
    try:
        value = Decimal(text.replace(",", ".").replace(_MINUS, "-"))
    except InvalidOperation:  # the pattern admits only valid literals; kept as a safety net
        return None
    return value if value.is_finite() else None


def numerical_credit(*, given: str, accepted: Sequence[AcceptedNumber]) -> Decimal:
    """The credit in [0, 1] of a typed number: the best fraction among the values it is within.

    An accepted value that is not a number (the import refuses those) accepts nothing.
    ValueError if a fraction is outside [-1, 1] or a tolerance is negative.
    """
    for answer in accepted:
        _check_fraction(f"accepted value {answer.value!r}", answer.fraction)
        if not answer.tolerance.is_finite() or answer.tolerance < ZERO:
            raise ValueError(f"accepted value {answer.value!r} has tolerance {answer.tolerance}")
    number = read_number(given)
    if number is None:
        return ZERO
    fractions = []
    for answer in accepted:
        if answer.value.strip() == ANY:
            fractions.append(answer.fraction)
            continue
        value = read_number(answer.value)
        if value is None:
            continue
        with localcontext(_TOLERANCE_CONTEXT):
            low, high = value - answer.tolerance, value + answer.tolerance
        if low <= number <= high:
            fractions.append(answer.fraction)
    return _clamp(max(fractions)) if fractions else ZERO


def matching_credit(*, given: Mapping[int, str], right: Sequence[str]) -> Decimal:
    """The share of stems matched right: ``given`` maps a stem's number (from 1) to the answer
    text chosen for it, ``right`` holds each stem's right answer text in stem order.

    ValueError if the question has no stem or ``given`` names a stem it does not have.
    """
    if not right:
        raise ValueError("a matching question has at least one stem")
    unknown = set(given) - set(range(1, len(right) + 1))
    if unknown:
        raise ValueError(f"stems {sorted(unknown)} are not stems of this question")
    matched = sum(1 for stem, text in given.items() if right[stem - 1] == text)
    with localcontext(_SCORE_CONTEXT):
        return Decimal(matched) / len(right)


def ordering_credit(*, given: Sequence[str], right: Sequence[str]) -> Decimal:
    """The share of entries in their right absolute position; nothing saved gives 0.

    ValueError if the question has no entry, or ``given`` is not an order of exactly its entries.
    """
    if not right:
        raise ValueError("an ordering question has at least one entry")
    if not given:
        return ZERO
    if Counter(given) != Counter(right):
        raise ValueError("an ordering answer places every entry of the question exactly once")
    placed = sum(1 for mine, correct in zip(given, right, strict=True) if mine == correct)
    with localcontext(_SCORE_CONTEXT):
        return Decimal(placed) / len(right)


def exam_percent(credits: Sequence[Decimal], question_count: int) -> Decimal:
    """E%: the credits earned as a percentage of the whole paper; unanswered questions count 0.

    ValueError if ``question_count`` is not positive, if there are more credits than questions,
    or if a credit is outside [0, 1].
    """
    if question_count <= 0:
        raise ValueError(f"question_count must be positive, got {question_count}")
    if len(credits) > question_count:
        raise ValueError(f"{len(credits)} credits for a paper of {question_count} questions")
    for credit in credits:
        if not credit.is_finite() or not ZERO <= credit <= ONE:
            raise ValueError(f"a question's credit must be in [0, 1], got {credit}")
    with localcontext(_SCORE_CONTEXT):
        return sum(credits, ZERO) * HUNDRED / question_count


def paper_question_count(disciplines: int) -> int:
    """How many questions a paper holds: 25 for each discipline in the exam (R 4.5)."""
    if disciplines <= 0:
        raise ValueError(f"an exam covers at least one discipline, got {disciplines}")
    return QUESTIONS_PER_DISCIPLINE * disciplines
