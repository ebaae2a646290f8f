"""The storm's result, apart from any run: which minute each save is counted in."""

from __future__ import annotations

import pytest

from server.bench.storm import Recorder, StormResult, Timeline, admitted_in_place

# t0 = 100: the arrivals are [100, 160), the steady phase [160, 220), the finish from 220.
TIMELINE = Timeline(t0=100.0, window=60.0, duration=60.0, finish_window=60.0, start_epoch=0.0)


def result_with_saves(made: list[float]) -> StormResult:
    recorder = Recorder()
    for index, moment in enumerate(made):
        recorder.samples["save"].append(float(index))
        recorder.save_made.append(moment)
    return StormResult(
        recorder=recorder,
        consoles=[],
        console_note=None,
        cpu_seconds=0.0,
        wall_seconds=0.0,
        examinees_finished=0,
        kill=None,
        timeline=TIMELINE,
    )


@pytest.mark.parametrize(
    ("made", "phase"),
    [
        (100.0, "arrival"),
        (159.999, "arrival"),
        (160.0, "steady"),  # the exam's start
        (219.999, "steady"),
        (220.0, "finish"),  # the steady phase's end
        (400.0, "finish"),
    ],
)
def test_a_save_is_counted_in_the_minute_its_answer_was_made(made: float, phase: str) -> None:
    phases = result_with_saves([made]).saves_by_phase()

    assert phases[phase] == [0.0]
    assert sum(len(latencies) for latencies in phases.values()) == 1


def test_the_phases_keep_every_latency_with_its_own_save() -> None:
    phases = result_with_saves([150.0, 170.0, 230.0, 155.0]).saves_by_phase()

    assert phases == {"arrival": [0.0, 3.0], "steady": [1.0], "finish": [2.0]}


@pytest.mark.parametrize(
    ("phase", "status_phase", "start_ms", "in_place"),
    [
        ("waiting", "admitted", 1_000, True),  # the start the page names: no new page
        ("waiting", "admitted", 61_000, False),  # the start moved: the page reloads
        ("waiting", "sitting", 1_000, False),
        ("waiting", "waiting", 1_000, False),
        ("admitted", "waiting", 1_000, False),  # admission withdrawn: the page reloads
        ("admitted", "closed", 1_000, False),
    ],
)
def test_a_waiting_page_reloads_as_waiting_js_does(
    phase: str, status_phase: str, start_ms: int, in_place: bool
) -> None:
    status = {"phase": status_phase, "start_ms": start_ms}
    assert admitted_in_place(phase, status, shown_start_ms=1_000) is in_place
