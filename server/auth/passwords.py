"""Password hashing with argon2id at parameters measured on the lab server (docs/SECURITY.md)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hmac
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from typing import TypeVar

from argon2 import Parameters, PasswordHasher, extract_parameters
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


def _b64(raw: bytes) -> str:
    """The PHC string format's base64: standard alphabet, no padding."""
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32
    )


def hasher() -> PasswordHasher:
    settings = get_settings()
    return _hasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )


def hash_password(password: str) -> str:
    """A PHC string as argon2-cffi writes it, at the parameters of ``hasher()``, so that its
    ``check_needs_rehash`` reads it as its own."""
    current = hasher()
    parameters = Parameters(
        type=current.type,
        version=ARGON2_VERSION,
        salt_len=current.salt_len,
        hash_len=current.hash_len,
        time_cost=current.time_cost,
        memory_cost=current.memory_cost,
        parallelism=current.parallelism,
    )
    salt = os.urandom(parameters.salt_len)
    with _ARGON2_SLOTS:
        raw = argon2_memory.run(password.encode(), salt, parameters)
    return (
        f"$argon2{parameters.type.name.lower()}$v={parameters.version}"
        f"$m={parameters.memory_cost},t={parameters.time_cost},p={parameters.parallelism}"
        f"${_b64(salt)}${_b64(raw)}"
    )


def _verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made of.

    Raises ``InvalidHashError`` when ``password_hash`` is not an argon2 hash.
    """
    parameters = extract_parameters(password_hash)
    try:
        *_, salt_text, raw_text = password_hash.split("$")
        salt, expected = _unb64(salt_text), _unb64(raw_text)
    except (ValueError, binascii.Error) as malformed:
        raise InvalidHashError(password_hash) from malformed
    parameters = replace(parameters, hash_len=len(expected))
    try:
        with _ARGON2_SLOTS:
            raw = argon2_memory.run(password.encode(), salt, parameters)
    except HashingError as refused:  # libargon2 refused the stored salt, length or costs
        raise InvalidHashError(password_hash) from refused
    return hmac.compare_digest(raw, expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(_DUMMY_PASSWORD)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash or password_hash == UNUSABLE_PASSWORD:
        _verify(_dummy_hash(), password)
        return False
    try:
        return _verify(password_hash, password)
    except InvalidHashError:
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
