"""The server closes attempts at their deadline by itself, whatever the browsers do (R 4.4).

One loop per server process. Closing is a conditional update (``closing.close``), so several
processes sweeping the same database close each attempt once.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from server.db import utcnow
from server.db.engine import WRITE_INTENT
from server.db.session import reading
from server.seat.closing import close_expired, expired

log = logging.getLogger(__name__)


def sweep_once(app: FastAPI) -> int:
    """Close what is due; the number of attempts this call closed."""
    settings = app.state.settings
    with reading(app.state.sessionmaker) as db:
        # A read first: most sweeps find nothing and should not take the write lock.
        if not expired(db, settings, now=utcnow()):
            return 0
    with app.state.sessionmaker() as db:
        db.connection(execution_options={WRITE_INTENT: True})
        closed = close_expired(db, settings, now=utcnow())
        db.commit()
        return closed


async def deadline_sweeper(app: FastAPI) -> None:
    interval = app.state.settings.deadline_sweep_seconds
    while True:
        try:
            closed = await asyncio.to_thread(sweep_once, app)
            if closed:
                log.info("closed %d attempt(s) at their deadline", closed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed sweep (database restarting, say) must not end the loop: the next one
            # closes what this one could not.
            log.exception("deadline sweep failed")
        await asyncio.sleep(interval)
