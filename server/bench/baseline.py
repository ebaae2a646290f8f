"""The baseline: what the database allows, one INSERT + COMMIT per request, nothing else.

Not a route of the product: a separate ASGI app that the bench serves with the same uvicorn
settings as ``emtihan serve`` (workers, proxy headers) on the same database URL, through the same
engine (``create_db_engine``: WAL, ``synchronous=FULL``, the write lock taken at ``BEGIN``) and
the same request shape as the server's writes (a sync route in FastAPI's thread pool, a session,
one commit before the answer). The bench's ``save_ratio`` is the server's save throughput over
this one's: how much of the database's capacity a save leaves unused.

    python -m server.bench.baseline --port 8001 [--workers 1]

The table ``bench_baseline`` is made by the bench (``create_table``), not by Alembic: it exists
only in the bench's throwaway database.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, String, Table, insert

from server.db import UTCDateTime, create_db_engine, make_sessionmaker, utcnow
from server.db.engine import WRITE_INTENT

DATABASE_URL_ENV = "EMTIHAN_DATABASE_URL"

metadata = MetaData()
bench_baseline = Table(
    "bench_baseline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


def create_table(engine: Engine) -> None:
    metadata.create_all(engine)


class InsertRequest(BaseModel):
    client: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1)
    answer: list[int] = Field(max_length=64)


def create_app() -> FastAPI:
    engine = create_db_engine(os.environ[DATABASE_URL_ENV])
    sessions = make_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/insert")
    def insert_row(body: InsertRequest) -> JSONResponse:
        now: datetime = utcnow()
        with sessions() as session:
            session.connection(execution_options={WRITE_INTENT: True})
            session.execute(
                insert(bench_baseline).values(
                    client=body.client, seq=body.seq, payload=body.answer, created_at=now
                )
            )
            session.commit()
        return JSONResponse({"status": "saved", "seq": body.seq})

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="The bench's baseline: one INSERT + COMMIT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # The settings of ``emtihan serve`` (server/cli.py), so only the application differs.
    uvicorn.run(
        "server.bench.baseline:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


if __name__ == "__main__":
    main()
