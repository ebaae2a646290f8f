"""A student answers short-answer, numerical, matching and ordering items with the keyboard.

Real server, real Chromium, the page's own script: a typed answer is saved after a pause in
typing (no blur needed), the page's single-key shortcuts stay quiet while the student types or
picks in a list, ordering is done with the move buttons alone, and the result counts all four.
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from server.models import Discipline, Item, ItemStatus, PaperQuestion, Result
from server.seat.closing import current_answers
from tests.browser.plugin import NewContext
from tests.browser.test_exam_at_the_seat import (
    QUESTIONS,
    _admit,
    _attempt,
    _proctor,
    _seat_link,
    _sign_in_at_seat,
)
from tests.seat.factories import NEW_KINDS, create_new_kind_items
from tests.support.live_server import LiveServer, LiveServerFactory

SPECTRUM = ["violet", "blue", "green", "red"]


def _seed(server: LiveServer) -> None:
    """Leave 21 approved demo items and add one of each new kind: the paper holds them all."""
    with server.session() as db:
        discipline = db.execute(select(Discipline).where(Discipline.code == "MATH101")).scalar_one()
        ids = db.execute(
            select(Item.id).where(Item.discipline_id == discipline.id).order_by(Item.id)
        ).scalars()
        keep = list(ids)[: QUESTIONS - len(NEW_KINDS)]
        db.execute(
            update(Item)
            .where(Item.discipline_id == discipline.id, Item.id.not_in(keep))
            .values(status=ItemStatus.RETIRED)
        )
        create_new_kind_items(db, discipline, first_number=101)


def _position(page: Page, selector: str) -> int:
    return int(page.locator(selector).first.get_attribute("data-q") or 0)


def _go(page: Page, current: int, target: int) -> int:
    """Page through with N / P, as the keys hint says; the focus is not in a text field.

    The question's heading has the focus afterwards, so Tab reaches its first control.
    """
    for _ in range(abs(target - current)):
        page.keyboard.press("KeyN" if target > current else "KeyP")
    expect(page.get_by_role("heading", name=f"Question {target} of {QUESTIONS}")).to_be_visible()
    return target


def _saved(page: Page, position: int) -> None:
    expect(page.locator(f"#q{position} .save-state")).to_have_text("Saved")


def test_every_new_kind_answered_with_the_keyboard(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server(demo_starts_in=2, start=False)
    _seed(server)
    server.start()
    proctor = _proctor(server, new_context)
    page = new_context().new_page()
    _sign_in_at_seat(page, _seat_link(server, 3))
    _admit(proctor, late=True)
    expect(page.locator("#attempt")).to_be_visible(timeout=10_000)
    expect(page.locator("#link-state")).to_have_text("Saved")

    short = _position(page, 'section[data-kind="text"]:not(:has([inputmode="decimal"]))')
    number = _position(page, 'section[data-kind="text"]:has([inputmode="decimal"])')
    matching = _position(page, 'section[data-kind="matching"]')
    ordering = _position(page, 'section[data-kind="ordering"]')
    # N then P: back on question 1 with its heading focused, as after any move between questions.
    page.keyboard.press("KeyN")
    current = _go(page, 2, 1)
    for position in sorted([short, number, matching, ordering]):
        current = _go(page, current, position)
        section = page.locator(f"#q{position}")
        if position in (short, number):
            # From the question's heading, Tab reaches the answer field.
            page.keyboard.press("Tab")
            field = section.locator(".answer-text")
            expect(field).to_be_focused()
            # "N" and "F" are shortcuts elsewhere; here they are letters of the answer.
            field.press_sequentially("  ASTANA  " if position == short else "9,86")
            _saved(page, position)  # after the pause in typing, still in the field
            expect(field).to_be_focused()
            expect(section.locator(".flag-toggle")).not_to_be_checked()
            page.keyboard.press("Tab")  # leave the field, so N pages on again
        elif position == matching:
            for unit in ("newton", "joule", "watt"):
                page.keyboard.press("Tab")
                # Typing selects by the first letters; "n" and "w" must not page on.
                page.keyboard.type(unit)
            selects = section.locator("select")
            for index, unit in enumerate(("newton", "joule", "watt")):
                expect(selects.nth(index).locator("option:checked")).to_have_text(unit)
            _saved(page, position)
            page.keyboard.press("Tab")
        else:
            entries = section.locator("li.entry")
            for place, colour in enumerate(SPECTRUM):
                texts = [t.strip() for t in entries.locator(".text").all_inner_texts()]
                moves = texts.index(colour) - place
                if moves:
                    up = entries.filter(has_text=colour).locator(".move-up")
                    up.focus()
                    for _ in range(moves):
                        page.keyboard.press("Enter")  # the focus stays on the moved button
                    expect(up).to_be_focused()
            expect(entries.locator(".text")).to_have_text(SPECTRUM)
            # The order shown may have needed no move at all: say it is the answer.
            section.locator(".keep-order").focus()
            page.keyboard.press("Space")
            _saved(page, position)
        expect(
            page.get_by_role("heading", name=f"Question {position} of {QUESTIONS}")
        ).to_be_visible()
    expect(page.locator(".navigator button.answered")).to_have_count(4)

    # A reload shows every answer as saved.
    page.reload()
    expect(page.locator("#link-state")).to_have_text("Saved")
    expect(page.locator(".navigator button.answered")).to_have_count(4)
    expect(page.locator(f"#q{number} .answer-text")).to_have_value("9,86")
    expect(page.locator(f"#q{ordering} li.entry .text")).to_have_text(SPECTRUM)

    attempt = _attempt(server)
    with server.session() as db:
        latest = current_answers(db, attempt.id)
        paper = db.execute(select(PaperQuestion).where(PaperQuestion.attempt_id == attempt.id))
        answers = {q.position: latest[q.id].answer for q in paper.scalars() if q.id in latest}
    assert answers[short] == {"text": "  ASTANA  "}
    assert answers[number] == {"text": "9,86"}
    assert [pair[0] for pair in answers[matching]["pairs"]] == [1, 2, 3]
    assert len(answers[ordering]["order"]) == 4

    page.get_by_role("link", name="Finish the exam").click()
    page.get_by_role("button", name="Finish and see my result").click()
    expect(page.get_by_role("table", name="Your result")).to_be_visible()
    expect(page.locator("td.score").first).to_have_text(re.compile(r"^16[.,]00$"))
    with server.session() as db:
        result = db.execute(select(Result).where(Result.attempt_id == attempt.id)).scalar_one()
    # All four right: "  ASTANA  " (case and spaces), 9,86 (9.81 + 0.05), 3 of 3, in order.
    assert result.exam_percent == Decimal("16.00")
