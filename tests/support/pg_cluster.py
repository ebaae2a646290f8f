"""A throwaway PostgreSQL cluster on loopback, for running the test suite against PostgreSQL.

    python -m tests.support.pg_cluster run -- python -m pytest

starts a fresh cluster from the installed server binaries in a temporary folder, runs the
command with ``EMTIHAN_TEST_DATABASE_URL`` pointing at it, then stops and deletes the cluster.
``EMTIHAN_PG_OPTIONS`` adds server settings (``-c name=value ...``).
Missing binaries are an error with the install command, never a silent skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found.\n"
    "Install them, e.g. on Debian/Ubuntu: apt-get update && apt-get install -y postgresql\n"
    "or set EMTIHAN_PG_BINDIR to the folder that holds initdb and pg_ctl."
)


def find_bindir() -> Path | None:
    candidates = []
    if os.environ.get("EMTIHAN_PG_BINDIR"):
        candidates.append(os.environ["EMTIHAN_PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, so hand the cluster to "postgres".
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def cluster() -> Iterator[str]:
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(INSTALL_HINT)
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise SystemExit(
                "running as root needs the 'postgres' system user "
                "(created by the postgresql package)"
            ) from None
        owner = "postgres"
    base = Path(tempfile.mkdtemp(prefix="emtihan-pg-"))
    data = base / "data"
    if owner:
        shutil.chown(base, user=owner)
    port = _free_port()
    log = base / "server.log"
    try:
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                owner,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c max_connections=200"
        # More server settings for a measurement, e.g. pg_stat_statements (docs/BENCHMARKS.md).
        options = f"{options} {os.environ.get('EMTIHAN_PG_OPTIONS', '')}".strip()
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                owner,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_owner(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                    owner,
                ),
                check=False,
                stdout=subprocess.DEVNULL,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print("usage: python -m tests.support.pg_cluster run -- COMMAND...", file=sys.stderr)
        return 2
    with cluster() as url:
        print(f"PostgreSQL test cluster at {url}", flush=True)
        env = {**os.environ, "EMTIHAN_TEST_DATABASE_URL": url}
        return subprocess.run(list(argv[2:]), env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
