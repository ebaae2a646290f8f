"""Python's cycle collector in a server process: what it walks, and how often.

A full collection walks every tracked object the process holds. In a server process at an
exam's start that is the application itself (routes, templates, SQLAlchemy's mappers: ~170,000
objects, ~85 ms a walk on this machine's class) plus everything the requests in flight hold;
at 2,000 examinees it ran every one to two seconds, 150-300 ms each time, 83 times in a 4-minute
storm, 18 s in all, and each time the event loop and every thread stood still
(docs/BENCHMARKS.md).

Two settings, both CPython's own: the objects alive once the application is built are moved to
the permanent generation (``gc.freeze``), which no collection walks, since they live as long as
the process; and the youngest generation is collected after 10,000 new objects instead of 700,
so the full collections, which come after every hundred young ones, come a fourteenth as often.
Cycles are still collected; a short-lived one lives a little longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (of tracked objects, net of frees) before the youngest generation is collected.
YOUNG_THRESHOLD = 10_000


def settle_collector() -> None:
    """Freeze what the process has built so far, then collect the young less often.

    Call once the application is built, before it serves: in the server process, not in code
    that builds and discards applications (the tests), whose frozen objects would never go.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)


@contextmanager
def collector_settled() -> Iterator[None]:
    """``settle_collector`` for a while, then the collector as it was.

    For a process that builds much before a phase where its stops would count: the bench's
    generator, whose full collections during a storm at 2,000 (16 of them, up to 222 ms) showed
    as its own schedule lag. The objects frozen are let go again afterwards.
    """
    threshold = gc.get_threshold()
    settle_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
