"""The real server in a process of its own, for browser tests and crash (kill -9) tests.

A pytest plugin (registered in tests/conftest.py). ``live_server`` is a factory fixture::

    def test_something(live_server: LiveServerFactory) -> None:
        server = live_server(env={"EMTIHAN_EXAM_DURATION_OVERRIDE_SECONDS": "20"})
        server.url                      # "http://127.0.0.1:<port>"
        server.kill(); server.start()   # kill -9, then up again on the same port and database

Each server gets a fresh database (a SQLite file, or a new database on the PostgreSQL cluster of
``make test``'s second pass), migrated and loaded with the real ``emtihan`` commands, and its own
instance folder; its output goes to ``server.log`` in the test's tmp dir and is attached to the
report of a failing test. Every process is gone when the test ends, however it ends.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from server.db import create_db_engine, make_sessionmaker

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "live-server-test-secret-key-not-for-production"
LOG_TAIL_CHARS = 20_000

# Test reports by phase, so a fixture's teardown can tell whether its test failed.
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


class LiveServerError(RuntimeError):
    """The server (or one of the commands that prepare its database) did not do its job."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _emtihan() -> str:
    # The console script of this venv, so the test runs exactly what an operator runs.
    script = Path(sys.executable).with_name("emtihan")
    if not script.exists():
        raise LiveServerError(f"{script} is missing: install the project (make install)")
    return str(script)


def _die_with_parent() -> None:
    # Runs in the child before exec: if pytest itself is killed (no finalizer runs), the kernel
    # sends the server SIGKILL instead of leaving it listening (Linux PR_SET_PDEATHSIG = 1).
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


class LiveServer:
    """One ``emtihan serve`` process on a fixed port and database, restartable."""

    def __init__(
        self,
        *,
        database_url: str,
        directory: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.directory = directory
        self.instance_dir = directory / "instance"
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / "server.log"
        self.port = port or free_port()
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """Everything the server and its commands printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def environment(self) -> dict[str, str]:
        # The parent's EMTIHAN_* (a developer's database, the test cluster's URL) must not leak
        # in; English, so the commands' output can be read in a failure report.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EMTIHAN_", "LC_"))}
        env.update(
            LANG="C.UTF-8",
            PYTHONUNBUFFERED="1",
            # Plain tracebacks: Typer's boxed ones are hard to read in a failure report.
            _TYPER_STANDARD_TRACEBACK="1",
            EMTIHAN_DATABASE_URL=self.database_url,
            EMTIHAN_INSTANCE_DIR=str(self.instance_dir),
            EMTIHAN_SECRET_KEY=SECRET_KEY,
            EMTIHAN_COOKIE_SECURE="false",
        )
        env.update(self.extra_env)
        return env

    def _note(self, line: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {line} ---\n")

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run ``emtihan ARGS`` against this server's database; its output, or an error."""
        self._note("emtihan " + " ".join(args))
        result = subprocess.run(
            [_emtihan(), *args],
            cwd=REPO_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with self.log_path.open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise LiveServerError(
                f"emtihan {' '.join(args)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the server's database, committed on success: seed data or inspect it."""
        engine = create_db_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as db:
                yield db
                db.commit()
        finally:
            engine.dispose()

    def start(self, timeout: float = 30) -> None:
        """Start ``emtihan serve`` and wait until ``/healthz`` answers 200."""
        if self.running:
            raise LiveServerError(f"the server at {self.url} is already running")
        self._note(f"emtihan serve --port {self.port}")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [_emtihan(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO_ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a signal meant for it never reaches pytest, and
                # killpg takes anything it may have spawned.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        _running.add(self)
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                _running.discard(self)
                raise LiveServerError(f"the server exited with {code} while starting:\n{self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
                    last_problem = f"/healthz answered {answer.status}"
            except urllib.error.HTTPError as error:
                last_problem = f"/healthz answered {error.code}"
            except OSError as error:
                last_problem = str(error)
            time.sleep(0.1)
        self.kill()
        raise LiveServerError(
            f"the server at {self.url} was not healthy within {timeout}s ({last_problem}):\n"
            f"{self.log}"
        )

    def stop(self, timeout: float = 10) -> None:
        """Shut down gracefully (SIGTERM); SIGKILL if it does not finish within ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._note("SIGTERM")
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._note(f"still running after {timeout}s")
                self.kill()
                return
        self._reaped()

    def kill(self) -> None:
        """SIGKILL, as in a crash: no shutdown code runs. Returns once the process is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._note("SIGKILL")
            self._signal(signal.SIGKILL)
            self.process.wait()
        self._reaped()

    def restart(self, timeout: float = 30) -> None:
        """Stop gracefully and start again on the same port and database."""
        self.stop()
        self.start(timeout)

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _reaped(self) -> None:
        # The group may hold children (uvicorn --workers); none may outlive the server.
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        _running.discard(self)


# Servers still up, killed at interpreter exit when a test run is interrupted (Ctrl-C).
_running: set[LiveServer] = set()


def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()


class LiveServerFactory:
    """Makes prepared, started servers and stops them all on ``close()``."""

    def __init__(self, *, directory: Path, fresh_database_url: Callable[[], str]) -> None:
        self.directory = directory
        self.fresh_database_url = fresh_database_url
        self.servers: list[LiveServer] = []

    def __call__(
        self,
        *,
        demo: bool = True,
        demo_starts_in: int | None = 300,
        env: Mapping[str, str] | None = None,
        start: bool = True,
    ) -> LiveServer:
        """A server on a fresh, migrated database; with the demo term unless ``demo=False``.

        ``demo_starts_in``: seconds from now to the demo exam's start (``emtihan demo
        --starts-in``); the default 300 opens its check-in at once. ``None`` is the demo's
        usual quarter of an hour. ``start=False`` returns it prepared but not yet started, for
        a test that seeds more data through ``server.session()`` first.
        """
        server = LiveServer(
            database_url=self.fresh_database_url(),
            directory=self.directory / f"server-{len(self.servers) + 1}",
            env=env,
        )
        self.servers.append(server)
        server.cli("db", "upgrade")
        if demo:
            args = ["demo", f"--base-url={server.url}"]
            if demo_starts_in is not None:
                args.append(f"--starts-in={demo_starts_in}")
            server.cli(*args)
        if start:
            server.start()
        return server

    def close(self, *, failed: bool = False) -> None:
        # After a failure, kill at once: the database and log stay as the test left them.
        for server in self.servers:
            if failed:
                server.kill()
            else:
                server.stop()


def has_failed(node: pytest.Item) -> bool:
    """Whether any phase of this test (setup, call) has failed so far."""
    reports = node.stash.get(REPORTS, {})
    return any(report.failed for report in reports.values())


def _servers_of(item: pytest.Item) -> list[LiveServer]:
    # Whatever the test holds: a factory (function or module scoped) or a server fixture.
    found: list[LiveServer] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, LiveServerFactory):
            found.extend(s for s in value.servers if s not in found)
        elif isinstance(value, LiveServer) and value not in found:
            found.append(value)
    return found


def _attach_logs(item: pytest.Item, report: pytest.TestReport) -> None:
    for number, server in enumerate(_servers_of(item), start=1):
        text = server.log
        if len(text) > LOG_TAIL_CHARS:
            text = "[…]\n" + text[-LOG_TAIL_CHARS:]
        report.sections.append((f"live server {number} log ({server.log_path})", text))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    if report.failed and report.when != "teardown":
        _attach_logs(item, report)
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    _kill_leftovers()


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest, tmp_path: Path, fresh_database_url: Callable[[], str]
) -> Iterator[LiveServerFactory]:
    """Start real servers for this test: ``live_server(demo_starts_in=..., env={...})``."""
    factory = LiveServerFactory(directory=tmp_path, fresh_database_url=fresh_database_url)
    try:
        yield factory
    finally:
        factory.close(failed=has_failed(request.node))


@pytest.fixture(scope="module")
def module_live_server(
    tmp_path_factory: pytest.TempPathFactory, fresh_database_url: Callable[[], str]
) -> Iterator[LiveServerFactory]:
    """``live_server`` for a whole module: for tests whose writes do not disturb each other."""
    factory = LiveServerFactory(
        directory=tmp_path_factory.mktemp("live"), fresh_database_url=fresh_database_url
    )
    try:
        yield factory
    finally:
        factory.close()
