"""Which waiting writes go into the writer's next group: a time budget per group.

A group's requests are all answered at its commit, so a save that joins a group waits for
every piece before it. While examinees arrive, the writer's line mixes saves (about 1 ms of
the writer's time each, in the storm) with sign-ins (8 ms), admissions (4 ms) and, at the end,
finishes (12 ms): groups of 70–90 ms, and a save that came during one waited for it and then
for its own (docs/BENCHMARKS.md, "Results (2026-12-06, evening)").

So a group is planned, not just taken: the pieces are taken in their order while their
estimated times fit the budget; one that would take the group past it is held back and goes
first in the next group, and the lighter pieces behind it still go now. The first piece of a
group always goes, so a piece longer than the budget runs in a group of its own and nothing
waits for ever. Pieces held back are requests nobody has been answered for, so running a
later one first is as if it had come first.

A piece's time is estimated from the last pieces of its kind (the job's name), as they ran in
this writer, under the load it is under: no figure to keep up to date by hand. Pieces without
a kind (the tests' own work) cost the plan nothing.
"""

from __future__ import annotations

import queue
from collections import deque
from typing import Generic, Protocol, TypeVar

# The writer's time one group is planned to take. A save then waits at most about two groups
# (the one running when it came, and its own): the storm's save target is 50 ms at the p99.
GROUP_BUDGET_S = 0.015

# What a kind of piece is expected to take before one has run: a save's time.
FIRST_ESTIMATE_S = 0.001

# How much each new timing moves the estimate: the last ten or so pieces of a kind count.
SMOOTHING = 0.2


class Planned(Protocol):
    @property
    def kind(self) -> str | None: ...


P = TypeVar("P", bound=Planned)


class JobCosts:
    """How long each kind of piece takes in this writer, smoothed over its last runs."""

    def __init__(self, first_estimate: float = FIRST_ESTIMATE_S) -> None:
        self._first = first_estimate
        self._seconds: dict[str, float] = {}

    def estimate(self, kind: str | None) -> float:
        if kind is None:
            return 0.0
        return self._seconds.get(kind, self._first)

    def observe(self, kind: str | None, seconds: float) -> None:
        if kind is None:
            return
        before = self._seconds.get(kind)
        self._seconds[kind] = seconds if before is None else before + SMOOTHING * (seconds - before)


class GroupPlan(Generic[P]):
    """The writer's plan: the pieces held back for the next group, and how to take a group."""

    def __init__(
        self, *, limit: int, budget: float = GROUP_BUDGET_S, costs: JobCosts | None = None
    ) -> None:
        self.limit = limit
        self.budget = budget
        self.costs = costs if costs is not None else JobCosts()
        self._held: deque[P] = deque()

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def next_group(self, line: queue.SimpleQueue[P | None] | None) -> tuple[list[P], bool]:
        """The next group: the pieces held back first, then those waiting in ``line``.

        Waits for the line's first piece when nothing is held back; with ``line`` None, plans
        from the held pieces alone. Returns the group and whether the line said stop
        (``None``), after which nothing more is taken from it.
        """
        group: list[P] = []
        planned = 0.0
        earlier, self._held = self._held, deque()

        def consider(piece: P) -> None:
            nonlocal planned
            cost = self.costs.estimate(piece.kind)
            if group and (len(group) >= self.limit or planned + cost > self.budget):
                self._held.append(piece)
            else:
                group.append(piece)
                planned += cost

        for piece in earlier:
            consider(piece)
        if line is None:
            return group, False
        if not group:
            first = line.get()
            if first is None:
                return group, True
            consider(first)
        # Look further down the line while the budget has room: a save behind a sign-in that
        # did not fit still goes now.
        while planned < self.budget and len(group) < self.limit:
            try:
                more = line.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return group, True
            consider(more)
        return group, False
