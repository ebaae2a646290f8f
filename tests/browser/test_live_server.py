"""The live-server harness itself: a killed server is gone, a restarted one keeps its data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from server.auth.cookies import CSRF_COOKIE
from server.models import LoginFailure
from tests.support.live_server import LiveServer, LiveServerError, LiveServerFactory

REPO_ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    # A zombie no one has reaped yet holds no port and runs no code: it counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _fail_a_sign_in(server: LiveServer) -> None:
    """One failed sign-in: the server writes a LoginFailure row (and an audit entry)."""
    with httpx.Client(base_url=server.url) as browser:
        browser.get("/login")
        answer = browser.post(
            "/login",
            data={
                "login": "S25001",
                "password": "Wrong#1pass",
                "csrf_token": browser.cookies[CSRF_COOKIE],
            },
        )
    assert answer.status_code == 401


def _failures(server: LiveServer) -> int:
    with server.session() as db:
        return db.execute(select(func.count()).select_from(LoginFailure)).scalar_one()


def test_kill_leaves_no_process_and_start_resumes_on_the_same_port_and_data(
    live_server: LiveServerFactory,
) -> None:
    server = live_server(demo=False)
    url = server.url
    _fail_a_sign_in(server)
    assert server.process is not None
    pid = server.process.pid

    server.kill()
    assert _gone(pid)
    assert _refused(server.port)
    assert "SIGKILL" in server.log

    server.start()
    assert server.url == url
    # What the killed server committed is there; the restarted server writes on top of it.
    assert _failures(server) == 1
    _fail_a_sign_in(server)
    assert _failures(server) == 2


def test_restart_keeps_the_port_and_the_data(live_server: LiveServerFactory) -> None:
    server = live_server(demo=False)
    port = server.port
    _fail_a_sign_in(server)
    server.restart()
    assert server.port == port
    assert "Shutting down" in server.log  # graceful: uvicorn ran its shutdown
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert _failures(server) == 1


def test_a_server_that_cannot_start_reports_its_log(live_server: LiveServerFactory) -> None:
    server = live_server(demo=False, start=False)
    server.extra_env["EMTIHAN_GRADE_ROUNDING"] = "sideways"
    with pytest.raises(LiveServerError) as failure:
        server.start(timeout=20)
    assert "exited with" in str(failure.value)
    assert "grade_rounding" in str(failure.value)
    assert not server.running


def test_a_server_dies_with_the_test_process_that_started_it(tmp_path: Path) -> None:
    """Even a test run killed with SIGKILL, whose finalizers never run, leaves no server."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tests.support.live_server import LiveServer\n"
        f"server = LiveServer(database_url='sqlite:///{tmp_path}/x.db',\n"
        "                    directory=Path(sys.argv[1]))\n"
        "server.cli('db', 'upgrade')\n"
        "server.start()\n"
        "print(server.process.pid, server.port, flush=True)\n"
        "time.sleep(120)\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        pid, port = (int(word) for word in runner.stdout.readline().split())
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        # The main thread turns zombie first; the port closes once the last thread is gone.
        deadline = time.monotonic() + 10
        while not (_gone(pid) and _refused(port)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid)
        assert _refused(port)
    finally:
        runner.kill()
        runner.wait()
        if runner.stdout is not None:
            runner.stdout.close()
