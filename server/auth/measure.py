"""Measure argon2id verification cost on this machine: ``python -m server.auth.measure``.

Prints p50/p99 of one verification and the verifications per second that all cores sustain, for
OWASP's equivalent minimum settings and for argon2-cffi's defaults. docs/SECURITY.md records the
figures behind the parameters Emtihan uses.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from argon2 import PasswordHasher

PASSWORD = "Measure#2026"  # noqa: S105
# (memory KiB, iterations, parallelism): OWASP's equivalent minimums, then the library default.
CANDIDATES = [
    (19456, 2, 1),
    (12288, 3, 1),
    (9216, 4, 1),
    (7168, 5, 1),
    (47104, 1, 1),
    (65536, 3, 4),
]


def _verify(arguments: tuple[int, int, int, str]) -> None:
    memory, iterations, lanes, encoded = arguments
    PasswordHasher(time_cost=iterations, memory_cost=memory, parallelism=lanes).verify(
        encoded, PASSWORD
    )


def measure(
    memory: int, iterations: int, lanes: int, *, rounds: int = 40
) -> tuple[float, float, float]:
    hasher = PasswordHasher(time_cost=iterations, memory_cost=memory, parallelism=lanes)
    encoded = hasher.hash(PASSWORD)
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(encoded, PASSWORD)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    workers = os.cpu_count() or 1
    jobs = [(memory, iterations, lanes, encoded)] * (rounds * workers)
    with ProcessPoolExecutor(workers) as pool:
        started = time.perf_counter()
        list(pool.map(_verify, jobs))
        per_second = len(jobs) / (time.perf_counter() - started)
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.99) - 1)], per_second


def main() -> None:
    print(f"{os.cpu_count()} cores")
    for memory, iterations, lanes in CANDIDATES:
        p50, p99, per_second = measure(memory, iterations, lanes)
        print(
            f"m={memory // 1024} MiB t={iterations} p={lanes}: verify p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms; all cores {per_second:.0f}/s; "
            f"2,000 sign-ins need {2000 / per_second:.0f} s of CPU on all cores"
        )


if __name__ == "__main__":
    main()
