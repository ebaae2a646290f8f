"""Playwright (sync API) driving Debian's Chromium: ``browser``, ``new_context`` and ``page``.

A pytest plugin registered in tests/conftest.py, so browser tests may live in any folder. Any
test that uses ``browser`` (directly or through ``page``/``new_context``) gets the ``browser``
marker, so ``-m "not browser"`` leaves them all out. Playwright's own browser download cannot
reach the closed lab network; the distribution's Chromium is used instead.

When a test fails, a full-page screenshot of every page it opened is saved in its tmp dir and
named in the report, next to the live server's log (tests/support/live_server.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Playwright, sync_playwright

from tests.support.live_server import REPORTS, has_failed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, and on the closed network every call is a
    # refused connection: noise in the logs and seconds lost at start-up.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    f"{CHROMIUM} was not found: the browser tests drive Debian's Chromium.\n"
    "Install it, e.g. on Debian/Ubuntu: apt-get update && apt-get install -y chromium"
)
# The lab PCs are set up in Kazakh; a test that needs another browser language says so.
LAB_LOCALE = "kk-KZ"
TIMEOUT_MS = 10_000

NewContext = Callable[..., BrowserContext]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole run (a fresh context per test isolates them)."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


def _save_screenshots(
    contexts: list[BrowserContext], folder: Path, request: pytest.FixtureRequest
) -> None:
    saved = []
    for c, context in enumerate(contexts, start=1):
        for p, page in enumerate(context.pages, start=1):
            path = folder / f"failure-context{c}-page{p}.png"
            try:
                page.screenshot(path=str(path), full_page=True, timeout=5_000)
            except Error as error:  # a crashed page must not hide the test's own failure
                saved.append(f"{page.url}: no screenshot ({error.message})")
                continue
            saved.append(f"{page.url}: {path}")
    report = request.node.stash.get(REPORTS, {}).get("call")
    if report is not None and saved:
        report.sections.append(("browser screenshots", "\n".join(saved)))


@pytest.fixture
def new_context(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[NewContext]:
    """Open fresh browser contexts (own cookies): ``new_context(locale="ru-RU", **options)``.

    Options are Playwright's ``Browser.new_context`` keywords. Several contexts in one test are
    several students (or a student and a proctor) at once.
    """
    contexts: list[BrowserContext] = []

    def make(*, locale: str = LAB_LOCALE, **options: Any) -> BrowserContext:
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        if has_failed(request.node):
            _save_screenshots(contexts, tmp_path, request)
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_context: NewContext) -> Page:
    """A page in a fresh context whose browser asks for Kazakh, like a lab PC."""
    return new_context().new_page()
