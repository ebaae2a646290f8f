"""The processes the bench measures: ``emtihan serve`` and the baseline, started, killed, sampled.

Each server runs in a process group of its own (uvicorn's ``--workers`` children included), so a
SIGKILL reaches every process of it and the memory of the whole group can be summed. A server
dies with the bench: the kernel kills it when the bench's process goes (PR_SET_PDEATHSIG). It
runs at a lower priority than the bench (``SERVER_NICENESS``), so the load generator keeps its
schedule when the server takes both cores.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.config import REPO_ROOT
from server.processes import die_with_parent

# The last line of a logged traceback: "sqlalchemy.exc.OperationalError: ...".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\w*: ")


class ServerError(RuntimeError):
    """A server did not start, or a database could not be prepared."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The servers run at a lower priority than the bench on the same two cores, so that the load
# generator wakes on time even when the server keeps both cores busy (its own lag is measured
# and judged; see report.generator_health). The server still gets every cycle the bench leaves.
SERVER_NICENESS = 5


def _prepare_child() -> None:
    die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(SERVER_NICENESS)


def raise_open_files_limit() -> None:
    """Thousands of examinees hold thousands of sockets, on both sides; children inherit it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def emtihan_command() -> str:
    script = Path(sys.executable).with_name("emtihan")
    if not script.exists():
        raise ServerError(f"{script} is missing: install the project (make install)")
    return str(script)


class ServerProcess:
    """One server command on a fixed port, restartable; its output appended to ``log_path``."""

    def __init__(
        self, *, name: str, command: Sequence[str], env: dict[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = env
        self.log_path = log_path
        self.port = int(self.command[self.command.index("--port") + 1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def exceptions(self) -> dict[str, int]:
        """The exceptions the server logged, by their last traceback line: why a request failed."""
        if not self.log_path.exists():
            return {}
        found: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if _EXCEPTION_LINE.match(line):
                found[line[:200]] += 1
        return dict(found.most_common(10))

    def log_tail(self, chars: int = 4000) -> str:
        text_ = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text_[-chars:]

    def start(self, timeout: float = 60) -> float:
        """Start and wait for ``/healthz``; the seconds it took."""
        began = time.monotonic()
        self.spawn()
        deadline = began + timeout
        while time.monotonic() < deadline:
            self.check_running()
            with (
                contextlib.suppress(OSError, urllib.error.HTTPError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return time.monotonic() - began
            time.sleep(0.05)
        self.kill()
        raise ServerError(f"{self.name} was not healthy within {timeout}s:\n" + self.log_tail())

    def spawn(self) -> None:
        """Start the process without waiting for it to serve.

        Call it from the main thread: the kernel's "die with the parent" follows the thread that
        forked, and a pool thread that ends would take the server with it.
        """
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603  (our own console script)
                self.command,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_prepare_child,
            )

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(
                f"{self.name} exited with {self.process.returncode}:\n" + self.log_tail()
            )

    def send_kill(self) -> None:
        """SIGKILL to the whole group without waiting (the caller reaps with ``wait``)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def wait(self) -> None:
        if self.process is not None:
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL to the whole group, as in a crash; returns once the main process is gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (uvicorn finishes what it is doing), SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.kill()


_TICKS = os.sysconf("SC_CLK_TCK")


def group_usage(pgid: int) -> tuple[int, dict[int, float]]:
    """Resident memory of every process in the group, summed (KiB), and each one's CPU seconds."""
    rss_kib = 0
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                # The command name may hold spaces: fields are counted after its closing ")".
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICKS
            with open(f"/proc/{entry.name}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        rss_kib += int(line.split()[1])
                        break
        except (OSError, IndexError, ValueError):
            continue
    return rss_kib, cpu


class ServerSampler:
    """Samples a server's process group every ``interval`` seconds in a thread.

    Keeps the peak of the group's summed resident memory, and the CPU time each process of the
    group has used (a process killed meanwhile keeps its last reading).
    """

    def __init__(self, pgid_of: Callable[[], int | None], interval: float = 0.2) -> None:
        self.pgid_of = pgid_of
        self.interval = interval
        self.peak_kib = 0
        self.cpu_by_pid: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="server-sampler", daemon=True)

    def sample(self) -> None:
        pgid = self.pgid_of()
        if pgid is not None:
            rss_kib, cpu = group_usage(pgid)
            self.peak_kib = max(self.peak_kib, rss_kib)
            self.cpu_by_pid.update(cpu)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> ServerSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kib / 1024, 1)

    def cpu_seconds(self) -> float:
        """CPU time of the server's processes so far (as of the last sample)."""
        return sum(self.cpu_by_pid.values())


@contextlib.contextmanager
def fresh_database(db: str, *, directory: Path, server_url: str | None) -> Iterator[str]:
    """An empty database for one run: a SQLite file, or a new database on a PostgreSQL server.

    A PostgreSQL database is created on the server ``server_url`` names (its role needs
    CREATEDB) and dropped afterwards, so nothing the bench seeds outlives it.
    """
    if db == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    if not server_url:
        raise ServerError(
            "--db postgresql needs --database-url or EMTIHAN_BENCH_DATABASE_URL "
            "(a PostgreSQL server on which the bench may create a database)"
        )
    name = f"emtihan_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception), admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
