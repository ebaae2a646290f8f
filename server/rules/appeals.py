"""Appeals against exam items: grounds, the filing day and the commission's day (R 5, H).

Dates here are *local* calendar dates: the caller converts instants with the university's
timezone (``Settings.timezone``) before asking.

Decisions:

* **An appeal is filed on the day the result is published, and only then.** R 5.4: "Білім алушы
  емтихан нәтижесін (баға қойылған күні) алған күні Ректордың атына өтініш жазады" — "the student
  writes the application to the Rector *on the day* they receive the exam result (the day the
  grade is entered)". The handbook addresses the application to the dean ("факультет деканының
  атына өтініш жазады"); the regulation (to the Rector, through the information system, R 5.3)
  wins.
* **The commission reviews on the next working day after filing.** R 5.5: "Комиссия өтінішті
  келесі жұмыс күні ішінде қарайды" — "the commission reviews the application within the next
  working day". The day filed never counts, even if it is itself a working day.
* **Saturday is a working day; only Sunday and holidays are skipped by default.** Neither
  document defines a working day; the handbook names the university's day off as Sunday alone:
  "Университетте мереке және демалыс күндері (жексенбі) студенттердің болуы тек әкімшіліктің
  арнайы рұқсаты болған жағдайда" — "on holidays and days off (*Sunday*) students may be at the
  university only with the administration's special permission". The weekly days off are a
  parameter, so a five-day week is one argument away if the rector's order says so.
* **"Several correct options" is a ground only for an item that required one answer** (H: "тест
  тапсырмаларында бірнеше дұрыс жауаптардың болуы, ал нұсқаулықта студенттен бір ғана дұрыс
  жауапты таңдау талап етілген жағдайда" — "several correct answers where the instructions
  required choosing only one"). A multiple-response item is meant to have several.
* **An appeal not upheld leaves the grade unchanged** (R 5.6: "Егер апелляция
  қанағаттандырылмаса, емтихан бағасы өзгеріссіз қалады").
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from server.rules._checks import require_percent
from server.rules.scoring import QuestionKind

WEEKLY_DAYS_OFF: frozenset[int] = frozenset({calendar.SUNDAY})


class AppealGround(StrEnum):
    """The grounds on which a student may appeal an item (H)."""

    WRONGLY_WORDED = "wrongly_worded"
    NO_CORRECT_OPTION = "no_correct_option"
    SEVERAL_CORRECT_OPTIONS = "several_correct_options"
    OUTSIDE_SYLLABUS = "outside_syllabus"


_SINGLE_ANSWER_KINDS = frozenset({QuestionKind.SINGLE_CHOICE, QuestionKind.TRUE_FALSE})


def ground_applies(*, ground: AppealGround, kind: QuestionKind) -> bool:
    """Whether ``ground`` can be claimed against an item of this kind."""
    if ground is AppealGround.SEVERAL_CORRECT_OPTIONS:
        return kind in _SINGLE_ANSWER_KINDS
    return True


def appeal_filing_open(*, published_on: date, today: date) -> bool:
    """Whether an appeal may be filed today: only on the local day the result was published."""
    return today == published_on


def commission_review_date(
    *,
    filed_on: date,
    holidays: frozenset[date] = frozenset(),
    weekly_days_off: frozenset[int] = WEEKLY_DAYS_OFF,
) -> date:
    """The first working day after ``filed_on``; ``weekly_days_off`` uses ``date.weekday()``.

    ValueError if ``weekly_days_off`` holds a number outside 0–6 or all seven days.
    """
    if not weekly_days_off <= frozenset(range(7)) or len(weekly_days_off) == 7:
        raise ValueError(f"weekly_days_off must be some, not all, of 0..6: {weekly_days_off}")
    review = filed_on + timedelta(days=1)
    # Terminates: holidays is finite and at least one weekday is a working day.
    while review.weekday() in weekly_days_off or review in holidays:
        review += timedelta(days=1)
    return review


def exam_percent_after_appeal(
    *, original: Decimal, upheld: bool, revised: Decimal | None
) -> Decimal:
    """E% after the commission: the revised score if upheld, the original otherwise (R 5.6).

    ValueError if an upheld appeal comes without a revised score, or a score is out of range.
    """
    require_percent("original", original)
    if not upheld:
        return original
    if revised is None:
        raise ValueError("an upheld appeal needs the revised exam percent")
    return require_percent("revised", revised)
