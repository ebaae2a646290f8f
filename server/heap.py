"""glibc's heap: give large freed blocks back to the system instead of keeping them.

glibc maps a block of 128 KiB or more on its own and unmaps it when freed, but each such free
raises that threshold to the freed block's size (up to 32 MiB), and from then on blocks below it
come from the heaps and stay there once freed. With a thread per reader, argon2's threads and
the writer's pipes, the process has a heap per thread, and at an exam's start each kept what
its busiest moment took: at 2,000 examinees ~100 MB of the server's memory (docs/BENCHMARKS.md).
Fixing the threshold stops the raising. The trimming threshold, which glibc raises with it, is
fixed at 4 MiB: a heap's free top beyond that goes back to the system. At glibc's default,
128 KiB, the heaps were given back and taken again so often that the writer stored 12 % fewer
saves a second in the closed-loop saturation run; at 4 MiB 4 % fewer, within what runs differ
by (docs/BENCHMARKS.md). argon2's 19 MiB, which would now be mapped and faulted in again for
every hash, has buffers of its own (``server.auth.argon2_memory``).
"""

from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_THRESHOLD_BYTES = 4 * 1024 * 1024


def keep_heap_small() -> bool:
    """Fix glibc's mapping threshold at 1 MiB and its trimming threshold at 4 MiB; False where
    the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # musl and others: their allocators keep no such threshold
        return False
    fixed = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    if not fixed or mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) != 1:
        logger.warning("glibc refused the heap's mapping threshold; freed memory is kept")
        return False
    return True
