"""Helpers for the processes the server starts (its writer) and the bench starts (servers)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys


def die_with_parent() -> None:
    """SIGKILL the calling process when its parent dies (Linux PR_SET_PDEATHSIG).

    A child that outlived a killed server would keep its database and its port busy.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def short_interpreter_turns() -> None:
    """Let a thread that waits for the interpreter have it after 0.5 ms, not CPython's 5 ms.

    A thread that made a system call (a query, a pipe's read or write) must win the interpreter
    back before it goes on; while another thread computes, it waits until that one has run
    this long. In the server, a request holding SQLite's write lock needed ten or so such
    hand-overs while the threads rendering papers took turns between them, and at an exam's
    start the writes fell to ~20 a second; in the writer process, each job read from the pipe
    waited a turn of the thread writing the groups. 0.5 ms costs a few more switches.
    """
    sys.setswitchinterval(0.0005)
