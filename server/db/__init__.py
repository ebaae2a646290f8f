"""Database plumbing: the declarative base, engine set-up and the per-request session."""

from server.db.base import Base, UTCDateTime, table_of, utcnow
from server.db.engine import create_db_engine, make_sessionmaker
from server.db.session import DbSession, get_db

__all__ = [
    "Base",
    "DbSession",
    "UTCDateTime",
    "create_db_engine",
    "get_db",
    "make_sessionmaker",
    "table_of",
    "utcnow",
]
