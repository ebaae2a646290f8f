"""Passwords: argon2id at parameters measured on the lab server, stored as the SHA-256 of the key.

A password's *key* is its argon2id hash (32 bytes) with the account's salt at the stored costs.
The database keeps only the key's SHA-256, beside the salt and costs. A workstation's sign-in page
derives the key itself and sends it instead of the password, so at an exam's start the
workstations do argon2's work and the server checks a SHA-256 (docs/SECURITY.md, "Passwords").
Every other sign-in, and a page that cannot derive the key, sends the password and the server
derives the key. Either way a guess costs an attacker holding the database a full argon2id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from argon2 import Parameters, Type
from argon2.exceptions import HashingError, InvalidHashError
from argon2.low_level import ARGON2_VERSION

from server.auth.argon2_memory import argon2_memory
from server.config import get_settings

# A hash no password can match: accounts created by a roster import wait for the registrar to
# issue a first password.
UNUSABLE_PASSWORD = "!unusable"  # noqa: S105

# Verified against when the login name is unknown, so both paths cost the same time.
_DUMMY_PASSWORD = "Dummy#password1"  # noqa: S105


# Each argon2 run holds its memory (19 MiB at the defaults) and one core for its whole time. Run
# more at once than there are cores and they only share the cores, each finishing later, while
# the memory of all of them is held: at an exam's start 40 sign-ins would take ~800 MB. So they
# queue here, and each one that runs gets a core.
T = TypeVar("T")

_CORES = len(os.sched_getaffinity(0)) or 1
_ARGON2_SLOTS = threading.BoundedSemaphore(_CORES)


# The threads are free again as soon as a check returns. On AnyIO's limiter a token stayed
# taken until the event loop had taken the result back, and with the loop busy at an exam's start
# that was most of the time: of a sign-in's 16 s at 2,000 examinees, argon2 took 20 ms and the
# limiter the rest, with its threads idle (docs/BENCHMARKS.md).
_ARGON2_THREADS = ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="argon2")


async def in_argon2_thread(call: Callable[[], T]) -> T:
    """Run ``call``, which checks or hashes a password, on one of argon2's own threads.

    They are as many as the cores, and apart from the threads the routes share, so a queue of
    sign-ins waits here instead of holding the threads that the exam pages need. ``call`` runs
    in the request's context (its language).
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ARGON2_THREADS, contextvars.copy_context().run, call)


# The stored form: ``$emtihan-argon2id$v=19$m=19456,t=2,p=1$<salt>$<SHA-256 of the key>``, in the
# PHC string format's base64. Never the key itself: a page that derived the key signs in with it,
# so a stored key would be as good as the password to whoever read the database.
SCHEME = "emtihan-argon2id"
KEY_LENGTH = 32
_SALT_LENGTH = 16
_STORED = re.compile(
    rf"\${re.escape(SCHEME)}\$v=(?P<version>\d+)\$m=(?P<memory>\d{{1,7}}),t=(?P<time>\d{{1,3}}),"
    r"p=(?P<lanes>\d{1,3})\$(?P<salt>[A-Za-z0-9+/]{11,88})\$(?P<digest>[A-Za-z0-9+/]{43})"
)


@dataclass(frozen=True)
class KeyDerivation:
    """How a password's key is derived: argon2id with this salt at these costs."""

    salt: bytes
    memory_kib: int
    time_cost: int
    parallelism: int
    version: int = ARGON2_VERSION

    def as_json(self) -> dict[str, Any]:
        """What the sign-in page reads (``GET /seat/{token}/password-key``)."""
        return {
            "algorithm": "argon2id",
            "version": self.version,
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "memory_kib": self.memory_kib,
            "time_cost": self.time_cost,
            "parallelism": self.parallelism,
            "key_length": KEY_LENGTH,
        }

    @classmethod
    def of_json(cls, answer: dict[str, Any]) -> KeyDerivation:
        return cls(
            salt=base64.b64decode(answer["salt"]),
            memory_kib=int(answer["memory_kib"]),
            time_cost=int(answer["time_cost"]),
            parallelism=int(answer["parallelism"]),
            version=int(answer["version"]),
        )

    def parameters(self) -> Parameters:
        return Parameters(
            type=Type.ID,
            version=self.version,
            salt_len=len(self.salt),
            hash_len=KEY_LENGTH,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
        )


def _b64(raw: bytes) -> str:
    """The PHC string format's base64: standard alphabet, no padding."""
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def current_derivation(salt: bytes) -> KeyDerivation:
    """The costs new hashes are made at (``EMTIHAN_ARGON2_*``) with ``salt``."""
    settings = get_settings()
    return KeyDerivation(
        salt=salt,
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )


def derive_key(password: str, derivation: KeyDerivation) -> bytes:
    """argon2id: ~20 ms of a core at Emtihan's costs. Raises ``InvalidHashError`` when libargon2
    refuses the salt or costs."""
    try:
        with _ARGON2_SLOTS:
            return argon2_memory.run(password.encode(), derivation.salt, derivation.parameters())
    except HashingError as refused:
        raise InvalidHashError(str(derivation)) from refused


def key_digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def _stored_form(derivation: KeyDerivation, digest: bytes) -> str:
    return (
        f"${SCHEME}$v={derivation.version}"
        f"$m={derivation.memory_kib},t={derivation.time_cost},p={derivation.parallelism}"
        f"${_b64(derivation.salt)}${_b64(digest)}"
    )


def parse_hash(password_hash: str) -> tuple[KeyDerivation, bytes]:
    """The derivation and the key's digest a stored hash holds; ``InvalidHashError`` if it is
    not one."""
    found = _STORED.fullmatch(password_hash)
    if found is None:
        raise InvalidHashError(password_hash)
    try:
        salt, digest = _unb64(found["salt"]), _unb64(found["digest"])
    except (ValueError, binascii.Error) as malformed:
        raise InvalidHashError(password_hash) from malformed
    derivation = KeyDerivation(
        salt=salt,
        memory_kib=int(found["memory"]),
        time_cost=int(found["time"]),
        parallelism=int(found["lanes"]),
        version=int(found["version"]),
    )
    return derivation, digest


def hash_password(password: str, at: KeyDerivation | None = None) -> str:
    """The stored form of ``password``: at the current costs with a new salt, or ``at``."""
    derivation = at or current_derivation(os.urandom(_SALT_LENGTH))
    return _stored_form(derivation, key_digest(derive_key(password, derivation)))


@lru_cache(maxsize=1)
def _dummy() -> tuple[KeyDerivation, bytes]:
    """A hash no one has, checked against when there is no usable one (parsed once)."""
    return parse_hash(hash_password(_DUMMY_PASSWORD))


def _usable(password_hash: str | None) -> tuple[KeyDerivation, bytes] | None:
    if not password_hash or password_hash == UNUSABLE_PASSWORD:
        return None
    try:
        return parse_hash(password_hash)
    except InvalidHashError:
        return None


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made of: argon2id, then SHA-256. An
    unknown, unusable or corrupt hash costs the same argon2id, against a dummy."""
    stored = _usable(password_hash)
    derivation, digest = stored or _dummy()
    try:
        key = derive_key(password, derivation)
    except InvalidHashError:
        return False
    return hmac.compare_digest(key_digest(key), digest) and stored is not None


def verify_key(password_hash: str | None, key: bytes) -> bool:
    """Whether ``key`` is the key of the password ``password_hash`` was made of: one SHA-256.
    The page derived it with ``derivation_for``."""
    stored = _usable(password_hash)
    _, digest = stored or _dummy()
    return hmac.compare_digest(key_digest(key), digest) and stored is not None


def derivation_for(password_hash: str | None, *, login: str, secret: str) -> KeyDerivation:
    """What a sign-in page derives the key of ``login``'s password with.

    A login with no usable hash gets a salt made of the login and the server's secret, the same
    at every ask, and the current costs: the answer does not tell which logins exist.
    """
    stored = _usable(password_hash)
    if stored is not None:
        return stored[0]
    made_up = hmac.new(
        secret.encode(), b"emtihan.password-key-salt\x00" + login.encode(), hashlib.sha256
    ).digest()
    return current_derivation(made_up[:_SALT_LENGTH])


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made at other costs than the current ones."""
    stored = _usable(password_hash)
    if stored is None:
        return False
    derivation = stored[0]
    return derivation != current_derivation(derivation.salt)
