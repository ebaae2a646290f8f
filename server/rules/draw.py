"""Drawing a paper: which approved items a student gets and in which order (R 4.5, R 6.3).

A blueprint is a list of quotas: ``count`` questions of a topic (any topic when ``None``) and a
difficulty (any when ``None``). Without a blueprint the whole discipline is one quota of 25.

Decisions:

* **Most specific quotas are served first.** A quota naming both topic and difficulty takes its
  items before a quota naming one of them, and those before a quota naming neither, so "any 5
  more" can never eat the items a "3 hard ones on topic X" quota needs. Each item can serve one
  quota only, so a paper never repeats an item.
* **The randomness is injected** (a ``random.Random``): the server seeds it from the operating
  system's generator, tests seed it to get a known paper.
* **How many distinct papers a blueprint allows** counts different *sets* of items (the order
  of questions and options multiplies it further). Each item is counted once, under the most
  specific quota it matches, so for overlapping quotas the number is a lower bound; for disjoint
  quotas (the usual topic list) it is exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """An approved, deliverable item version that may go on a paper."""

    item_version_id: int
    topic_id: int | None
    difficulty: int | None


@dataclass(frozen=True)
class Quota:
    topic_id: int | None
    difficulty: int | None
    count: int

    def __post_init__(self) -> None:
        if self.count <= 0:
            raise ValueError(f"a quota asks for at least one question, got {self.count}")

    def matches(self, candidate: Candidate) -> bool:
        return (self.topic_id is None or candidate.topic_id == self.topic_id) and (
            self.difficulty is None or candidate.difficulty == self.difficulty
        )

    @property
    def specificity(self) -> int:
        return (self.topic_id is not None) + (self.difficulty is not None)


@dataclass(frozen=True)
class Shortfall:
    """A quota the approved items cannot fill."""

    quota: Quota
    available: int


class DrawImpossible(Exception):
    def __init__(self, shortfalls: Sequence[Shortfall]) -> None:
        super().__init__(f"the approved items cannot fill {len(shortfalls)} quota(s)")
        self.shortfalls = tuple(shortfalls)


def whole_discipline(question_count: int) -> list[Quota]:
    """The blueprint of a discipline that has none: any ``question_count`` approved items."""
    return [Quota(topic_id=None, difficulty=None, count=question_count)]


def _pools(candidates: Sequence[Candidate], quotas: Sequence[Quota]) -> list[list[Candidate]]:
    """Each candidate in the pool of the most specific quota it matches (first such quota)."""
    order = sorted(range(len(quotas)), key=lambda i: -quotas[i].specificity)
    pools: list[list[Candidate]] = [[] for _ in quotas]
    for candidate in candidates:
        for index in order:
            if quotas[index].matches(candidate):
                pools[index].append(candidate)
                break
    return pools


def shortfalls(candidates: Sequence[Candidate], quotas: Sequence[Quota]) -> list[Shortfall]:
    """The quotas the candidates cannot fill; empty when a paper can be drawn."""
    return [
        Shortfall(quota=quota, available=len(pool))
        for quota, pool in zip(quotas, _pools(candidates, quotas), strict=True)
        if len(pool) < quota.count
    ]


def distinct_papers(candidates: Sequence[Candidate], quotas: Sequence[Quota]) -> int:
    """How many different sets of items the blueprint can produce (0 when it cannot be filled)."""
    return math.prod(
        math.comb(len(pool), quota.count)
        for quota, pool in zip(quotas, _pools(candidates, quotas), strict=True)
    )


def draw_questions(
    candidates: Sequence[Candidate], quotas: Sequence[Quota], rng: random.Random
) -> list[int]:
    """The item versions of one paper, in the order the student sees them.

    DrawImpossible, naming every quota short of items, when the blueprint cannot be filled.
    """
    if not quotas:
        raise ValueError("a blueprint has at least one quota")
    missing = shortfalls(candidates, quotas)
    if missing:
        raise DrawImpossible(missing)
    # Sorted before sampling so the same seed gives the same paper whatever order the
    # database returned the candidates in.
    chosen: list[int] = []
    for quota, pool in zip(quotas, _pools(candidates, quotas), strict=True):
        ids = sorted(c.item_version_id for c in pool)
        chosen.extend(rng.sample(ids, quota.count))
    rng.shuffle(chosen)
    return chosen


def option_order(option_ids: Sequence[int], *, shuffle: bool, rng: random.Random) -> list[int]:
    """The order a question's options are shown in: shuffled unless the item forbids it."""
    ordered = list(option_ids)
    if shuffle:
        rng.shuffle(ordered)
    return ordered
