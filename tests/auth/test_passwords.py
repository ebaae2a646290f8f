"""Hashes use argon2id at the measured parameters (docs/SECURITY.md)."""

from __future__ import annotations

from server.auth.passwords import UNUSABLE_PASSWORD, hash_password, verify_password


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
