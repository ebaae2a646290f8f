"""The ASGI entry point for uvicorn: ``server.main:app``, imported by every worker process."""

import sys

from server.app import create_app
from server.collector import settle_collector
from server.heap import keep_heap_small

keep_heap_small()

# A thread that waits for the GIL (after a query, whose SQLite call released it) waits until
# the holder has run this long. At the default 5 ms, a request holding SQLite's write lock
# needs ten or so such hand-overs while the threads rendering papers take turns between them,
# and at an exam's start the writes fell to ~20 a second. 0.5 ms costs a few more switches.
sys.setswitchinterval(0.0005)

app = create_app()

# Last: what the application is made of is built now (server.collector).
settle_collector()
