"""The server fixes glibc's heap thresholds so that freed memory goes back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from server.heap import keep_heap_small


def test_keep_heap_small_takes_effect_on_glibc() -> None:
    assert keep_heap_small()


@pytest.mark.parametrize(
    ("block_kib", "blocks"),
    [
        (4096, 4),  # above the fixed mapping threshold: each block is a mapping of its own
        (512, 32),  # below it, from the heap: its free top goes back past the trimming threshold
    ],
)
def test_freed_large_blocks_leave_the_process(block_kib: int, blocks: int) -> None:
    """Freeing a 16 MiB block raises glibc's thresholds; after it 16 MiB of smaller blocks
    would stay in the heap once freed. With the thresholds fixed they go back: the resident
    size falls again."""
    probe = textwrap.dedent(
        """
        import ctypes, sys
        from server.heap import keep_heap_small
        if sys.argv[1] == "fixed":
            keep_heap_small()
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]

        def resident_kib():
            with open("/proc/self/status") as status:
                return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))

        libc.free(libc.malloc(16 << 20))  # raises the threshold unless it is fixed
        size, count = int(sys.argv[2]) << 10, int(sys.argv[3])
        blocks = [libc.malloc(size) for _ in range(count)]
        for block in blocks:
            ctypes.memset(block, 1, size)
        before = resident_kib()
        for block in reversed(blocks):
            libc.free(block)
        print(before - resident_kib())
        """
    )

    def given_back_kib(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", probe, mode, str(block_kib), str(blocks)],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(run.stdout)

    assert given_back_kib("fixed") > 12 * 1024
    assert given_back_kib("default") < 2 * 1024  # the probe shows glibc keeping them unfixed
