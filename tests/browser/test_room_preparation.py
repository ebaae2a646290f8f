"""Room preparation in real browsers: IT enrols a lab PC, a proctor confirms its code.

One context is the workstation (a Kazakh lab PC), another the proctor. The PC's page polls by
itself, receives the seat cookie and lands on its seat's sign-in page; its heartbeat then shows
the seat online on the proctor's page.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from server.demo import STAFF_PASSWORD
from server.models import Room, Seat
from tests.browser.plugin import NewContext
from tests.support.live_server import LiveServerFactory

SEAT = "PC-07"


def test_a_pc_is_enrolled_by_its_code_and_opens_its_seat(
    live_server: LiveServerFactory, new_context: NewContext
) -> None:
    server = live_server()
    with server.session() as db:
        room = db.execute(select(Room).where(Room.code == "LAB-301")).scalar_one()
        seat_id = db.execute(
            select(Seat.id).where(Seat.room_id == room.id, Seat.label == SEAT)
        ).scalar_one()
        room_id = room.id

    pc = new_context().new_page()
    pc.goto(f"{server.url}/rooms/LAB-301/enrol")
    pc.locator("form[action='/rooms/LAB-301/enrol'] button[type=submit]").click()
    code_shown = pc.locator("#enrol-code")
    expect(code_shown).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    code = code_shown.inner_text()

    proctor = new_context(locale="en-US").new_page()
    proctor.goto(f"{server.url}/login")
    proctor.fill("#login", "proctor")
    proctor.fill("#password", STAFF_PASSWORD)
    proctor.press("#password", "Enter")
    expect(proctor).not_to_have_url(f"{server.url}/login")
    proctor.goto(f"{server.url}/proctor/rooms/{room_id}/seats")
    # The waiting code appears on the proctor's page by itself.
    expect(proctor.locator("#pending")).to_contain_text(code.replace(" ", ""))
    proctor.fill("#code", code)
    proctor.select_option("#seat_label", SEAT)
    proctor.locator("form[action$='/seats/confirm'] button[type=submit]").click()
    expect(proctor.locator(".notice.ok")).to_contain_text(SEAT)

    # The PC's next poll carries the seat cookie and opens the seat's sign-in page.
    expect(pc).to_have_url(f"{server.url}/seat")
    expect(pc.locator(".seat-name")).to_contain_text(SEAT)
    expect(pc.locator("#id_code")).to_be_visible()
    cookies = {c["name"]: c for c in pc.context.cookies()}
    assert cookies["emtihan_seat"]["httpOnly"] is True
    assert cookies["emtihan_seat"]["sameSite"] == "Lax"
    assert "emtihan_enrol" not in cookies

    # Its heartbeat makes the seat online on the proctor's page (polled every 5 s).
    expect(proctor.locator(f"#readiness-seat-{seat_id} .link-state.ok")).to_be_visible(
        timeout=15_000
    )
