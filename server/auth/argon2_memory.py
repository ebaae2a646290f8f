"""argon2's working memory: a few buffers made once and lent to each hash in turn.

argon2id at Emtihan's parameters works in 19 MiB (docs/SECURITY.md). Left to libargon2, each
hash takes it from ``malloc`` and frees it afterwards, and glibc then keeps it: a block that size
is first given its own mapping, but freeing one raises glibc's threshold for mappings, and from
then on the 19 MiB, and every smaller block of every thread, stay in glibc's heaps once freed.
At 2,000 examinees that was ~100 MB of the server's memory (docs/BENCHMARKS.md). With glibc told
to map large blocks and return them (``server.heap``), each hash would map and fault in 19 MiB
anew: 50 % slower. So argon2 gets memory of its own: at most one buffer per hash that may run at
once (``server.auth.passwords`` lets as many run as there are cores), each mapped once and lent
through libargon2's allocation callbacks.

libargon2 wipes the memory before it hands it back (``clear_internal_memory``), so no password's
trace stays in a buffer between hashes.
"""

from __future__ import annotations

import logging
import mmap
import threading
from typing import Any

from _argon2_cffi_bindings import ffi, lib  # argon2-cffi's own binding of libargon2
from argon2 import Parameters
from argon2.exceptions import HashingError

logger = logging.getLogger(__name__)

_BLOCK_BYTES = 1024  # libargon2's ARGON2_BLOCK_SIZE


def needed_bytes(parameters: Parameters) -> int:
    """The memory libargon2 asks for: ``memory_cost`` KiB rounded down to whole segments
    (ARGON2_SYNC_POINTS, four, per lane)."""
    segments = 4 * parameters.parallelism
    return parameters.memory_cost // segments * segments * _BLOCK_BYTES


class _Buffer:
    def __init__(self, size: int) -> None:
        self.size = size
        self.mapping = mmap.mmap(-1, size)
        self.address = ffi.cast("uint8_t *", ffi.from_buffer(self.mapping))


# The buffer the hash running on this thread is lent (set around each call into libargon2).
_lent = threading.local()


def _allocate(memory: Any, size: int) -> int:
    buffer: _Buffer | None = getattr(_lent, "buffer", None)
    if buffer is None or size > buffer.size:
        return int(lib.ARGON2_MEMORY_ALLOCATION_ERROR)
    memory[0] = buffer.address
    return int(lib.ARGON2_OK)


def _give_back(memory: Any, size: int) -> None:
    """Nothing to free: the buffer goes back to the pool when the hash returns."""


def _callbacks() -> tuple[Any, Any]:
    """libargon2's allocation callbacks, made once: each is a piece of machine code (libffi's
    trampoline) that calls back into the interpreter. Where the system forbids making memory
    executable (systemd's MemoryDenyWriteExecute, SELinux's deny_execmem) there are none, and
    libargon2 takes its memory from ``malloc`` as it would on its own: slower to give back,
    never wrong."""
    try:
        return (
            ffi.callback("int(uint8_t **, size_t)", _allocate),
            ffi.callback("void(uint8_t *, size_t)", _give_back),
        )
    except MemoryError:  # cffi: "Cannot allocate write+execute memory for ffi.callback()"
        logger.warning("argon2 cannot have buffers of its own here; it uses malloc's memory")
        return ffi.NULL, ffi.NULL


_ALLOCATE, _GIVE_BACK = _callbacks()


class Argon2Memory:
    """The pool of buffers; ``run`` computes one raw argon2 hash in a borrowed buffer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Buffer] = []

    def _borrow(self, size: int) -> _Buffer:
        with self._lock:
            while self._idle:
                buffer = self._idle.pop()
                if buffer.size >= size:
                    return buffer
                buffer.mapping.close()  # made for smaller parameters
        return _Buffer(size)

    def _return(self, buffer: _Buffer) -> None:
        with self._lock:
            self._idle.append(buffer)

    def buffers(self) -> int:
        """Buffers made and idle now (for the tests: the pool does not grow past its use)."""
        with self._lock:
            return len(self._idle)

    def run(self, password: bytes, salt: bytes, parameters: Parameters) -> bytes:
        """The raw hash of ``password`` with ``salt`` at ``parameters``.

        The caller bounds how many run at once (each holds its buffer until it returns).
        """
        out = ffi.new("uint8_t[]", parameters.hash_len)
        secret_password = ffi.new("uint8_t[]", password)
        secret_salt = ffi.new("uint8_t[]", salt)
        context = ffi.new(
            "argon2_context *",
            {
                "out": out,
                "outlen": parameters.hash_len,
                "pwd": secret_password,
                "pwdlen": len(password),
                "salt": secret_salt,
                "saltlen": len(salt),
                "secret": ffi.NULL,
                "secretlen": 0,
                "ad": ffi.NULL,
                "adlen": 0,
                "t_cost": parameters.time_cost,
                "m_cost": parameters.memory_cost,
                "lanes": parameters.parallelism,
                "threads": parameters.parallelism,
                "version": parameters.version,
                "allocate_cbk": _ALLOCATE,
                "free_cbk": _GIVE_BACK,
                "flags": lib.ARGON2_DEFAULT_FLAGS,
            },
        )
        if _ALLOCATE == ffi.NULL:
            result = lib.argon2_ctx(context, parameters.type.value)
        else:
            buffer = self._borrow(needed_bytes(parameters))
            _lent.buffer = buffer
            try:
                # cffi lets go of the interpreter for the call; the callbacks take it back.
                result = lib.argon2_ctx(context, parameters.type.value)
            finally:
                _lent.buffer = None
                self._return(buffer)
        if result != lib.ARGON2_OK:
            raise HashingError(ffi.string(lib.argon2_error_message(result)).decode("ascii"))
        return bytes(ffi.buffer(out, parameters.hash_len))


argon2_memory = Argon2Memory()
