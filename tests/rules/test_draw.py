"""Drawing a paper from a blueprint: quotas, shortfalls, distinct papers, option order."""

from __future__ import annotations

import math
import random

import pytest

from server.rules.draw import (
    Candidate,
    DrawImpossible,
    Quota,
    distinct_papers,
    draw_questions,
    option_order,
    shortfalls,
    whole_discipline,
)


def pool(
    n: int, *, topic: int | None = None, difficulty: int | None = None, first: int = 1
) -> list[Candidate]:
    return [
        Candidate(item_version_id=i, topic_id=topic, difficulty=difficulty)
        for i in range(first, first + n)
    ]


@pytest.mark.parametrize(("size", "fills"), [(24, False), (25, True), (100, True)])
def test_a_discipline_without_blueprint_needs_25_items(size: int, fills: bool) -> None:
    quotas = whole_discipline(25)
    assert (shortfalls(pool(size), quotas) == []) is fills


def test_the_paper_holds_distinct_items_in_a_shuffled_order() -> None:
    drawn = draw_questions(pool(100), whole_discipline(25), random.Random(1))
    assert len(drawn) == len(set(drawn)) == 25
    assert drawn != sorted(drawn)


def test_the_same_seed_gives_the_same_paper_whatever_the_pool_order() -> None:
    items = pool(60)
    a = draw_questions(items, whole_discipline(25), random.Random(5))
    b = draw_questions(list(reversed(items)), whole_discipline(25), random.Random(5))
    assert a == b


def test_quotas_take_their_topics_and_difficulties() -> None:
    items = (
        pool(10, topic=1, difficulty=3)
        + pool(10, topic=1, difficulty=1, first=11)
        + pool(30, topic=2, first=21)
    )
    quotas = [
        Quota(topic_id=None, difficulty=None, count=15),
        Quota(topic_id=1, difficulty=3, count=10),
    ]
    drawn = draw_questions(items, quotas, random.Random(2))
    assert set(range(1, 11)) <= set(drawn)  # the specific quota got all ten hard topic-1 items
    assert len(drawn) == 25


@pytest.mark.parametrize(
    ("available", "wanted", "short"),
    [(4, 5, True), (5, 5, False), (6, 5, False)],
)
def test_a_quota_short_of_items_is_named(available: int, wanted: int, short: bool) -> None:
    quotas = [
        Quota(topic_id=7, difficulty=None, count=wanted),
        Quota(topic_id=None, difficulty=None, count=20),
    ]
    items = pool(available, topic=7) + pool(40, topic=8, first=100)
    missing = shortfalls(items, quotas)
    assert bool(missing) is short
    if short:
        assert missing[0].quota.topic_id == 7
        assert missing[0].available == available
        with pytest.raises(DrawImpossible):
            draw_questions(items, quotas, random.Random(0))


@pytest.mark.parametrize(("size", "count"), [(25, 1), (26, 26), (30, math.comb(30, 25))])
def test_distinct_papers_for_one_quota(size: int, count: int) -> None:
    assert distinct_papers(pool(size), whole_discipline(25)) == count


def test_distinct_papers_multiply_over_disjoint_quotas() -> None:
    items = pool(12, topic=1) + pool(20, topic=2, first=50)
    quotas = [
        Quota(topic_id=1, difficulty=None, count=10),
        Quota(topic_id=2, difficulty=None, count=15),
    ]
    assert distinct_papers(items, quotas) == math.comb(12, 10) * math.comb(20, 15)


def test_distinct_papers_is_zero_when_a_quota_cannot_be_filled() -> None:
    assert distinct_papers(pool(10), whole_discipline(25)) == 0


def test_a_quota_asks_for_at_least_one_question() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Quota(topic_id=None, difficulty=None, count=0)


def test_options_are_shuffled_unless_the_item_forbids_it() -> None:
    ids = [11, 12, 13, 14, 15]
    assert option_order(ids, shuffle=False, rng=random.Random(3)) == ids
    shuffled = option_order(ids, shuffle=True, rng=random.Random(3))
    assert sorted(shuffled) == ids
    assert shuffled != ids
