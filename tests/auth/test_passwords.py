"""Hashes use argon2id at the measured parameters (docs/SECURITY.md)."""

from __future__ import annotations

import threading

from server.auth.passwords import (
    UNUSABLE_PASSWORD,
    hash_password,
    in_argon2_thread,
    verify_password,
)
from server.i18n import get_locale, set_locale
from tests.support.aio import run_on_own_thread


def test_hash_is_argon2id_at_owasp_minimum_or_stronger() -> None:
    encoded = hash_password("Some#Password1")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify_accepts_only_the_password() -> None:
    encoded = hash_password("Some#Password1")
    assert verify_password(encoded, "Some#Password1")
    assert not verify_password(encoded, "some#Password1")
    assert not verify_password(encoded, "")


def test_unusable_and_corrupt_hashes_never_match() -> None:
    assert not verify_password(UNUSABLE_PASSWORD, UNUSABLE_PASSWORD)
    assert not verify_password(None, "anything")
    assert not verify_password("$argon2id$garbage", "anything")


def test_argon2_threads_run_a_check_in_the_request_s_context() -> None:
    def where_and_language() -> tuple[str, str]:
        return threading.current_thread().name, get_locale()

    async def as_a_request() -> tuple[str, str]:
        set_locale("ru")  # what the request's middleware chose
        return await in_argon2_thread(where_and_language)

    thread, language = run_on_own_thread(as_a_request())
    assert thread.startswith("argon2")
    assert language == "ru"
