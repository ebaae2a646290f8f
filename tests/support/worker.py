"""A thread for tests that wait on locks: it keeps its exception for the test to raise."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Worker(threading.Thread):
    """Runs ``work`` on its own thread; ``finish`` joins it and raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self.join(timeout=10)
        assert not self.is_alive(), "the worker is still waiting"
        if self.error is not None:
            raise self.error
