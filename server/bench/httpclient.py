"""A browser's HTTP/1.1 reduced to what the bench needs: keep-alive connections and cookies.

Why not httpx: measured on the 2-core lab machine, ``httpx.AsyncClient`` spends about 2 ms of
CPU per request, so 2,000 examinees saving every 5 s (400 saves/s) would take most of a core of
the generator's own, and the generator, not the server, would be measured. Plain asyncio streams
spend about 15 µs per request. The server answers every request the bench makes with a
``Content-Length`` (Starlette sets it) or, in principle, chunked, and both are read here.

Like a browser, a ``Browser`` keeps up to six connections to the server, reuses idle ones, and
sends a request again on a fresh connection when a reused one turns out to have been closed by
the server before any byte of the answer arrived (uvicorn closes idle connections after 5 s).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

MAX_CONNECTIONS = 6  # per host, as browsers do


class TransportError(Exception):
    """No answer: the connection was refused, reset, closed early, or timed out."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: int = 0

    def close(self) -> None:
        self.writer.close()


@dataclass
class Browser:
    """One browser at one workstation: its cookie jar and its connections to the server."""

    host: str
    port: int
    timeout: float = 60.0
    cookies: dict[str, str] = field(default_factory=dict)
    _idle: list[_Connection] = field(default_factory=list)
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONNECTIONS))

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def csrf(self) -> str:
        if "emtihan_csrf" not in self.cookies:
            await self.request("GET", "/login")
        return self.cookies["emtihan_csrf"]

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path, headers={"Accept": "text/html"})

    async def get_json(self, path: str) -> Reply:
        return await self.request("GET", path, headers={"Accept": "application/json"})

    async def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        body = urlencode({**fields, "csrf_token": await self.csrf()}).encode()
        return await self.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        )

    async def post_json(self, path: str, payload: Any) -> Reply:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return await self.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRF-Token": await self.csrf(),
            },
        )

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        message = self._message(method, path, body, headers or {})
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(method, message)
            except TimeoutError:
                raise TransportError("timeout") from None

    def _message(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _exchange(self, method: str, message: bytes) -> Reply:
        while self._idle:
            connection = self._idle.pop()
            if connection.reader.at_eof():
                connection.close()
                continue
            try:
                return await self._send(connection, method, message)
            except _ClosedBeforeAnswer:
                # The server had closed this idle connection; a browser retries on a new one.
                continue
        connection = await self._connect()
        try:
            return await self._send(connection, method, message)
        except _ClosedBeforeAnswer:
            raise TransportError("closed before answering") from None

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as error:
            raise TransportError(f"connect: {error.strerror or error}") from None
        return _Connection(reader, writer)

    async def _send(self, connection: _Connection, method: str, message: bytes) -> Reply:
        answered = False
        try:
            connection.writer.write(message)
            try:
                head = await connection.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as error:
                if not error.partial:
                    raise ConnectionResetError() from None
                raise
            answered = True
            status, headers, cookies = _parse_head(head)
            body = await _read_body(connection.reader, method, status, headers)
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as error:
            connection.close()
            if not answered and isinstance(error, ConnectionResetError | BrokenPipeError):
                raise _ClosedBeforeAnswer() from None
            raise TransportError(type(error).__name__) from None
        except BaseException:
            connection.close()
            raise
        for name, value in cookies:
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        connection.used += 1
        if headers.get("connection", "").lower() == "close":
            connection.close()
        else:
            self._idle.append(connection)
        return Reply(status, headers, body)


class _ClosedBeforeAnswer(Exception):
    pass


def _parse_head(head: bytes) -> tuple[int, dict[str, str], list[tuple[str, str | None]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise TransportError(f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    cookies: list[tuple[str, str | None]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "set-cookie":
            cookies.append(_parse_cookie(value))
        else:
            headers[name] = value
    return int(parts[1]), headers, cookies


def _parse_cookie(value: str) -> tuple[str, str | None]:
    """``(name, value)``, or ``(name, None)`` when the server deletes the cookie."""
    pair, *attributes = value.split(";")
    name, _, cookie = pair.partition("=")
    deleted = any(a.strip().lower() in ("max-age=0", 'max-age="0"') for a in attributes)
    return name.strip(), None if deleted or cookie.strip() in ("", '""') else cookie.strip()


async def _read_body(
    reader: asyncio.StreamReader, method: str, status: int, headers: dict[str, str]
) -> bytes:
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                # Trailers (none from uvicorn) end with an empty line.
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()
