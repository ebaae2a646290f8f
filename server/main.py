"""The ASGI entry point for uvicorn: ``server.main:app``, imported by every worker process."""

from server.app import create_app
from server.collector import settle_collector
from server.heap import keep_heap_small
from server.processes import short_interpreter_turns

keep_heap_small()
short_interpreter_turns()

app = create_app()

# Last: what the application is made of is built now (server.collector).
settle_collector()
