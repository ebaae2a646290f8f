"""The server process's cycle collector: its startup objects frozen, the young collected later."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from server.collector import YOUNG_THRESHOLD, collector_settled

# Run in a process of its own: frozen objects never go, and the test session's must.
PROBE = """
import gc, json
before = gc.get_threshold()
import server.app  # the application's modules, as the server process has them
from server.collector import settle_collector
settle_collector()
garbage = []
garbage.append(garbage)  # a cycle made after the freeze
del garbage
print(json.dumps({
    "before": before,
    "after": gc.get_threshold(),
    "frozen": gc.get_freeze_count(),
    "collected": gc.collect(),
}))
"""


def test_the_startup_objects_are_frozen_and_the_young_collected_later() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    probe = json.loads(result.stdout)
    assert probe["before"][0] == 700  # CPython's default
    assert probe["after"] == [YOUNG_THRESHOLD, probe["before"][1], probe["before"][2]]
    assert probe["frozen"] > 50_000  # the application's modules, not a handful
    assert probe["collected"] >= 1  # cycles made afterwards are still collected


def test_the_server_entry_point_settles_the_collector(tmp_path: Path) -> None:
    # What uvicorn imports in every worker process.
    probe = (
        "import gc, json, server.main; "
        "print(json.dumps([gc.get_threshold()[0], gc.get_freeze_count()]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMTIHAN_")}
    env.update(EMTIHAN_INSTANCE_DIR=str(tmp_path), EMTIHAN_SECRET_KEY="collector-test-key")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    threshold, frozen = json.loads(result.stdout.splitlines()[-1])
    assert threshold == YOUNG_THRESHOLD
    assert frozen > 50_000


def test_a_settled_phase_gives_the_collector_back_as_it_was() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    with collector_settled():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
        garbage: list[object] = []
        garbage.append(garbage)
        del garbage
        assert gc.collect() >= 1
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
