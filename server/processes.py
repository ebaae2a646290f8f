"""Helpers for the processes the server starts (its writer) and the bench starts (servers)."""

from __future__ import annotations

import contextlib
import ctypes
import signal


def die_with_parent() -> None:
    """SIGKILL the calling process when its parent dies (Linux PR_SET_PDEATHSIG).

    A child that outlived a killed server would keep its database and its port busy.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
