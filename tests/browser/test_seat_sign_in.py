"""The seat's sign-in page derives the password's key in the browser and sends only the key.

Real server process, real Chromium running hash-wasm's argon2id under the page's own CSP.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from playwright.sync_api import Page, Request, expect

from tests.browser.plugin import NewContext
from tests.browser.test_exam_at_the_seat import STUDENT, _proctor, _seat_link
from tests.support.live_server import LiveServerFactory


def _sign_in(page: Page, link: str, password: str) -> dict[str, list[str]]:
    """Sign in for an exam in English, submitting from the keyboard; what the form sent."""
    page.goto(link)
    expect(page.locator("#id_code")).to_be_focused()
    page.keyboard.type(STUDENT[0])
    page.get_by_label("English").check()
    page.locator("#password").fill(password)
    with page.expect_request(_the_sign_in) as posted:
        page.locator("#password").press("Enter")
    return parse_qs(posted.value.post_data or "", keep_blank_values=True)


def _the_sign_in(request: Request) -> bool:
    return request.method == "POST" and "/seat/" in request.url


def test_the_password_never_leaves_the_workstation(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=120)
    _proctor(server, new_context)  # opens the room for sign-in
    link = _seat_link(server)
    page = new_context().new_page()
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text))

    # A wrong password: its key is refused as the password would be, in the exam's language.
    sent = _sign_in(page, link, "Wrong#Pass1")
    assert "password" not in sent
    assert len(sent["password_key"][0]) == 44  # 32 bytes of base64
    expect(page.get_by_role("alert")).to_have_text("The login or password is not correct.")
    expect(page.locator("#id_code")).to_have_value(STUDENT[0])

    sent = _sign_in(page, link, STUDENT[1])
    assert "password" not in sent
    assert len(sent["password_key"][0]) == 44
    expect(page.get_by_role("status")).to_contain_text("proctor's list")
    assert not [text for text in refusals if "Content Security Policy" in text]


def test_without_webassembly_the_page_sends_the_password(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=120)
    _proctor(server, new_context)
    context = new_context()
    context.add_init_script("delete window.WebAssembly;")
    page = context.new_page()
    sent = _sign_in(page, _seat_link(server), STUDENT[1])
    assert sent["password"] == [STUDENT[1]]
    assert sent["password_key"] == [""]
    expect(page.get_by_role("status")).to_contain_text("proctor's list")
