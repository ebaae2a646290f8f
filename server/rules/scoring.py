"""The exam score E%: credit per question and the percentage of the paper (R 4.5, R 4.12).

Choice items follow Moodle's fraction semantics: every option carries a fraction of the
question's credit, in [-1, 1] (a negative fraction is a penalty for a wrong option).

* Single choice and true/false: the fraction of the chosen option; nothing chosen gives 0.
* Multiple response: the sum of the fractions of the chosen options, clamped to [0, 1].

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

To add an item kind: add a ``QuestionKind`` member and its credit rule to ``_CREDIT_RULES``; a
test fails until every kind has a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Context, Decimal, localcontext
from enum import StrEnum

from server.rules._checks import HUNDRED, ZERO

ONE = Decimal(1)
QUESTIONS_PER_DISCIPLINE = 25

# The precision of Python's default context, pinned so a caller's context cannot change a score.
_SCORE_CONTEXT = Context(prec=28)


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    TRUE_FALSE = "true_false"


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


def question_credit(
    *, kind: QuestionKind, chosen: frozenset[int], fractions: Mapping[int, Decimal]
) -> Decimal:
    """The credit in [0, 1] earned by the chosen options of one question.

    ValueError for a programmer error: a chosen option the question does not have, a fraction
    outside [-1, 1], or several options for a single-choice question.
    """
    for option, fraction in fractions.items():
        if not fraction.is_finite() or not -ONE <= fraction <= ONE:
            raise ValueError(f"option {option} has fraction {fraction}, outside [-1, 1]")
    unknown = chosen - fractions.keys()
    if unknown:
        raise ValueError(f"chosen options {sorted(unknown)} are not options of this question")
    return _CREDIT_RULES[kind](chosen, fractions)


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
