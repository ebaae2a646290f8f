"""What a process may keep of the bank between transactions: values read under one token.

The database changes ``bank_revision.token`` to a random number in every statement that writes
to the tables a paper's draw reads (``server.models.bank.DRAW_TABLES``, triggers made by the
migration). At an exam's start every sign-in draws a paper from the same pool and blueprint;
read under the token, they stand until the token changes, and one read of the token replaces
the pool's and the blueprint's reads of each sign-in.

Read the token before the values it guards: on PostgreSQL, whose statements each see the latest
commit, values read afterwards are at least as new as the token, and a token once replaced by a
commit never comes back. A change rolled back restores the token before it, under which only
values of the committed state were kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import BankRevision

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_TOKEN = select(BankRevision.token).where(BankRevision.id == 1)


def bank_token(db: Session) -> int:
    return int(db.execute(_TOKEN).scalar_one())


class KeptUnderToken(Generic[K, V]):
    """Values by key, all forgotten when the token they are asked for under changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: int | None = None
        self._values: dict[K, V] = {}

    def get(self, token: int, key: K, read: Callable[[], V]) -> V:
        """The value kept for ``key`` under ``token``, or ``read()`` kept (unless it raised)."""
        with self._lock:
            if token != self._token:
                self._token, self._values = token, {}
            elif key in self._values:
                return self._values[key]
        value = read()
        with self._lock:
            if token == self._token:
                self._values[key] = value
        return value
