"""The storm: examinees, proctors and consoles played against the real server, open loop.

Every examinee is a coroutine that does what the seat's pages do (``waiting.js``, ``attempt.js``):

* **sign-in** at a uniformly random moment of the arrival window: the workstation's start page,
  the sign-in form (the page asks for the salt and costs and derives the password's key,
  ``seat-sign-in.js``; see ``WorkstationKeys``), the waiting page. The room's proctor admits
  them as soon as they are on the list (one proctor per room, one admission at a time).
* **waiting**: the status at a random moment of every 4-6 s, as the waiting page polls it,
  reloading the page when the phase changes; once admitted, the page opens the paper at the
  start plus a random moment of its first 2 s (``waiting.js``). The exam starts as the arrivals
  begin, so each examinee starts on arrival, as soon as admitted (late entry, permitted by the
  proctor). With ``--common-start`` it starts as they end, and every examinee opens the paper
  within the same 2 s: a sitting whose students all came early.
* **start**: the whole paper (``GET /exam``) and the window (``POST …/window``).
* **steady**: an answer every 5 ± 1 s (question after question, a random option), sent one at a
  time in sequence order as the page does; the latency of a save is from the moment the answer
  was made to its acknowledgement, so time spent queued behind a slow save or retrying after a
  failure (1 s doubling to 5 s, like the page) counts. The page's clock sync runs beside it: the
  status once 15 s have passed without an answer from the server (a save's reply carries the
  clock and the deadline). 1 % of examinees a minute report an integrity signal.
* **finish** at a uniformly random moment of the finish window: wait until every answer is
  acknowledged (the page refuses to leave before), the confirmation page, then finish and the
  result page.

Arrivals, answers and signals are scheduled on the clock, not after the previous request: the
generator never slows down because the server does. ``Recorder.at`` measures how late each of
them fired, which is the generator's own lag (an action already overdue because the examinee was
waiting for the server is not counted: that lateness is the server's).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.auth.passwords import KeyDerivation, derive_key
from server.bench.console import Console, ConsoleUnavailable
from server.bench.httpclient import Browser, Reply, TransportError
from server.bench.report import percentile
from server.bench.seed import Examinee, SittingSeed

POLL_SECONDS = (4.0, 6.0)  # waiting.js: POLL_MS + a random part of POLL_JITTER_MS
START_SPREAD_SECONDS = 2.0  # waiting.js: START_SPREAD_MS
CLOCK_SYNC_SECONDS = 15.0  # attempt.js: CLOCK_SYNC_MS without an answer from the server
ANSWER_EVERY = (4.0, 6.0)  # 5 ± 1 s
SIGNALS_PER_EXAMINEE_MINUTE = 0.01
SIGNAL_KINDS = ("focus_lost", "fullscreen_left", "copy", "paste")
RETRY_FIRST, RETRY_MAX = 1.0, 5.0  # attempt.js backs off from 1 s to 5 s
DRAIN_SECONDS = 30.0  # how long an examinee waits for unsent answers before finishing anyway

# What hash-wasm's first argon2id at Emtihan's costs took in Chromium on one core of the lab
# server class (121 ms; later ones 50-60 ms; docs/BENCHMARKS.md): each examinee's sign-in waits
# this long between the salt's answer and the form, as the student waits for their workstation.
WORKSTATION_KEY_SECONDS = 0.12

_ATTEMPT = re.compile(r"/exam/attempts/(\d+)/status")
_START_MS = re.compile(r'data-start-ms="(\d+)"')
_OPTION = re.compile(r'name="q(\d+)" value="(\d+)"')


def _now() -> float:
    return time.monotonic()


@dataclass
class Recorder:
    """Everything the clients saw: latencies per section, errors, lag, acknowledged saves."""

    samples: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    lags_ms: list[float] = field(default_factory=list)
    # (attempt, seq, question position, answer) of every save answered 200.
    acks: list[tuple[int, int, int, tuple[int, ...]]] = field(default_factory=list)
    # When each of ``samples["save"]`` was made (monotonic), to tell the storm's minutes apart.
    save_made: list[float] = field(default_factory=list)
    # Every deadline the server told each attempt (window, status and save answers).
    deadlines: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def sample(self, name: str, began: float) -> None:
        self.samples[name].append((_now() - began) * 1000)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    async def at(self, target: float) -> None:
        """Sleep until ``target`` (monotonic); record how late the wake-up was."""
        delay = target - _now()
        if delay <= 0:
            return
        await asyncio.sleep(delay)
        self.lags_ms.append(max(0.0, _now() - target) * 1000)


def _refusal(reply: Reply) -> str:
    code = ""
    if reply.headers.get("content-type", "").startswith("application/json"):
        with contextlib.suppress(ValueError, AttributeError):
            code = str(reply.json().get("code") or reply.json().get("error") or "")
    return f"HTTP {reply.status}" + (f" {code}" if code else "")


def admitted_in_place(phase: str, status: dict[str, Any], shown_start_ms: int) -> bool:
    """As ``waiting.js``: a waiting page shows the admission in place, with no new page, when
    the start is still the one its notice names."""
    return (
        phase == "waiting"
        and status["phase"] == "admitted"
        and int(status["start_ms"]) == shown_start_ms
    )


async def call(
    recorder: Recorder,
    kind: str,
    send: Callable[[], Awaitable[Reply]],
    ok: Callable[[Reply], bool],
    *,
    patience: float = 120.0,
) -> Reply | None:
    """Send until ``ok``: a student retries after a failure of the network or the server.

    A refusal (4xx) is final. Every failed try counts as an error, even when a retry succeeds.
    """
    delay = RETRY_FIRST
    give_up = _now() + patience
    while True:
        try:
            reply = await send()
        except TransportError as failure:
            recorder.error(f"{kind}: {failure}")
        else:
            if ok(reply):
                return reply
            recorder.error(f"{kind}: {_refusal(reply)}")
            if reply.status < 500 and reply.status != 429:
                return None
        if _now() + delay > give_up:
            return None
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


@dataclass(frozen=True)
class Timeline:
    """The run on the monotonic clock; ``start_epoch`` is the exam's start on the wall clock."""

    t0: float
    window: float
    duration: float
    finish_window: float
    start_epoch: float

    @property
    def start(self) -> float:
        return self.t0 + self.window

    @property
    def steady_end(self) -> float:
        return self.start + self.duration


class RoomProctor:
    """The proctor of one room: signs in, opens the room, admits whoever is on the list."""

    def __init__(
        self, *, host: str, port: int, exam_id: int, room_id: int, recorder: Recorder
    ) -> None:
        self.browser = Browser(host, port)
        self.exam_id = exam_id
        self.room_id = room_id
        self.recorder = recorder
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.start_epoch = 0.0

    @property
    def url(self) -> str:
        return f"/proctor/exams/{self.exam_id}/rooms/{self.room_id}"

    async def sign_in(self, login: str, password: str) -> None:
        reply = await call(
            self.recorder,
            "proctor sign-in",
            lambda: self.browser.post_form(
                "/login", {"login": login, "password": password, "next": "/proctor"}
            ),
            lambda r: r.status == 303,
        )
        if reply is None or "emtihan_session" not in self.browser.cookies:
            raise RuntimeError("the bench proctor could not sign in")

    async def open_room(self) -> None:
        reply = await call(
            self.recorder,
            "open room",
            lambda: self.browser.post_form(f"{self.url}/open", {}),
            lambda r: r.status == 303,
        )
        if reply is None:
            raise RuntimeError(f"room {self.room_id} could not be opened")

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.browser.cookies.items())

    async def admit(self, attempt_id: int) -> None:
        began = _now()
        # Before the start the page offers "Admit"; after it, "Permit late entry and admit".
        late = time.time() >= self.start_epoch - 2
        reply = await call(
            self.recorder,
            "admit",
            lambda: self.browser.post_form(
                f"{self.url}/admit/{attempt_id}", {"late": "true" if late else "false"}
            ),
            lambda r: r.status == 303,
        )
        if reply is None and not late:
            reply = await call(
                self.recorder,
                "admit",
                lambda: self.browser.post_form(f"{self.url}/admit/{attempt_id}", {"late": "true"}),
                lambda r: r.status == 303,
            )
        if reply is not None:
            self.recorder.sample("admit", began)

    async def work(self) -> None:
        while True:
            attempt_id = await self.queue.get()
            await self.admit(attempt_id)

    def close(self) -> None:
        self.browser.close()


@dataclass
class _Answer:
    seq: int
    question: int
    answer: list[int]
    answered_at_ms: int
    made: float


class WorkstationKeys:
    """The password's key, which each workstation's sign-in page derives on its own CPU.

    The bench stands in for 2,000 workstations on the server's own two cores, where their
    argon2id would take the server's CPU: it derives each (password, salt, costs) once, here,
    and each examinee then waits ``WORKSTATION_KEY_SECONDS``, the workstation's time.
    """

    def __init__(self, password: str) -> None:
        self.password = password
        self._keys: dict[str, str] = {}

    def key(self, recipe: dict[str, Any]) -> str:
        wanted = json.dumps(recipe, sort_keys=True)
        if wanted not in self._keys:
            key = derive_key(self.password, KeyDerivation.of_json(recipe))
            self._keys[wanted] = base64.b64encode(key).decode("ascii")
        return self._keys[wanted]


class ExamineeRun:
    """One examinee at one workstation, from the start page to the result."""

    def __init__(
        self,
        *,
        plan: Examinee,
        token: str,
        keys: WorkstationKeys,
        host: str,
        port: int,
        recorder: Recorder,
        proctor: RoomProctor,
        rng: random.Random,
    ) -> None:
        self.plan = plan
        self.token = token
        self.keys = keys
        self.browser = Browser(host, port)
        self.recorder = recorder
        self.proctor = proctor
        self.rng = rng
        self.attempt_id = 0
        self.client = ""
        self.seq = 0
        self.options: dict[int, list[int]] = {}
        self.next_question = 1
        self.pending: list[_Answer] = []
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()
        self.sitting = False
        self.stopped = False
        self.heard = 0.0  # when the server last answered the page (the clock sync's quiet time)
        self.shown_start_ms = 0  # the start the waiting page's notices name

    @property
    def attempt_url(self) -> str:
        return f"/exam/attempts/{self.attempt_id}"

    # ---- sign-in and waiting --------------------------------------------------------------
    async def sign_in(self) -> bool:
        seat = f"/seat/{self.token}"
        if await call(self.recorder, "seat page", lambda: self.browser.get(seat), _is(200)) is None:
            return False
        began = _now()
        recipe = await call(
            self.recorder,
            "password key",
            lambda: self.browser.get_json(f"{seat}/password-key?id_code={self.plan.id_code}"),
            _is(200),
        )
        if recipe is None:
            return False
        key = self.keys.key(recipe.json())
        await asyncio.sleep(WORKSTATION_KEY_SECONDS)
        form = {
            "id_code": self.plan.id_code,
            "password_key": key,
            "language": self.plan.language.value,
        }
        signed = await call(
            self.recorder,
            "sign-in",
            lambda: self.browser.post_form(seat, form),
            _is(303),
        )
        if signed is None:
            return False
        page = await call(
            self.recorder,
            "waiting page",
            lambda: self.browser.get("/exam"),
            lambda r: r.status == 200 and _ATTEMPT.search(r.text) is not None,
        )
        if page is None:
            return False
        found = _ATTEMPT.search(page.text)
        assert found is not None
        self.attempt_id = int(found.group(1))
        self._read_waiting_page(page.text)
        self.recorder.sample("sign_in", began)
        self.proctor.queue.put_nowait(self.attempt_id)
        return True

    def _read_waiting_page(self, text: str) -> None:
        shown = _START_MS.search(text)
        self.shown_start_ms = int(shown.group(1)) if shown else 0

    async def status(self) -> dict[str, Any] | None:
        began = _now()
        try:
            reply = await self.browser.get_json(f"{self.attempt_url}/status")
        except TransportError as failure:
            self.recorder.error(f"status: {failure}")
            return None
        if reply.status != 200:
            self.recorder.error(f"status: {_refusal(reply)}")
            return None
        self.recorder.sample("status", began)
        self.heard = _now()
        body: dict[str, Any] = reply.json()
        self.recorder.deadlines[self.attempt_id].add(int(body["deadline_ms"]))
        return body

    async def wait_for_start(self, give_up: float) -> bool:
        """The waiting page: a status poll at a random moment of every 4-6 s; once admitted,
        the page reloads itself at the start plus a random moment of ``START_SPREAD_SECONDS``."""
        phase = "waiting"
        opens = float("inf")  # when the admitted page reloads into the paper
        next_poll = _now() + self.rng.uniform(0, POLL_SECONDS[1])
        while _now() < give_up:
            if opens <= next_poll:
                await self.recorder.at(opens)
                return True
            await self.recorder.at(next_poll)
            body = await self.status()
            next_poll = _now() + self.rng.uniform(*POLL_SECONDS)
            if body is None:
                continue
            if body["phase"] == "sitting":
                return True
            if body["phase"] == "closed":
                self.recorder.error("waiting: the attempt was closed")
                return False
            if body["phase"] != phase:
                in_place = admitted_in_place(phase, body, self.shown_start_ms)
                phase = body["phase"]
                if not in_place:
                    page = await call(
                        self.recorder, "waiting page", lambda: self.browser.get("/exam"), _is(200)
                    )
                    if page is not None:
                        self._read_waiting_page(page.text)
            if phase == "admitted" and opens == float("inf"):
                start = _now() + body["start_ms"] / 1000 - time.time()
                opens = start + self.rng.uniform(0, START_SPREAD_SECONDS)
        self.recorder.error("waiting: not started by the end of the steady phase")
        return False

    # ---- the paper ------------------------------------------------------------------------
    async def open_paper(self) -> bool:
        began = _now()
        paper = await call(
            self.recorder,
            "paper",
            lambda: self.browser.get("/exam"),
            lambda r: r.status == 200 and _OPTION.search(r.text) is not None,
        )
        if paper is None:
            return False
        self.recorder.sample("paper", began)
        for question, option in _OPTION.findall(paper.text):
            self.options.setdefault(int(question), []).append(int(option))
        window = await call(
            self.recorder,
            "window",
            lambda: self.browser.post_json(f"{self.attempt_url}/window", {}),
            _is(200),
        )
        if window is None:
            return False
        body = window.json()
        self.client = body["client"]
        self.seq = max(self.seq, int(body["last_seq"]))
        self.recorder.deadlines[self.attempt_id].add(int(body["deadline_ms"]))
        self.recorder.sample("start", began)
        self.next_question = self.rng.randint(1, len(self.options))
        self.sitting = True
        return True

    def record_answer(self) -> None:
        """The student chose an option: the page numbers the save and queues it."""
        question = self.next_question
        self.next_question = question % len(self.options) + 1
        self.seq += 1
        # A newer change of the same question replaces the unsent older one (attempt.js).
        self.pending = [entry for entry in self.pending if entry.question != question]
        self.pending.append(
            _Answer(
                seq=self.seq,
                question=question,
                answer=[self.rng.choice(self.options[question])],
                answered_at_ms=int(time.time() * 1000),
                made=_now(),
            )
        )
        self.drained.clear()
        self.wake.set()

    async def send_saves(self) -> None:
        delay = RETRY_FIRST
        while not self.stopped:
            if not self.pending:
                self.drained.set()
                self.wake.clear()
                await self.wake.wait()
                continue
            entry = min(self.pending, key=lambda e: e.seq)
            body = {
                "client": self.client,
                "seq": entry.seq,
                "question": entry.question,
                "answer": entry.answer,
                "flagged": False,
                "answered_at_ms": entry.answered_at_ms,
            }
            try:
                reply = await self.browser.post_json(f"{self.attempt_url}/saves", body)
            except TransportError as failure:
                self.recorder.error(f"save: {failure}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if reply.status == 200:
                delay = RETRY_FIRST
                self.heard = _now()
                self.recorder.deadlines[self.attempt_id].add(int(reply.json()["deadline_ms"]))
                self.recorder.acks.append(
                    (self.attempt_id, entry.seq, entry.question, tuple(entry.answer))
                )
                self.recorder.samples["save"].append((_now() - entry.made) * 1000)
                self.recorder.save_made.append(entry.made)
                self.pending = [e for e in self.pending if e.seq != entry.seq]
                continue
            self.recorder.error(f"save: {_refusal(reply)}")
            if reply.status >= 500 or reply.status == 429:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            code = ""
            with contextlib.suppress(ValueError, AttributeError):
                code = str(reply.json().get("code") or "")
            if code == "replayed":
                self.seq = max(self.seq, entry.seq) + 1
                entry.seq = self.seq
                continue
            if reply.status == 401 or code in ("window_replaced", "time_over", "closed"):
                self.stopped = True
                self.pending.clear()
                self.drained.set()
                return
            self.pending = [e for e in self.pending if e.seq != entry.seq]

    async def sync_clock(self) -> None:
        self.heard = _now()  # the window's answer
        while True:
            quiet_until = self.heard + CLOCK_SYNC_SECONDS
            if _now() < quiet_until:
                await self.recorder.at(quiet_until)
                continue
            self.heard = _now()  # a sync that fails waits its turn like one that answers
            await self.status()

    async def answer_until(self, finish_at: float) -> None:
        sender = asyncio.create_task(self.send_saves())
        sync = asyncio.create_task(self.sync_clock())
        try:
            next_answer = _now() + self.rng.uniform(*ANSWER_EVERY)
            while next_answer < finish_at and not self.stopped:
                await self.recorder.at(next_answer)
                self.record_answer()
                next_answer += self.rng.uniform(*ANSWER_EVERY)
            await self.recorder.at(finish_at)
            if self.pending:
                try:
                    await asyncio.wait_for(self.drained.wait(), DRAIN_SECONDS)
                except TimeoutError:
                    self.recorder.error("finish: answers still unsent")
        finally:
            self.sitting = False
            for task in (sender, sync):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def send_signal(self) -> None:
        began = _now()
        body = {"client": self.client, "kind": self.rng.choice(SIGNAL_KINDS), "detail": "bench"}
        reply = await call(
            self.recorder,
            "signal",
            lambda: self.browser.post_json(f"{self.attempt_url}/signals", body),
            _is(204),
            patience=10,
        )
        if reply is not None:
            self.recorder.sample("signal", began)

    async def finish(self) -> None:
        finish_url = f"{self.attempt_url}/finish"
        if await call(self.recorder, "finish page", lambda: self.browser.get(finish_url), _is(200)):
            began = _now()
            finished = await call(
                self.recorder,
                "finish",
                lambda: self.browser.post_form(finish_url, {}),
                _is(303),
            )
            if finished is None:
                return
            result = await call(
                self.recorder, "result page", lambda: self.browser.get("/exam"), _is(200)
            )
            if result is not None:
                self.recorder.sample("submit", began)

    async def sit(self, timeline: Timeline, arrival: float, finish_at: float) -> None:
        await self.recorder.at(timeline.t0 + arrival)
        try:
            if not await self.sign_in():
                return
            if not await self.wait_for_start(give_up=timeline.steady_end):
                return
            if not await self.open_paper():
                return
            await self.answer_until(finish_at)
            if not self.stopped:
                await self.finish()
        finally:
            self.browser.close()


def _is(status: int) -> Callable[[Reply], bool]:
    return lambda reply: reply.status == status


# ---- the whole storm --------------------------------------------------------------------------
@dataclass
class StormSetup:
    host: str
    port: int
    seed: SittingSeed
    tokens: dict[int, str]  # seat id -> seat token
    proctor_login: str
    password: str
    window: float
    duration: float
    finish_window: float
    rng: random.Random
    common_start: bool
    reschedule: Callable[[float], None]  # the exam's start, epoch seconds (runs in a thread)
    event_counts: Callable[[], dict[int, int]]  # room -> events stored (runs in a thread)
    kill_at: float | None = None
    kill_and_restart: Callable[[], Awaitable[float]] | None = None
    progress: Callable[[str], None] = lambda _: None


@dataclass
class StormResult:
    recorder: Recorder
    consoles: list[Console]
    console_note: str | None
    cpu_seconds: float
    wall_seconds: float
    examinees_finished: int
    kill: dict[str, Any] | None
    timeline: Timeline

    def saves_by_phase(self) -> dict[str, list[float]]:
        """The saves' latencies by the minute their answer was made in: the arrivals (sign-ins
        and starts beside them), the steady phase, and the finish (submits beside them)."""
        phases: dict[str, list[float]] = {"arrival": [], "steady": [], "finish": []}
        start, steady_end = self.timeline.start, self.timeline.steady_end
        samples = self.recorder.samples["save"]
        for made, latency in zip(self.recorder.save_made, samples, strict=True):
            phase = "arrival" if made < start else "steady" if made < steady_end else "finish"
            phases[phase].append(latency)
        return phases


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def play(setup: StormSetup) -> StormResult:
    recorder = Recorder()
    seed = setup.seed
    proctors = {
        room_id: RoomProctor(
            host=setup.host,
            port=setup.port,
            exam_id=seed.exam_id,
            room_id=room_id,
            recorder=recorder,
        )
        for room_id in seed.room_ids
    }
    await asyncio.gather(
        *(p.sign_in(setup.proctor_login, setup.password) for p in proctors.values())
    )
    consoles, note = await _connect_consoles(setup, proctors)
    await asyncio.gather(*(p.open_room() for p in proctors.values()))
    setup.progress(
        f"{len(proctors)} room(s) open, {len(consoles)} console(s) connected"
        + (f" ({note})" if note else "")
    )

    lead = 1.0  # time to create every task before the first arrival
    t0 = _now() + lead
    # As the storm has it, each examinee starts as soon as admitted: the exam starts
    # as the arrivals begin, and the proctor permits each late entry. With ``common_start``
    # the exam starts as they end, and every waiting page opens its paper within the same
    # START_SPREAD_SECONDS (waiting.js), as at a real sitting where all arrived early.
    start_epoch = time.time() + lead + (setup.window if setup.common_start else 0.0)
    await asyncio.to_thread(setup.reschedule, start_epoch)
    timeline = Timeline(
        t0=t0,
        window=setup.window,
        duration=setup.duration,
        finish_window=setup.finish_window,
        start_epoch=start_epoch,
    )
    for proctor in proctors.values():
        proctor.start_epoch = start_epoch
    workers = [asyncio.create_task(p.work()) for p in proctors.values()]
    rng = setup.rng
    keys = WorkstationKeys(setup.password)
    examinees = [
        ExamineeRun(
            plan=plan,
            token=setup.tokens[plan.seat_id],
            keys=keys,
            host=setup.host,
            port=setup.port,
            recorder=recorder,
            proctor=proctors[plan.room_id],
            rng=random.Random(rng.random()),  # noqa: S311  (load pattern, not security)
        )
        for plan in seed.examinees
    ]
    cpu_began, wall_began = _cpu_seconds(), _now()
    sittings = [
        asyncio.create_task(
            run.sit(
                timeline,
                arrival=rng.uniform(0, setup.window),
                finish_at=timeline.steady_end + rng.uniform(0, setup.finish_window),
            )
        )
        for run in examinees
    ]
    signals = asyncio.create_task(_signals(timeline, examinees, recorder, rng))
    kill: dict[str, Any] = {}
    killer = (
        asyncio.create_task(_kill(timeline, setup, recorder, kill))
        if setup.kill_at is not None
        else None
    )
    progress = asyncio.create_task(_report_progress(timeline, examinees, recorder, setup.progress))
    await asyncio.gather(*sittings)
    cpu_seconds, wall_seconds = _cpu_seconds() - cpu_began, _now() - wall_began
    for task in [signals, progress, *workers, *([killer] if killer else [])]:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await _drain(consoles, setup.event_counts)
    for console in consoles:
        await console.stop()
    for proctor in proctors.values():
        proctor.close()
    return StormResult(
        recorder=recorder,
        consoles=consoles,
        console_note=note,
        cpu_seconds=cpu_seconds,
        wall_seconds=wall_seconds,
        examinees_finished=len(recorder.samples["submit"]),
        kill=kill or None,
        timeline=timeline,
    )


async def _connect_consoles(
    setup: StormSetup, proctors: dict[int, RoomProctor]
) -> tuple[list[Console], str | None]:
    """One console per room and one for the whole exam; none, with a note, if refused."""
    first = next(iter(proctors.values()))
    origin = first.browser.origin
    consoles = [
        Console(
            origin=origin,
            exam_id=setup.seed.exam_id,
            room_id=room_id,
            session_cookie=proctor.cookie_header(),
        )
        for room_id, proctor in proctors.items()
    ]
    consoles.append(
        Console(
            origin=origin,
            exam_id=setup.seed.exam_id,
            room_id=None,
            session_cookie=first.cookie_header(),
        )
    )
    try:
        await consoles[0].probe()
    except ConsoleUnavailable as refused:
        return [], f"console websocket unavailable: {refused}; proctor events not measured"
    for console in consoles[1:]:
        console.start()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(c.connected.wait() for c in consoles[1:])), timeout=60
        )
    except TimeoutError:
        for console in consoles:
            await console.stop()
        raise RuntimeError("the consoles did not all connect within 60 s") from None
    return consoles, None


async def _signals(
    timeline: Timeline, examinees: list[ExamineeRun], recorder: Recorder, rng: random.Random
) -> None:
    """1 % of examinees a minute, at random moments of the steady phase (at least one)."""
    expected = len(examinees) * SIGNALS_PER_EXAMINEE_MINUTE * timeline.duration / 60
    count = max(1, int(expected) + (1 if rng.random() < expected - int(expected) else 0))
    moments = sorted(timeline.start + rng.uniform(0, timeline.duration) for _ in range(count))
    pending: set[asyncio.Task[None]] = set()
    for moment in moments:
        await recorder.at(moment)
        sitting = [run for run in examinees if run.sitting]
        if sitting:
            task = asyncio.create_task(rng.choice(sitting).send_signal())
            pending.add(task)
            task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)


async def _kill(
    timeline: Timeline, setup: StormSetup, recorder: Recorder, kill: dict[str, Any]
) -> None:
    assert setup.kill_at is not None
    assert setup.kill_and_restart is not None
    await recorder.at(timeline.start + setup.kill_at)
    setup.progress(f"SIGKILL to the server at {setup.kill_at:g} s into the steady phase")
    down = await setup.kill_and_restart()
    kill.update(at_s=setup.kill_at, down_ms=round(down * 1000, 1))
    setup.progress(f"the server is serving again after {down:.1f} s")


async def _report_progress(
    timeline: Timeline,
    examinees: list[ExamineeRun],
    recorder: Recorder,
    progress: Callable[[str], None],
) -> None:
    reported = 0  # saves answered before the last line
    while True:
        await asyncio.sleep(10)
        elapsed = _now() - timeline.t0
        saves = recorder.samples["save"]
        # The saves answered in these 10 s: where in the storm a tail comes from.
        recent = percentile(saves[reported:], 0.99)
        reported = len(saves)
        progress(
            f"t={elapsed:5.0f}s  signed in {len(recorder.samples['sign_in'])}, "
            f"sitting {sum(r.sitting for r in examinees)}, "
            f"saves {len(saves)}"
            + (f" (p99 of the last 10 s: {recent:.0f} ms)" if recent is not None else "")
            + f", finished {len(recorder.samples['submit'])}, "
            f"errors {sum(recorder.errors.values())}"
        )


async def _drain(consoles: list[Console], event_counts: Callable[[], dict[int, int]]) -> None:
    """Give the consoles up to 10 s to receive the last events stored."""
    give_up = _now() + 10
    while consoles and _now() < give_up:
        stored = await asyncio.to_thread(event_counts)
        if all(
            console.seen.get(room, 0) >= count
            for console in consoles
            for room, count in stored.items()
            if console.room_id in (None, room)
        ):
            return
        await asyncio.sleep(0.2)


# ---- closed-loop saturation -------------------------------------------------------------------
@dataclass
class SaturationSetup:
    host: str
    port: int
    seed: SittingSeed
    tokens: dict[int, str]
    proctor_login: str
    password: str
    seconds: float
    reschedule: Callable[[float], None]


async def saturate_server(setup: SaturationSetup, recorder: Recorder) -> dict[str, Any]:
    """K examinees saving back to back (each sends the next save when the last is answered)."""
    room_id = setup.seed.room_ids[0]
    proctor = RoomProctor(
        host=setup.host,
        port=setup.port,
        exam_id=setup.seed.exam_id,
        room_id=room_id,
        recorder=recorder,
    )
    await proctor.sign_in(setup.proctor_login, setup.password)
    # Already started: every examinee is admitted late and opens the paper at once.
    proctor.start_epoch = time.time() - 1
    await asyncio.to_thread(setup.reschedule, proctor.start_epoch)
    await proctor.open_room()
    worker = asyncio.create_task(proctor.work())
    keys = WorkstationKeys(setup.password)
    runs = [
        ExamineeRun(
            plan=plan,
            token=setup.tokens[plan.seat_id],
            keys=keys,
            host=setup.host,
            port=setup.port,
            recorder=recorder,
            proctor=proctor,
            rng=random.Random(index),  # noqa: S311
        )
        for index, plan in enumerate(setup.seed.examinees)
    ]

    async def ready(run: ExamineeRun) -> bool:
        return (
            await run.sign_in()
            and await run.wait_for_start(give_up=_now() + 60)
            and await run.open_paper()
        )

    seated = [
        run for run, ok in zip(runs, await asyncio.gather(*map(ready, runs)), strict=True) if ok
    ]
    worker.cancel()
    latencies: list[float] = []
    errors_before = sum(recorder.errors.values())

    async def save_back_to_back(run: ExamineeRun, until: float) -> int:
        saved = 0
        while _now() < until:
            run.record_answer()
            entry = run.pending.pop()
            began = _now()
            try:
                reply = await run.browser.post_json(
                    f"{run.attempt_url}/saves",
                    {
                        "client": run.client,
                        "seq": entry.seq,
                        "question": entry.question,
                        "answer": entry.answer,
                        "flagged": False,
                        "answered_at_ms": entry.answered_at_ms,
                    },
                )
            except TransportError as failure:
                recorder.error(f"saturation save: {failure}")
                continue
            if reply.status == 200:
                saved += 1
                latencies.append((_now() - began) * 1000)
                recorder.acks.append(
                    (run.attempt_id, entry.seq, entry.question, tuple(entry.answer))
                )
            else:
                recorder.error(f"saturation save: {_refusal(reply)}")
        return saved

    cpu_began, began = _cpu_seconds(), _now()
    until = began + setup.seconds
    saved = sum(await asyncio.gather(*(save_back_to_back(run, until) for run in seated)))
    elapsed = _now() - began
    cpu = _cpu_seconds() - cpu_began
    for run in runs:
        run.browser.close()
    proctor.close()
    return {
        "clients": len(seated),
        "saves": saved,
        "per_s": round(saved / elapsed, 1) if elapsed > 0 else 0.0,
        "latencies_ms": latencies,
        "errors": sum(recorder.errors.values()) - errors_before,
        "generator_cpu_percent": round(100 * cpu / elapsed, 1) if elapsed > 0 else 0.0,
    }


async def saturate_baseline(
    *, host: str, port: int, clients: int, seconds: float
) -> dict[str, Any]:
    """The same K clients against the baseline's one INSERT + COMMIT."""
    latencies: list[float] = []
    failures = 0

    async def insert_back_to_back(client: int, until: float) -> int:
        nonlocal failures
        browser = Browser(host, port)
        inserted = seq = 0
        try:
            while _now() < until:
                seq += 1
                body = json.dumps({"client": f"k{client}", "seq": seq, "answer": [seq % 4]})
                began = _now()
                try:
                    reply = await browser.request(
                        "POST",
                        "/insert",
                        body=body.encode(),
                        headers={"Content-Type": "application/json"},
                    )
                except TransportError:
                    failures += 1
                    continue
                if reply.status == 200:
                    inserted += 1
                    latencies.append((_now() - began) * 1000)
                else:
                    failures += 1
        finally:
            browser.close()
        return inserted

    cpu_began, began = _cpu_seconds(), _now()
    until = began + seconds
    inserted = sum(await asyncio.gather(*(insert_back_to_back(n, until) for n in range(clients))))
    elapsed = _now() - began
    cpu = _cpu_seconds() - cpu_began
    return {
        "clients": clients,
        "inserts": inserted,
        "per_s": round(inserted / elapsed, 1) if elapsed > 0 else 0.0,
        "latencies_ms": latencies,
        "errors": failures,
        "generator_cpu_percent": round(100 * cpu / elapsed, 1) if elapsed > 0 else 0.0,
    }
