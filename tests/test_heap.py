"""The server fixes glibc's heap thresholds so that freed memory goes back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from server.heap import keep_heap_small


def test_keep_heap_small_takes_effect_on_glibc() -> None:
    assert keep_heap_small()


def test_a_freed_large_block_leaves_the_process() -> None:
    """Freeing a 16 MiB block raises glibc's threshold; after it 4 MiB blocks would stay in the
    heap once freed. With the threshold fixed they go back: the resident size falls again."""
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
        blocks = [libc.malloc(4 << 20) for _ in range(4)]
        for block in blocks:
            ctypes.memset(block, 1, 4 << 20)
        before = resident_kib()
        for block in reversed(blocks):
            libc.free(block)
        print(before - resident_kib())
        """
    )

    def given_back_kib(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", probe, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    assert given_back_kib("fixed") > 15 * 1024
    assert given_back_kib("default") < 2 * 1024  # the test can fail: glibc keeps them
