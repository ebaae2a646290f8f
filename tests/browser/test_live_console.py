"""The live console in a real browser: one proctor, two students, a violation (issue "console").

The proctor's console and two seats run in Debian's Chromium against the real server process.
The proctor admits both from the console, watches their answered counts rise with no reload,
records a violation for one of them; that student's page locks at once, the other carries on.
"""

from __future__ import annotations

import re
import statistics

from playwright.sync_api import Page, expect

from server.demo import STAFF_PASSWORD, STUDENT_PASSWORD
from tests.browser.plugin import NewContext
from tests.support.live_server import LiveServer, LiveServerFactory

QUESTIONS = 25


def _seat_links(server: LiveServer) -> list[str]:
    lines = server.cli("seat", "links", "--room", "LAB-301", "--base-url", server.url)
    return [line.split("\t")[1] for line in lines.strip().splitlines()]


def _console(server: LiveServer, new_context: NewContext) -> Page:
    page = new_context(locale="en-US").new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server.url}/login")
    page.fill("#login", "proctor")
    page.fill("#password", STAFF_PASSWORD)
    page.press("#password", "Enter")
    page.goto(f"{server.url}/proctor")
    page.get_by_role("link", name=re.compile("final exam")).first.click()
    page.get_by_role("button", name="Open the room for sign-in").click()
    expect(page.locator("#live-status")).to_have_text("Live")
    return page


def _student(new_context: NewContext, link: str, id_code: str) -> Page:
    page = new_context(locale="en-US").new_page()
    page.goto(link)
    page.fill("#id_code", id_code)
    page.fill("#password", STUDENT_PASSWORD)
    page.get_by_label("English").check()
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_role("status")).to_contain_text("proctor's list")
    return page


def _card(console: Page, id_code: str):  # type: ignore[no-untyped-def]
    return console.locator(".seat-card", has_text=id_code)


def _answer(page: Page, question: int) -> None:
    expect(page.get_by_role("heading", name=f"Question {question} of {QUESTIONS}")).to_be_visible()
    page.keyboard.press("Digit1")
    expect(page.locator(f"#q{question} .save-state")).to_have_text("Saved")
    page.keyboard.press("KeyN")


def test_the_proctor_watches_two_seats_live_and_removes_one(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=20)
    console = _console(server, new_context)
    links = _seat_links(server)
    first = _student(new_context, links[0], "S25001")
    second = _student(new_context, links[1], "S25002")

    # Both arrive on the console by themselves, waiting for the ID check; admit both.
    for id_code in ("S25001", "S25002"):
        card = _card(console, id_code)
        expect(card).to_contain_text("waiting for the ID check")
        card.get_by_role("button", name="Admit").click()
        expect(card).to_contain_text("admitted")

    for page in (first, second):
        expect(page.locator("#attempt")).to_be_visible(timeout=40_000)
    for question in range(1, 4):
        _answer(first, question)
        _answer(second, question)
        for id_code in ("S25001", "S25002"):
            expect(_card(console, id_code)).to_contain_text(f"{question} of {QUESTIONS} answered")

    # The violation: a choice from the regulation's list, a note, a confirmation.
    _card(console, "S25001").get_by_role("button", name="Record a violation").click()
    dialog = console.locator("#violation-dialog")
    dialog.get_by_label("Violation").select_option("phone_or_gadget")
    dialog.get_by_label("Note").fill("Phone on the desk, switched on")
    dialog.get_by_role("button", name="Remove the student from the exam").click()
    expect(_card(console, "S25001")).to_contain_text("removed")

    # The removed student's page locks at once; the other student carries on.
    expect(first.locator("#paper input").first).to_be_disabled(timeout=3_000)
    _answer(second, 4)
    expect(_card(console, "S25002")).to_contain_text(f"4 of {QUESTIONS} answered")
    expect(console.locator(".event-log")).to_contain_text("violation recorded")

    latencies = console.evaluate("window.emtihanConsoleLatencies")
    assert len(latencies) >= 10
    print(
        f"console emit-to-render over {len(latencies)} frames: "
        f"p50 {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms"
    )
