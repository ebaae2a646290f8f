"""The request's database session: commits when the handler succeeds, rolls back otherwise.

The dependency runs with ``scope="function"``, so the commit happens before the response is sent:
whatever a page shows as saved has been committed.

A request holds a database connection only inside one thread job. FastAPI runs each sync
dependency and the handler as separate jobs on one shared limiter of 40 threads; a connection
(worse, SQLite's write lock) held by a request *between* two jobs waits for a thread while the
threads wait for that connection, and the server wedges (docs/BENCHMARKS.md). So:

* dependencies read in a ``short_session`` of their own, closed before they return;
* the request's session connects lazily, at the handler's first statement, and for an unsafe
  method that first statement takes the write lock (``write_intent``);
* the commit runs in FastAPI's teardown, which has its own thread outside the shared limiter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, TypeVarTuple, overload

from fastapi import Depends, Request
from sqlalchemy import CursorResult, Engine, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TypedReturnsRows

from server.db.engine import read_only, write_intent, writers_turn

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# ``Session.info`` key: the session only reads (``for_reading``).
_READS_ONLY = "emtihan_reads_only"

AfterCommit = Callable[[], None]


Columns = TypeVarTuple("Columns")


# Rows as a list: one executemany (the audit log's entries of a writer's group).
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]]


# A statement that returns typed rows matches both signatures; the first, typed, wins.
@overload
def columns(  # type: ignore[overload-overlap]
    session: Session,
    statement: TypedReturnsRows[*Columns],
    parameters: Mapping[str, Any] | None = None,
) -> CursorResult[*Columns]: ...


@overload
def columns(
    session: Session, statement: Executable, parameters: Parameters | None = None
) -> CursorResult[Any]: ...


def columns(
    session: Session, statement: Executable, parameters: Parameters | None = None
) -> CursorResult[Any]:
    """Run a Core statement of plain columns (no mapped entity), or one that returns none, on
    the session's connection, in its transaction, past the ORM's layer.

    ``Session.execute`` prepares even a select of columns through the ORM's execution context:
    70-110 µs more a statement, on the reads every exam page, sign-in and save runs and the
    writes of every save (docs/BENCHMARKS.md). The rows are the same. What the session holds
    unflushed is flushed first, as ``Session.execute``'s autoflush would. A statement that
    writes a mapped table bypasses the ORM's synchronisation of loaded objects, as a Core
    statement on a ``Table`` does through ``Session.execute`` too.
    """
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, parameters)


def forget_loaded(session: Session, model: type[Any], ident: object) -> None:
    """Expire the ``model`` object of primary key ``ident`` if the session has it loaded: a
    statement run through ``columns`` changed its row, and the object would show the old values
    (and write them back if changed and flushed)."""
    loaded = session.identity_map.get(session.identity_key(model, ident))
    if loaded is not None:
        session.expire(loaded)


def after_commit(session: Session, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (never after a rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint in the session's transaction; rolled back on an exception, which propagates.

    What the work queued in ``session.info`` for after the commit (callbacks, room events to
    publish: lists) is dropped with it, so nothing of a rolled-back piece is announced.
    """
    marks = {key: len(value) for key, value in session.info.items() if isinstance(value, list)}
    try:
        with session.begin_nested():
            yield
    except BaseException:
        for key, value in list(session.info.items()):
            if isinstance(value, list):
                del value[marks.get(key, 0) :]
        raise


def run_after_commit(session: Session) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@contextmanager
def unit_of_work(app: Any, *, write: bool) -> Iterator[Session]:
    """A request's database work: commits at the end of the block, rolls back on an error.

    ``write``: the first statement takes the write lock (``write_intent``). Routes that do all
    their work in one thread job (the exam page's JSON API) use it directly; others get it
    through ``get_db``.
    """
    single: Session | None = getattr(app.state, "single_session", None)
    session = open_session(app, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        raise
    finally:
        if single is None:
            session.close()
    run_after_commit(session)


def open_session(app: Any, *, write: bool, group_writer: bool = False) -> Session:
    """A new session of the application (the test's one session, when it runs in one).

    ``write``: its transactions take the write lock at their first statement (``write_intent``).
    ``group_writer``: a group writer's, which also waits for the writers' turn (``writers_turn``).
    """
    single: Session | None = getattr(app.state, "single_session", None)
    if single is not None:
        return single
    session: Session = app.state.sessionmaker()
    if group_writer:
        session.bind = writers_turn(session.get_bind())
    elif write:
        session.bind = write_intent(session.get_bind())
    return session


def for_reading(session: Session) -> Session:
    """``session``, made a session that only reads: end it with ``end_read``. A session bound
    to a connection (a test's one transaction) is left as it is, and closed by ``end_read``."""
    bind = session.get_bind()
    if isinstance(bind, Engine):
        session.bind = read_only(bind)
        session.info[_READS_ONLY] = True
    return session


def open_read_session(app: Any) -> Session:
    """A new session of the application that only reads (the test's one session, when it runs
    in one); end it with ``end_read``."""
    single: Session | None = getattr(app.state, "single_session", None)
    if single is not None:
        return single
    return for_reading(app.state.sessionmaker())


def end_read(session: Session) -> None:
    """Close a session that only read (``for_reading``).

    On PostgreSQL its transaction, READ ONLY, ends by COMMIT, which has nothing to write. A
    ROLLBACK would make psycopg forget every statement it has prepared on the connection, and
    every read on a pooled connection was then parsed and planned anew: at an exam's start the
    reads' planning took more of the database's time than running them (docs/BENCHMARKS.md).
    Elsewhere (SQLite, whose prepared statements outlive a rollback) it rolls back, as closing
    does.
    """
    if (
        session.info.get(_READS_ONLY)
        and session.in_transaction()
        and session.get_bind().dialect.name == "postgresql"
    ):
        # What closing would drop anyway: nothing the reads loaded or changed is flushed.
        session.expunge_all()
        try:
            session.commit()
        except DBAPIError:
            # The reads are done and had nothing to write: a connection lost by now fails
            # no one (and must not end the reader thread that called this).
            log.warning("a read session's COMMIT failed", exc_info=True)
    session.close()


@contextmanager
def reading(factory: Callable[[], Session]) -> Iterator[Session]:
    """``with reading(sessionmaker) as db``: a new session that only reads, ended by
    ``end_read``, or closed if the block raises (a failed statement leaves the transaction
    nothing to commit)."""
    session = for_reading(factory())
    try:
        yield session
    except BaseException:
        session.close()
        raise
    end_read(session)


def get_db(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app, write=request.method not in SAFE_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


@contextmanager
def short_session(app: Any) -> Iterator[Session]:
    """A session of its own for a dependency's reads (``reading``), ended before the dependency
    returns."""
    opened: Session | None = getattr(app.state, "single_session", None)
    if opened is not None:  # an app run in one session (the tests: one rolled-back transaction)
        yield opened
        return
    with reading(app.state.sessionmaker) as session:
        yield session
