"""The request's database session: commits when the handler succeeds, rolls back otherwise.

The dependency runs with ``scope="function"``, so the commit happens before the response is sent:
whatever a page shows as saved has been committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from server.db.engine import WRITE_INTENT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

AfterCommit = Callable[[], None]


def after_commit(session: Session, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (never after a rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def run_after_commit(session: Session) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    if request.method not in SAFE_METHODS:
        session.connection(execution_options={WRITE_INTENT: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        raise
    finally:
        session.close()
    run_after_commit(session)


DbSession = Annotated[Session, Depends(get_db, scope="function")]
