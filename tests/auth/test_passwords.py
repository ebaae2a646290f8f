"""Hashes use argon2id at the measured parameters and keep only the key's SHA-256
(docs/SECURITY.md)."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher

from server.auth.passwords import (
    KEY_LENGTH,
    UNUSABLE_PASSWORD,
    KeyDerivation,
    current_derivation,
    derivation_for,
    derive_key,
    hash_password,
    in_argon2_thread,
    needs_rehash,
    parse_hash,
    verify_key,
    verify_password,
)
from server.config import Settings
from server.i18n import get_locale, set_locale
from tests.support.aio import run_on_own_thread

PASSWORD = "Some#Password1"
SECRET = "server-secret"


def test_hash_is_argon2id_at_owasp_minimum_or_stronger() -> None:
    encoded = hash_password(PASSWORD)
    assert encoded.startswith("$emtihan-argon2id$v=19$m=19456,t=2,p=1$")
    derivation, digest = parse_hash(encoded)
    assert len(derivation.salt) == 16
    assert len(digest) == 32


def test_two_hashes_of_one_password_differ_by_their_salt() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert parse_hash(first)[0].salt != parse_hash(second)[0].salt
    assert first != second


def test_verify_accepts_only_the_password() -> None:
    encoded = hash_password(PASSWORD)
    assert verify_password(encoded, PASSWORD)
    assert not verify_password(encoded, "some#Password1")
    assert not verify_password(encoded, "")


def test_unusable_and_corrupt_hashes_never_match() -> None:
    assert not verify_password(UNUSABLE_PASSWORD, UNUSABLE_PASSWORD)
    assert not verify_password(None, "anything")
    assert not verify_password("$emtihan-argon2id$garbage", "anything")


@pytest.fixture(scope="module")
def stored() -> tuple[str, bytes]:
    """A hash and the key the sign-in page would derive from its password."""
    encoded = hash_password(PASSWORD)
    return encoded, derive_key(PASSWORD, parse_hash(encoded)[0])


def test_the_key_is_32_bytes_and_its_sha256_is_what_is_stored(stored: tuple[str, bytes]) -> None:
    encoded, key = stored
    assert len(key) == KEY_LENGTH
    assert parse_hash(encoded)[1] == hashlib.sha256(key).digest()


@pytest.mark.parametrize(
    ("make_key", "accepted"),
    [
        pytest.param(lambda key: key, True, id="the-key"),
        pytest.param(lambda key: bytes([key[0] ^ 1]) + key[1:], False, id="one-bit-off"),
        pytest.param(lambda key: key[:-1], False, id="one-byte-short"),
        pytest.param(lambda key: key + b"\0", False, id="one-byte-long"),
        pytest.param(lambda key: b"", False, id="empty"),
        pytest.param(lambda key: hashlib.sha256(key).digest(), False, id="the-stored-digest"),
    ],
)
def test_verify_key_accepts_only_the_key(
    stored: tuple[str, bytes], make_key: Callable[[bytes], bytes], accepted: bool
) -> None:
    encoded, key = stored
    assert verify_key(encoded, make_key(key)) is accepted


def test_a_key_derived_from_another_password_or_salt_is_refused(stored: tuple[str, bytes]) -> None:
    encoded, _ = stored
    derivation = parse_hash(encoded)[0]
    assert not verify_key(encoded, derive_key("Other#Password1", derivation))
    other_salt = current_derivation(bytes(16))
    assert not verify_key(encoded, derive_key(PASSWORD, other_salt))


def test_a_stored_key_from_before_is_no_key() -> None:
    """The form argon2-cffi writes holds the key itself: it must never sign anyone in."""
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32).hash(PASSWORD)
    raw = old.rsplit("$", 1)[1]
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    assert not verify_key(old, key)
    assert not verify_password(old, PASSWORD)


@pytest.mark.parametrize("password_hash", [None, UNUSABLE_PASSWORD, "$emtihan-argon2id$broken"])
def test_no_key_opens_an_account_without_a_usable_hash(password_hash: str | None) -> None:
    made_up = derivation_for(password_hash, login="240101001", secret=SECRET)
    assert not verify_key(password_hash, derive_key(PASSWORD, made_up))


def test_the_derivation_of_a_known_login_is_its_stored_one(stored: tuple[str, bytes]) -> None:
    encoded, _ = stored
    assert derivation_for(encoded, login="240101001", secret=SECRET) == parse_hash(encoded)[0]


def test_an_unknown_login_gets_the_same_made_up_derivation_at_every_ask() -> None:
    first = derivation_for(None, login="240101001", secret=SECRET)
    assert first == derivation_for(None, login="240101001", secret=SECRET)
    assert first == derivation_for(UNUSABLE_PASSWORD, login="240101001", secret=SECRET)
    assert first.salt != derivation_for(None, login="240101002", secret=SECRET).salt
    assert first.salt != derivation_for(None, login="240101001", secret="other").salt
    # Shaped like a real one: sixteen bytes of salt, the current costs.
    assert first == current_derivation(first.salt)
    assert len(first.salt) == 16


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "parallelism", "rehash"),
    [
        (19456, 2, 1, False),
        (19455, 2, 1, True),
        (19456, 1, 1, True),
        (19456, 2, 2, True),
        (65536, 3, 4, True),
    ],
)
def test_a_hash_at_other_costs_needs_rehashing(
    memory_kib: int, time_cost: int, parallelism: int, rehash: bool
) -> None:
    derivation = KeyDerivation(
        salt=bytes(16), memory_kib=memory_kib, time_cost=time_cost, parallelism=parallelism
    )
    encoded = hash_password(PASSWORD)
    salt_and_digest = encoded.split("$", 4)[4]
    costs = f"m={derivation.memory_kib},t={derivation.time_cost},p={derivation.parallelism}"
    assert needs_rehash(f"$emtihan-argon2id$v=19${costs}${salt_and_digest}") is rehash


def test_current_derivation_follows_the_settings(settings: Settings) -> None:
    derivation = current_derivation(bytes(16))
    assert (derivation.memory_kib, derivation.time_cost, derivation.parallelism) == (
        settings.argon2_memory_kib,
        settings.argon2_time_cost,
        settings.argon2_parallelism,
    )


def test_argon2_threads_run_a_check_in_the_request_s_context() -> None:
    def where_and_language() -> tuple[str, str]:
        return threading.current_thread().name, get_locale()

    async def as_a_request() -> tuple[str, str]:
        set_locale("ru")  # what the request's middleware chose
        return await in_argon2_thread(where_and_language)

    thread, language = run_on_own_thread(as_a_request())
    assert thread.startswith("argon2")
    assert language == "ru"


def test_a_derivation_survives_the_page_s_json(stored: tuple[str, bytes]) -> None:
    derivation = parse_hash(stored[0])[0]
    answer = derivation.as_json()
    assert answer["algorithm"] == "argon2id"
    assert answer["key_length"] == KEY_LENGTH
    assert KeyDerivation.of_json(answer) == derivation
