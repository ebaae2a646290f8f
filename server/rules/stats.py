"""Session statistics for the registrar's report (R 6.6, R 6.7).

R 6.7 asks for "бағалардың қалыпты бөліну диаграммасы" (the grades' distribution diagram against
the normal curve) and "бағалар бөлінісінің стандартты ауытқуы" (the standard deviation of the
grade distribution). R 6.6 asks for it per department: the caller groups the grades.

Decisions:

* **Population standard deviation** (divide by N, not N - 1). The report describes the grades the
  session actually produced, all of them, not a sample from which a wider population is
  estimated; and it keeps the normal curve's spread equal to the spread reported beside it.
* **The statistics are taken over the whole percents** the letters were read from
  (``Grade.percent``), so the curve and the letter counts describe the same numbers. A violation's
  imposed F counts as 0 %.
* **Expected counts per band use a continuity correction:** band [low, high] of whole percents
  takes the curve's mass over [low - 0.5, high + 0.5); the top band (A) takes the whole upper
  tail and the bottom band (F) the whole lower tail, so the expected counts add up to N.
* **A standard deviation of 0** (every grade equal) puts all N in that grade's band instead of
  dividing by zero.
* Expected counts are estimates for a diagram: computed with ``math.erf`` in floating point and
  returned as ``Decimal`` rounded to 0.001.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from server.rules._checks import ZERO, require_percent
from server.rules.grading import LETTERS, TABLE_1, Band, Grade

_CONTEXT = Context(prec=28)
_COUNT_PLACES = Decimal("0.001")
_HALF = 0.5


def mean(values: Sequence[Decimal]) -> Decimal:
    """The arithmetic mean; ValueError for no values."""
    if not values:
        raise ValueError("the mean of no values is undefined")
    with localcontext(_CONTEXT):
        return sum(values, ZERO) / len(values)


def standard_deviation(values: Sequence[Decimal]) -> Decimal:
    """The population standard deviation; ValueError for no values."""
    centre = mean(values)
    with localcontext(_CONTEXT):
        variance = sum(((value - centre) ** 2 for value in values), ZERO) / len(values)
        return variance.sqrt()


def letter_distribution(letters: Iterable[str]) -> dict[str, int]:
    """How many of each letter, in table-1 order, zeros included; ValueError for a non-letter."""
    counts = Counter(letters)
    unknown = set(counts) - set(LETTERS)
    if unknown:
        raise ValueError(f"not letters of table 1: {sorted(unknown)}")
    return {letter: counts[letter] for letter in LETTERS}


def _normal_cdf(x: float, centre: float, spread: float) -> float:
    return 0.5 * (1.0 + math.erf((x - centre) / (spread * math.sqrt(2.0))))


def normal_expected_counts(
    *, mean: Decimal, standard_deviation: Decimal, count: int
) -> dict[str, Decimal]:
    """Expected number of grades per letter under N(mean, sd²) scaled to ``count``, in table-1
    order. ValueError for a negative count, a negative sd or a mean outside [0, 100]."""
    require_percent("mean", mean)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if not standard_deviation.is_finite() or standard_deviation < ZERO:
        raise ValueError(f"standard_deviation must not be negative, got {standard_deviation}")
    if standard_deviation == ZERO:
        centre_band = _band_of(mean)
        return {
            band.letter: Decimal(count if band is centre_band else 0).quantize(_COUNT_PLACES)
            for band in TABLE_1
        }
    centre, spread = float(mean), float(standard_deviation)
    expected: dict[str, Decimal] = {}
    for band in TABLE_1:
        upper = 1.0 if band is TABLE_1[0] else _normal_cdf(band.highest + _HALF, centre, spread)
        lower = 0.0 if band is TABLE_1[-1] else _normal_cdf(band.lowest - _HALF, centre, spread)
        expected[band.letter] = Decimal(count * (upper - lower)).quantize(_COUNT_PLACES)
    return expected


def _band_of(percent: Decimal) -> Band:
    # Same continuity correction as the curve: a whole percent p stands for [p - 0.5, p + 0.5).
    for band in TABLE_1:
        if percent >= band.lowest - Decimal("0.5"):
            return band
    return TABLE_1[-1]


@dataclass(frozen=True)
class GradeReport:
    """The R 6.7 figures for one group of grades (a department, a discipline, a session)."""

    count: int
    mean: Decimal
    standard_deviation: Decimal
    distribution: dict[str, int]
    expected: dict[str, Decimal]


def grade_report(grades: Sequence[Grade]) -> GradeReport:
    """Mean, SD, letter counts and the normal curve's expected counts; ValueError if empty."""
    percents = [Decimal(grade.percent) for grade in grades]
    centre = mean(percents)
    spread = standard_deviation(percents)
    return GradeReport(
        count=len(grades),
        mean=centre,
        standard_deviation=spread,
        distribution=letter_distribution(grade.letter for grade in grades),
        expected=normal_expected_counts(mean=centre, standard_deviation=spread, count=len(grades)),
    )
