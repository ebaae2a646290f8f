"""The registrar resets a student's password; the slip prints alone, and the student signs in."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from server.demo import STAFF_PASSWORD, STUDENT_PASSWORD
from tests.browser.plugin import NewContext
from tests.support.live_server import LiveServer

STUDENT = ("S25001", "Abenova Aigerim")


def _sign_in(page: Page, server: LiveServer, login: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    # Autofocus lands after load: typing before it would drop the first keys.
    expect(page.locator("#login")).to_be_focused()
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_a_reset_slip_prints_alone_and_its_password_signs_the_student_in(
    demo_server: LiveServer, page: Page, new_context: NewContext
) -> None:
    id_code, name = STUDENT
    _sign_in(page, demo_server, "registrar", STAFF_PASSWORD)
    page.get_by_role("link", name="Student passwords").click()
    groups = page.get_by_label("Group")
    groups.select_option("CS-25")
    groups.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Group CS-25")).to_be_visible()

    page.get_by_role("button", name=f"Reset the password of {name}").focus()
    page.keyboard.press("Enter")

    slip = page.locator(".slip")
    expect(slip).to_have_count(1)
    expect(slip).to_contain_text(id_code)
    expect(slip).to_contain_text(name)
    password = slip.locator(".password").inner_text()
    assert password not in (STUDENT_PASSWORD, "")

    # On paper: the slip, without the navigation, the language switch or the instructions.
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(slip).to_be_visible()
    page.emulate_media(media="screen")

    # Shown once: the group's page names the student, never the password.
    page.get_by_role("link", name="Back to the group").click()
    expect(page.get_by_role("heading", name="Group CS-25")).to_be_visible()
    assert password not in page.content()

    student = new_context().new_page()
    _sign_in(student, demo_server, id_code, password)
    expect(student.get_by_role("alert")).to_have_count(0)
