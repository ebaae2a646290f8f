"""A demo student takes the exam in a real browser, from the seat's sign-in to the result.

Real server process, real Chromium, the page's own script: saves acknowledged after commit, a
reload mid-exam, answers given while the network is cut and re-sent after, the server killed
with the page open, and the server's own close at the deadline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from server.demo import STAFF_PASSWORD
from server.models import Attempt, AttemptState, Response
from server.seat.closing import current_answers
from tests.browser.plugin import NewContext
from tests.support.live_server import LiveServer, LiveServerFactory

STUDENT = ("S25001", "Student#2026")
QUESTIONS = 25


def _seat_link(server: LiveServer, index: int = 0) -> str:
    lines = server.cli("seat", "links", "--room", "LAB-301", "--base-url", server.url)
    return lines.strip().splitlines()[index].split("\t")[1]


def _proctor(server: LiveServer, new_context: NewContext) -> Page:
    page = new_context(locale="en-US").new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Admit … after checking the ID card?"
    page.goto(f"{server.url}/login")
    page.fill("#login", "proctor")
    page.fill("#password", STAFF_PASSWORD)
    page.press("#password", "Enter")
    page.goto(f"{server.url}/proctor")
    page.get_by_role("link", name=re.compile("final exam")).first.click()
    # count() does not wait: asked before the console has loaded, it found no button and the
    # room stayed closed to sign-in.
    expect(page.get_by_role("heading", name="Workstations")).to_be_visible()
    open_room = page.get_by_role("button", name="Open the room for sign-in")
    if open_room.count():
        open_room.click()
        expect(open_room).to_have_count(0)
    return page


def _sign_in_at_seat(page: Page, link: str) -> None:
    page.goto(link)
    # The workstation's browser is in Kazakh; the student picks English for the exam.
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.fill("#id_code", STUDENT[0])
    page.fill("#password", STUDENT[1])
    page.get_by_label("English").check()
    page.get_by_role("button", name="Кіру").click()


def _admit(proctor: Page, *, late: bool = False) -> None:
    """Admit from the live console: the card of the waiting student arrives by itself."""
    card = proctor.locator(".seat-card.state-waiting").first
    expect(card).to_be_visible(timeout=10_000)
    # After the start the console asks to permit late entry (the dialog is accepted).
    card.get_by_role("button", name="Admit").click()
    expect(proctor.locator(".seat-card.state-waiting")).to_have_count(0)
    del late


def _answer(page: Page, question: int, option: int) -> None:
    """Choose with the keyboard: the option's digit, then N for the next question."""
    expect(page.get_by_role("heading", name=f"Question {question} of {QUESTIONS}")).to_be_visible()
    page.keyboard.press(f"Digit{option}")
    section = page.locator(f"#q{question}")
    expect(section.locator(".save-state")).to_have_text("Saved")
    page.keyboard.press("KeyN")


def _answered(page: Page) -> int:
    return page.locator(".navigator button.answered").count()


def _attempt(server: LiveServer) -> Attempt:
    with server.session() as db:
        attempt = db.execute(select(Attempt)).scalar_one()
        db.expunge(attempt)
        return attempt


def _stored_answers(server: LiveServer, attempt_id: int) -> int:
    with server.session() as db:
        return sum(1 for r in current_answers(db, attempt_id).values() if r.answer)


def test_from_the_seat_to_the_result(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    # Time for both sign-ins and the admission before the start, on a loaded machine too (at
    # 15 s a CI run with other work beside it admitted after the start, and the page went
    # straight to the paper, past the admitted state this test checks).
    server = live_server(demo_starts_in=30)
    proctor = _proctor(server, new_context)
    student_context: BrowserContext = new_context()
    page = student_context.new_page()
    _sign_in_at_seat(page, _seat_link(server))

    expect(page.get_by_role("status")).to_contain_text("proctor's list")
    page.evaluate("window.sameWaitingPage = true")
    _admit(proctor)
    expect(page.get_by_role("status")).to_contain_text("You are admitted", timeout=10_000)
    # Shown in place, without a reload, and the countdown to the start with it.
    assert page.evaluate("window.sameWaitingPage === true")
    expect(page.locator("#starts-in")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    # At the start the waiting page turns into the paper by itself.
    expect(page.locator("#attempt")).to_be_visible(timeout=45_000)
    expect(page.locator("#link-state")).to_have_text("Saved")

    for question in range(1, 11):
        _answer(page, question, question % 4 + 1)
    page.keyboard.press("KeyP")
    page.keyboard.press("KeyF")  # flag question 10 for review
    expect(page.locator(".navigator button.flagged")).to_have_count(1)
    expect(page.locator("#q10 .save-state")).to_have_text("Saved")

    # A reload mid-exam shows the same paper with every saved answer.
    page.reload()
    expect(page.locator("#link-state")).to_have_text("Saved")
    assert _answered(page) == 10
    expect(page.locator(".navigator button.flagged")).to_have_count(1)
    page.locator('[data-goto="11"]').click()

    # The network goes: answers are kept in the browser and said to be so.
    student_context.set_offline(True)
    for question in range(11, 14):
        expect(
            page.get_by_role("heading", name=f"Question {question} of {QUESTIONS}")
        ).to_be_visible()
        page.keyboard.press("Digit2")
        expect(page.locator(f"#q{question} .save-state")).to_contain_text("Kept on this computer")
        page.keyboard.press("KeyN")
    expect(page.locator("#banner")).to_contain_text("No connection")
    attempt = _attempt(server)
    assert _stored_answers(server, attempt.id) == 10
    # It comes back: everything is re-sent without the student doing anything.
    student_context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#q13 .save-state")).to_have_text("Saved", timeout=15_000)
    assert _stored_answers(server, attempt.id) == 13

    for question in range(14, QUESTIONS + 1):
        _answer(page, question, 1)
    assert _answered(page) == QUESTIONS
    assert _stored_answers(server, attempt.id) == QUESTIONS

    page.get_by_role("link", name="Finish the exam").click()
    expect(page.get_by_text(f"All {QUESTIONS} questions are answered")).to_be_visible()
    page.get_by_role("button", name="Finish and see my result").click()
    expect(page.get_by_role("table", name="Your result")).to_be_visible()
    expect(page.locator("td.score")).to_have_text(re.compile(r"^\d+[.,]\d\d$"))
    expect(page.get_by_text("Your exam is submitted.")).to_be_visible()
    assert _attempt(server).state == AttemptState.SUBMITTED


def test_the_page_resumes_by_itself_after_the_server_is_killed(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=2)
    proctor = _proctor(server, new_context)
    page = new_context().new_page()
    _sign_in_at_seat(page, _seat_link(server, 1))
    _admit(proctor, late=True)
    expect(page.locator("#attempt")).to_be_visible(timeout=10_000)
    for question in range(1, 4):
        _answer(page, question, 3)

    server.kill()
    page.keyboard.press("Digit1")
    expect(page.locator("#q4 .save-state")).to_contain_text("Kept on this computer")
    expect(page.locator("#link-state")).to_contain_text("Answers waiting to be sent: 1")
    server.start()
    expect(page.locator("#q4 .save-state")).to_have_text("Saved", timeout=20_000)
    attempt = _attempt(server)
    assert _stored_answers(server, attempt.id) == 4


def test_the_server_closes_the_attempt_at_the_deadline(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    # A 40-second exam with a 2-second transport grace: the browser test can watch the end.
    server = live_server(
        demo_starts_in=2,
        env={
            "EMTIHAN_EXAM_DURATION_OVERRIDE_SECONDS": "40",
            "EMTIHAN_TRANSPORT_GRACE_SECONDS": "2",
        },
    )
    proctor = _proctor(server, new_context)
    page = new_context().new_page()
    # The workstation's clock is two hours fast: the countdown and the saves must not care.
    page.clock.set_system_time(datetime.now(UTC) + timedelta(hours=2))
    _sign_in_at_seat(page, _seat_link(server, 2))
    _admit(proctor, late=True)
    expect(page.locator("#attempt")).to_be_visible(timeout=10_000)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^00:[1-3]\d$"))
    # Less than five minutes left from the first second: both warnings, the later one shown.
    expect(page.locator("#banner")).to_have_text("5 minutes left.")
    _answer(page, 1, 2)
    _answer(page, 2, 2)
    expect(page.locator("#countdown")).to_have_text("00:00", timeout=45_000)
    expect(page.get_by_role("radio").first).to_be_disabled()
    # The server, not the page, closes the attempt; the page then shows the result.
    expect(page.get_by_text("The server closed your exam at the deadline")).to_be_visible(
        timeout=20_000
    )
    attempt = _attempt(server)
    assert attempt.state == AttemptState.TIMED_OUT
    with server.session() as db:
        saves = db.execute(select(Response).where(Response.attempt_id == attempt.id)).all()
    assert len(saves) == 2


def test_extra_time_for_the_room_reaches_the_page_with_its_next_save(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=2, env={"EMTIHAN_EXAM_DURATION_OVERRIDE_SECONDS": "600"})
    proctor = _proctor(server, new_context)
    page = new_context().new_page()
    _sign_in_at_seat(page, _seat_link(server, 3))
    _admit(proctor, late=True)
    expect(page.locator("#attempt")).to_be_visible(timeout=10_000)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^0\d:\d\d$"))

    proctor.fill("#incident-note", "Power cut in the row by the window")
    proctor.fill("#incident-minutes", "15")
    proctor.get_by_role("button", name="Record the incident").click()
    expect(proctor.get_by_text("15 extra minutes for the whole room").first).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    _answer(page, 1, 2)

    # The save's reply moved the countdown: the page did not ask for the status.
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^2[0-4]:\d\d$"), timeout=5_000)
    assert any(url.endswith("/saves") for url in asked)
    assert not any(url.endswith("/status") for url in asked)
