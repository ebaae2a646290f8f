"""Signing in through a real browser against the real server, mostly from the keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from server.demo import STAFF_PASSWORD
from tests.browser.plugin import NewContext
from tests.support.live_server import LiveServer


def _choose_language(page: Page, steps: int) -> None:
    """Move the language list ``steps`` entries down and press its button, as a keyboard user."""
    select = page.get_by_role("combobox")
    select.focus()
    for _ in range(steps):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    expect(page.locator("form.language button")).to_be_focused()
    page.keyboard.press("Enter")


def test_kazakh_by_default_and_the_switcher_changes_the_language(
    demo_server: LiveServer, new_context: NewContext
) -> None:
    # A browser asking for a language we do not have gets the university's default, Kazakh.
    page = new_context(locale="de-DE").new_page()
    page.goto(f"{demo_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Кіру")
    expect(page.get_by_label("Тіл")).to_have_value("kk")

    _choose_language(page, 1)  # Қазақша → Русский
    expect(page).to_have_url(f"{demo_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Войти")

    _choose_language(page, 1)  # Русский → English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    # The choice is a cookie: it holds on the next visit.
    page.goto(f"{demo_server.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_registrar_signs_in_with_the_keyboard(demo_server: LiveServer, page: Page) -> None:
    page.goto(f"{demo_server.url}/registrar")
    expect(page).to_have_url(re.compile(r"/login\?next=/registrar$"))
    # The login field has the focus on arrival; Tab moves on, Enter submits.
    expect(page.locator("#login")).to_be_focused()
    page.keyboard.type("registrar")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{demo_server.url}/registrar")
    # The registrar's own language (English in the demo) wins once signed in.
    expect(page.get_by_role("heading", level=1)).to_have_text("Exams")
    expect(page.get_by_role("link", name="Calculus I — final exam (demo)")).to_be_visible()
    expect(page.locator(".who")).to_have_text("Dana Registrar")


def test_a_wrong_password_is_refused_in_the_pages_language(
    demo_server: LiveServer, page: Page
) -> None:
    page.goto(f"{demo_server.url}/login")
    # Autofocus lands after load: typing before it would drop the first keys.
    expect(page.locator("#login")).to_be_focused()
    page.keyboard.type("registrar")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type("Wrong#password1")
    page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_have_text("Логин немесе құпиясөз қате.")
    expect(page).to_have_url(f"{demo_server.url}/login")
    # The login is kept, the password is not; the user can try again at once.
    expect(page.locator("#login")).to_have_value("registrar")
    expect(page.locator("#password")).to_have_value("")
