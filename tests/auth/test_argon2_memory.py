"""argon2 in lent buffers computes what libargon2 computes on its own, and keeps no trace."""

from __future__ import annotations

import hashlib
import threading

import pytest
from argon2 import Parameters, PasswordHasher, Type
from argon2.low_level import ARGON2_VERSION, hash_secret_raw

from server.auth.argon2_memory import Argon2Memory
from server.auth.passwords import hash_password, needs_rehash, parse_hash, verify_password


def _parameters(memory: int, time: int, lanes: int, kind: Type = Type.ID) -> Parameters:
    return Parameters(
        type=kind,
        version=ARGON2_VERSION,
        salt_len=16,
        hash_len=32,
        time_cost=time,
        memory_cost=memory,
        parallelism=lanes,
    )


@pytest.mark.parametrize(
    ("memory", "time", "lanes", "kind"),
    [
        (8, 1, 1, Type.ID),  # the least libargon2 takes for one lane
        (16, 1, 2, Type.ID),  # the least for two lanes
        (27, 2, 3, Type.ID),  # not a whole number of segments: rounded down to 24
        (19456, 2, 1, Type.ID),  # Emtihan's parameters
        (65536, 3, 4, Type.ID),  # argon2-cffi's defaults
        (1024, 2, 1, Type.I),
        (1024, 2, 1, Type.D),
    ],
)
def test_raw_hash_equals_libargon2_s_own(memory: int, time: int, lanes: int, kind: Type) -> None:
    salt = b"sixteen byte sal"
    expected = hash_secret_raw(
        b"Some#Password1",
        salt,
        time_cost=time,
        memory_cost=memory,
        parallelism=lanes,
        hash_len=32,
        type=kind,
    )
    pool = Argon2Memory()
    assert pool.run(b"Some#Password1", salt, _parameters(memory, time, lanes, kind)) == expected


def test_the_buffer_is_wiped_and_kept_for_the_next_hash() -> None:
    pool = Argon2Memory()
    pool.run(b"Some#Password1", b"sixteen byte sal", _parameters(1024, 2, 1))
    assert pool.buffers() == 1
    (buffer,) = pool._idle
    assert buffer.mapping[:] == bytes(buffer.size)  # libargon2 zeroed it before giving it back
    pool.run(b"Other#Password2", b"sixteen byte sal", _parameters(1024, 2, 1))
    assert pool._idle == [buffer]


def test_a_larger_memory_cost_replaces_a_smaller_buffer() -> None:
    pool = Argon2Memory()
    pool.run(b"pw", b"sixteen byte sal", _parameters(64, 1, 1))
    pool.run(b"pw", b"sixteen byte sal", _parameters(2048, 1, 1))
    assert [buffer.size for buffer in pool._idle] == [2048 * 1024]


def test_hashes_at_once_each_get_a_buffer_of_their_own() -> None:
    pool = Argon2Memory()
    parameters = _parameters(4096, 2, 1)
    salt = b"sixteen byte sal"
    passwords = [f"Password#{n}".encode() for n in range(8)]
    expected = {
        password: hash_secret_raw(
            password, salt, time_cost=2, memory_cost=4096, parallelism=1, hash_len=32, type=Type.ID
        )
        for password in passwords
    }
    got: dict[bytes, bytes] = {}
    start = threading.Barrier(4)

    def hash_two(mine: list[bytes]) -> None:
        start.wait()
        for password in mine:
            got[password] = pool.run(password, salt, parameters)

    threads = [threading.Thread(target=hash_two, args=(passwords[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == expected
    assert 1 <= pool.buffers() <= 4


def test_a_stored_hash_holds_the_sha256_of_libargon2_s_own_hash() -> None:
    ours = hash_password("Some#Password1")
    derivation, digest = parse_hash(ours)
    key = hash_secret_raw(
        b"Some#Password1",
        derivation.salt,
        time_cost=2,
        memory_cost=19456,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    assert digest == hashlib.sha256(key).digest()
    assert not needs_rehash(ours)
    assert verify_password(ours, "Some#Password1")
    assert not verify_password(ours, "Some#Password2")


@pytest.mark.parametrize(
    "corrupt",
    [
        "$emtihan-argon2id$v=19$m=19456,t=2,p=1$!!notbase64!!$" + "A" * 43,
        "$emtihan-argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNhbA",
        "$emtihan-argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNhbA$A",
        "$emtihan-argon2id$v=19$m=19456,t=2,p=1$$",
        "$emtihan-argon2id$v=19$m=1,t=2,p=1$c2l4dGVlbiBieXRlIHNhbA$"
        + "A" * 43,  # libargon2 refuses
        # the form before keys were derived on the workstation: the key itself, never accepted
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("anything"),
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
    ],
)
def test_corrupt_hashes_never_match(corrupt: str) -> None:
    assert not verify_password(corrupt, "anything")


def test_without_executable_memory_libargon2_takes_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from _argon2_cffi_bindings import ffi

    from server.auth import argon2_memory

    class Forbidding:
        """cffi where the system refuses to make memory executable."""

        NULL = ffi.NULL

        def callback(self, *_: object) -> object:
            raise MemoryError("Cannot allocate write+execute memory for ffi.callback()")

    monkeypatch.setattr(argon2_memory, "ffi", Forbidding())
    allocate, give_back = argon2_memory._callbacks()
    assert allocate == ffi.NULL
    assert give_back == ffi.NULL
    monkeypatch.undo()

    monkeypatch.setattr(argon2_memory, "_ALLOCATE", ffi.NULL)
    monkeypatch.setattr(argon2_memory, "_GIVE_BACK", ffi.NULL)
    pool = Argon2Memory()
    salt = b"sixteen byte sal"
    expected = hash_secret_raw(
        b"pw", salt, time_cost=2, memory_cost=1024, parallelism=1, hash_len=32, type=Type.ID
    )
    assert pool.run(b"pw", salt, _parameters(1024, 2, 1)) == expected
    assert pool.buffers() == 0
