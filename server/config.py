"""One settings object for the whole server, read from ``EMTIHAN_*`` environment variables.

Secrets never live in the repository: when ``EMTIHAN_SECRET_KEY`` is not set, a random key is
generated once and kept in the instance folder (``var/`` by default), so sessions survive restarts.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.rules.grading import Rounding

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMTIHAN_", env_file=None, extra="ignore")

    instance_dir: Path = REPO_ROOT / "var"
    database_url: str = ""
    secret_key: str = ""
    redis_url: str = ""
    # Threads per process for the routes' blocking work (queries, templates). Each of them
    # competes with the event loop for the one interpreter lock. With the writer process, more
    # threads let more of 2,000 examinees open their paper (8: ~1,800, 16: all), but the busy
    # threads then slow the saves the loop forwards (save p99 10-27 s) and memory grows to
    # 680-750 MB; 4 keeps the saves fast (docs/BENCHMARKS.md). Fewer than 4 would let two slow
    # staff requests (an import, a PDF) hold up the exam's pages.
    threads: int = Field(default=4, ge=2, le=200)
    # Where the exam's hot writes (saves, sign-ins) run: "process", a writer process of each
    # server process, which holds SQLite's write lock for the work only; or "thread", a thread
    # of the server process, which waits for the interpreter after every statement while it holds
    # the lock (server.db.writer, docs/BENCHMARKS.md).
    writer: Literal["process", "thread"] = "process"

    # The university's clock: local dates (appeal day, schedules) are read in this zone.
    timezone: str = "Asia/Almaty"
    default_locale: str = "kk"

    # Argon2id parameters: see docs/SECURITY.md for the measurement behind them.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    # Browsers only send Secure cookies over HTTPS (or to localhost); keep it on in production.
    cookie_secure: bool = True
    session_max_age_seconds: int = 12 * 3600

    # Failed logins per login name within the window before further attempts are refused.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60

    grade_rounding: Rounding = Rounding.HALF_UP

    # The exam at the seat. An answer made by the deadline still counts when the network
    # delivers it within the grace; the grace never buys thinking time (rules.timing).
    transport_grace_seconds: float = Field(default=10.0, ge=0, le=120)
    # How often the server looks for attempts past their deadline and closes them.
    deadline_sweep_seconds: float = Field(default=1.0, gt=0, le=60)
    # Off only in tests that drive closing themselves on a shared transaction.
    deadline_sweeper: bool = True
    # Test configurations only: every attempt lasts this many seconds instead of the exam's
    # duration, so a browser test can watch the server close an attempt at its deadline.
    exam_duration_override_seconds: int | None = Field(default=None, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # The server's address as the workstations' browsers see it (https://exam.example.edu, plus
    # any path prefix a proxy strips). Safe Exam Browser hashes the absolute URL it requests;
    # behind a TLS proxy the request's own URL says http and the wrong host. Empty: use it anyway.
    public_base_url: str = ""
    # FastAPI's OpenTelemetry traces, metrics and logs, through the providers configured in the
    # environment (OTEL_*). Off unless IT staff run a collector: with it on, every request asks
    # whether a provider is configured, about 6 % of the event loop's request handling at an
    # exam's start.
    opentelemetry: bool = False

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_dir / 'emtihan.db'}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        key_file = self.instance_dir / "secret_key"
        if not key_file.exists():
            self.instance_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
