"""The writer's group plan: which waiting pieces make the next group, within its time budget."""

from __future__ import annotations

import queue
from dataclasses import dataclass

import pytest

from server.db.planning import FIRST_ESTIMATE_S, SMOOTHING, GroupPlan, JobCosts

# 15 ms, and half a millisecond so that fifteen 1 ms saves fit whatever the rounding
BUDGET = 0.0155

# What each kind took when last measured, as in the storm's sign-in minute.
TIMES = {"save": 0.001, "check_in": 0.008, "admission": 0.004, "finish": 0.030}


@dataclass(frozen=True)
class Piece:
    name: str

    @property
    def kind(self) -> str | None:
        """``save1`` is a save; ``work1`` has no kind."""
        kind = self.name.rstrip("0123456789")
        return None if kind == "work" else kind


def _plan(limit: int = 128) -> GroupPlan[Piece]:
    costs = JobCosts()
    for kind, seconds in TIMES.items():
        costs.observe(kind, seconds)
    return GroupPlan(limit=limit, budget=BUDGET, costs=costs)


def _line(names: list[str | None]) -> queue.SimpleQueue[Piece | None]:
    line: queue.SimpleQueue[Piece | None] = queue.SimpleQueue()
    for name in names:
        line.put(None if name is None else Piece(name))
    return line


def _groups(plan: GroupPlan[Piece], names: list[str | None]) -> list[list[str]]:
    """The groups the writer would commit for this line, one after another, until it says
    stop and what was held back has gone too."""
    line = _line([*names, None])
    groups: list[list[str]] = []
    stopping = False
    while not stopping or plan.holding:
        group, stopped = plan.next_group(None if stopping else line)
        stopping = stopping or stopped
        if group:
            groups.append([piece.name for piece in group])
    return groups


@pytest.mark.parametrize(
    ("line", "groups"),
    [
        # Saves alone: one group, as many as fit the budget (15 of 1 ms).
        (["save1", "save2", "save3"], [["save1", "save2", "save3"]]),
        (
            [f"save{n}" for n in range(1, 18)],
            [[f"save{n}" for n in range(1, 16)], ["save16", "save17"]],
        ),
        # A second sign-in does not fit (8 + 8 > 15): it waits, the saves behind it go now.
        (
            ["check_in1", "check_in2", "save1", "save2"],
            [["check_in1", "save1", "save2"], ["check_in2"]],
        ),
        # What was held back goes first in the next group, before what came after it.
        (
            ["check_in1", "check_in2", "check_in3", "save1"],
            [["check_in1", "save1"], ["check_in2"], ["check_in3"]],
        ),
        # Pieces that fit together go together: 8 + 4 + 1 + 1.
        (
            ["check_in1", "admission1", "save1", "save2"],
            [["check_in1", "admission1", "save1", "save2"]],
        ),
        # A piece longer than the budget goes alone, first: nothing waits for ever.
        (["finish1", "save1"], [["finish1"], ["save1"]]),
        (["save1", "finish1", "save2"], [["save1", "save2"], ["finish1"]]),
        # Work without a kind costs the plan nothing: it goes while the budget has room.
        (["save1", "work1", "check_in1", "work2"], [["save1", "work1", "check_in1", "work2"]]),
        (["finish1", "work1", "work2"], [["finish1"], ["work1", "work2"]]),
    ],
)
def test_a_group_takes_the_waiting_pieces_in_order_while_they_fit_the_budget(
    line: list[str], groups: list[list[str]]
) -> None:
    assert _groups(_plan(), [*line]) == groups


def test_a_group_takes_no_more_pieces_than_its_limit() -> None:
    assert _groups(_plan(limit=2), ["work1", "work2", "work3", "check_in1", "check_in2"]) == [
        ["work1", "work2"],
        ["work3", "check_in1"],
        ["check_in2"],
    ]


def test_the_line_saying_stop_ends_the_taking_but_the_held_pieces_still_go() -> None:
    plan = _plan()
    line = _line(["check_in1", "check_in2", None, "save1"])
    group, stopping = plan.next_group(line)
    assert ([piece.name for piece in group], stopping) == (["check_in1"], True)
    assert plan.holding
    group, stopping = plan.next_group(None)
    assert ([piece.name for piece in group], stopping) == (["check_in2"], False)
    assert not plan.holding
    assert line.get_nowait() == Piece("save1")  # after the stop: not taken


def test_an_estimate_starts_at_a_saves_time_and_follows_each_kinds_timings() -> None:
    costs = JobCosts()
    assert costs.estimate("check_in") == FIRST_ESTIMATE_S
    assert costs.estimate(None) == 0.0
    costs.observe("check_in", 0.010)
    assert costs.estimate("check_in") == 0.010  # the first timing replaces the first guess
    costs.observe("check_in", 0.020)
    assert costs.estimate("check_in") == pytest.approx(0.010 + SMOOTHING * 0.010)
    assert costs.estimate("save") == FIRST_ESTIMATE_S  # kinds are learnt apart
    costs.observe(None, 1.0)
    assert costs.estimate(None) == 0.0
