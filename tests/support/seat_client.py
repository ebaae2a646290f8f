"""A student's or proctor's browser reduced to HTTP calls, for crash tests and the save benchmark.

It speaks to a real server (``LiveServer``) exactly as the pages do: the CSRF cookie echoed in a
header, the seat link signed by the server, the JSON saves of ``attempt.js``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


class SeatClient:
    def __init__(self, base_url: str, *, timeout: float = 10) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def csrf(self) -> str:
        if "emtihan_csrf" not in self.http.cookies:
            self.http.get("/login")
        return str(self.http.cookies["emtihan_csrf"])

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf(), "Accept": "application/json"}

    def form(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(path, data={**(data or {}), "csrf_token": self.csrf()})

    def staff_sign_in(self, login: str, password: str) -> None:
        response = self.form("/login", {"login": login, "password": password, "next": "/"})
        assert response.status_code == 303, response.text

    def seat_sign_in(
        self, seat_url: str, id_code: str, password: str, language: str = "en"
    ) -> None:
        path = httpx.URL(seat_url).path
        self.http.get(path)
        response = self.form(path, {"id_code": id_code, "password": password, "language": language})
        assert response.status_code == 303, response.text

    def attempt_id(self) -> int:
        page = self.http.get("/exam").text
        found = re.search(r"/exam/attempts/(\d+)/status", page)
        assert found, page
        return int(found.group(1))


@dataclass
class Answering:
    """A student at work: the window taken, the next sequence number, what was acknowledged."""

    client: SeatClient
    attempt_id: int
    token: str = ""
    seq: int = 0
    options: dict[int, list[int]] = field(default_factory=dict)
    acknowledged: dict[int, dict[str, Any]] = field(default_factory=dict)

    def take_window(self) -> dict[str, Any]:
        response = self.client.http.post(
            f"/exam/attempts/{self.attempt_id}/window", headers=self.client.headers()
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.token = body["client"]
        self.seq = max(self.seq, body["last_seq"])
        page = self.client.http.get("/exam").text
        for question, value in re.findall(r'name="q(\d+)" value="(\d+)"', page):
            self.options.setdefault(int(question), []).append(int(value))
        return body

    def save(self, question: int, option_index: int) -> httpx.Response:
        self.seq += 1
        body = {
            "client": self.token,
            "seq": self.seq,
            "question": question,
            "answer": [self.options[question][option_index]],
            "flagged": False,
            "answered_at_ms": int(time.time() * 1000),
        }
        response = self.client.http.post(
            f"/exam/attempts/{self.attempt_id}/saves", headers=self.client.headers(), json=body
        )
        if response.status_code == 200:
            self.acknowledged[self.seq] = body
        return response
