from decimal import Decimal
from statistics import NormalDist

import pytest

from server.rules.grading import Grade, letter_grade
from server.rules.stats import (
    grade_report,
    letter_distribution,
    mean,
    normal_expected_counts,
    standard_deviation,
)

D = Decimal
ORDER = ["A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "FX", "F"]
CLASSIC = [D(v) for v in (2, 4, 4, 4, 5, 5, 7, 9)]  # mean 5, population SD 2, sample SD 2.14


@pytest.mark.parametrize(
    ("values", "expected_mean", "expected_sd"),
    [
        pytest.param(CLASSIC, D(5), D(2), id="population-not-sample"),
        pytest.param([D(70)], D(70), D(0), id="single-grade"),
        pytest.param([D(60), D(60), D(60)], D(60), D(0), id="all-equal"),
        pytest.param([D(0), D(100)], D(50), D(50), id="extremes"),
        pytest.param([D(1), D(2)], D("1.5"), D("0.5"), id="fractional"),
    ],
)
def test_mean_and_standard_deviation(
    values: list[Decimal], expected_mean: Decimal, expected_sd: Decimal
) -> None:
    assert mean(values) == expected_mean
    assert standard_deviation(values) == expected_sd


@pytest.mark.parametrize("function", [mean, standard_deviation], ids=["mean", "sd"])
def test_statistics_of_nothing_are_refused(function: object) -> None:
    with pytest.raises(ValueError, match="no values"):
        function([])  # type: ignore[operator]


def test_letter_distribution_in_table_order_with_zeros() -> None:
    distribution = letter_distribution(["F", "A", "C", "A", "FX"])
    assert list(distribution) == ORDER
    assert distribution == {letter: 0 for letter in ORDER} | {"A": 2, "C": 1, "FX": 1, "F": 1}


def test_letter_distribution_rejects_unknown_letters() -> None:
    with pytest.raises(ValueError, match="'E'"):
        letter_distribution(["A", "E"])


def _reference(centre: float, spread: float, low: float, high: float, count: int) -> Decimal:
    curve = NormalDist(centre, spread)
    return D(count * (curve.cdf(high) - curve.cdf(low))).quantize(D("0.001"))


@pytest.mark.parametrize(
    ("letter", "low", "high"),
    [
        pytest.param("A", 94.5, float("inf"), id="A-takes-upper-tail"),
        pytest.param("B", 79.5, 84.5, id="B"),
        pytest.param("D", 49.5, 54.5, id="D"),
        pytest.param("FX", 24.5, 49.5, id="FX"),
        pytest.param("F", float("-inf"), 24.5, id="F-takes-lower-tail"),
    ],
)
def test_normal_expected_counts_match_the_curve(letter: str, low: float, high: float) -> None:
    expected = normal_expected_counts(mean=D(62), standard_deviation=D(15), count=200)
    assert list(expected) == ORDER
    assert expected[letter] == _reference(62.0, 15.0, low, high, 200)


def test_normal_expected_counts_add_up_to_the_count() -> None:
    expected = normal_expected_counts(mean=D("71.3"), standard_deviation=D("12.4"), count=137)
    assert abs(sum(expected.values(), D(0)) - 137) <= D("0.006")  # twelve roundings to 0.001


@pytest.mark.parametrize(
    ("centre", "letter"),
    [
        pytest.param(D(70), "C+", id="70"),
        pytest.param(D("94.5"), "A", id="94.5-rounds-like-half-up"),
        pytest.param(D("94.4"), "A-", id="94.4"),
        pytest.param(D(0), "F", id="0"),
    ],
)
def test_zero_spread_puts_everyone_in_one_band(centre: Decimal, letter: str) -> None:
    expected = normal_expected_counts(mean=centre, standard_deviation=D(0), count=30)
    assert expected[letter] == D(30)
    assert sum(expected.values()) == D(30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"mean": D(50), "standard_deviation": D(-1), "count": 3}, "negative", id="sd"),
        pytest.param({"mean": D(50), "standard_deviation": D(1), "count": -1}, "negative", id="n"),
        pytest.param(
            {"mean": D(101), "standard_deviation": D(1), "count": 3}, "percentage", id="m"
        ),
    ],
)
def test_normal_expected_counts_rejects_programmer_errors(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        normal_expected_counts(**kwargs)  # type: ignore[arg-type]


def test_grade_report() -> None:
    grades = [letter_grade(D(p)) for p in (95, 85, 75, 65)] + [Grade("F", D(0), 0)]
    report = grade_report(grades)
    assert report.count == 5
    assert report.mean == D(64)
    assert report.standard_deviation == D(1124).sqrt()
    assert report.distribution == {letter: 0 for letter in ORDER} | {
        "A": 1,
        "B+": 1,
        "B-": 1,
        "C": 1,
        "F": 1,
    }
    assert report.expected == normal_expected_counts(
        mean=D(64), standard_deviation=D(1124).sqrt(), count=5
    )


def test_grade_report_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        grade_report([])
