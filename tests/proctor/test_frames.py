"""The console's parts as HTML: what a proctor reads on each card and log line, in their language,
with everything a person typed escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from server.i18n import DEFAULT_LOCALE, set_locale, translations_for
from server.models import AttemptState
from server.proctor import frames
from server.proctor.grid import SeatCard
from tests.proctor.test_grid import _card, _event, _grid

TIMEZONE = "UTC"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_locale("en")
    yield
    set_locale(DEFAULT_LOCALE)


def _seat(**changes: object) -> SeatCard:
    return SeatCard(seat_id=10, label="PC-01", room_id=2, attempt=_card(**changes))


def _log_text(event_kind: str, payload: dict[str, object], attempt_id: int | None = 1) -> str:
    event = replace(_event(7, "signed_in", attempt_id), kind=event_kind, payload=payload)
    return frames.log_line(event, _grid(_card()), TIMEZONE)


# --- escaping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "written", "escaped"),
    [
        ({"student_name": "<b>Ali</b>"}, "<b>Ali</b>", "&lt;b&gt;Ali&lt;/b&gt;"),
        ({"student_name": 'O"Neil'}, 'O"Neil', "O&#34;Neil"),  # also inside data-name="…"
        ({"id_code": "<S1>"}, "<S1>", "&lt;S1&gt;"),
        (
            {"state": AttemptState.REFUSED, "refused_reason": "<script>x</script>"},
            "<script>",
            "&lt;script&gt;x&lt;/script&gt;",
        ),
    ],
)
def test_what_people_wrote_on_a_card_is_escaped(
    changes: dict[str, object], written: str, escaped: str
) -> None:
    html = frames.seat_card(_seat(**changes))

    assert written not in html
    assert escaped in html


def test_a_seat_label_is_escaped() -> None:
    card = SeatCard(seat_id=10, label="<PC>", room_id=2, attempt=None)

    assert "&lt;PC&gt;" in frames.seat_card(card)


@pytest.mark.parametrize(
    ("kind", "payload", "escaped"),
    [
        ("refused", {"reason": "<i>no ID</i>"}, "&lt;i&gt;no ID&lt;/i&gt;"),
        ("violation", {"kind": "phone_or_gadget", "note": "<b>x</b>"}, "&lt;b&gt;x&lt;/b&gt;"),
        ("violation", {"kind": "<made-up>"}, "&lt;made-up&gt;"),
        ("violation_revoked", {"reason": "a & b"}, "a &amp; b"),
        ("incident", {"note": "<hr>"}, "&lt;hr&gt;"),
        ("<unknown>", {}, "&lt;unknown&gt;"),
    ],
)
def test_what_people_wrote_in_the_log_is_escaped(
    kind: str, payload: dict[str, object], escaped: str
) -> None:
    assert escaped in _log_text(kind, payload)


def test_a_translation_with_a_quote_cannot_break_an_attribute() -> None:
    # The signals' list names itself in aria-label="…"; a translation is escaped like a value.
    assert frames._('a "quoted" <word>') == "a &#34;quoted&#34; &lt;word&gt;"


# --- the card -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "online", "actions", "shown"),
    [
        (AttemptState.WAITING, None, ["admit", "refuse"], "waiting for the ID check"),
        (AttemptState.ADMITTED, None, ["violation", "move"], "admitted"),
        (AttemptState.IN_PROGRESS, True, ["violation", "move"], "answering"),
        (AttemptState.IN_PROGRESS, False, ["violation", "move"], "disconnected"),
        (AttemptState.SUBMITTED, None, [], "finished"),
        (AttemptState.TIMED_OUT, None, [], "closed at the deadline"),
        (AttemptState.REMOVED, None, [], "removed"),
        (AttemptState.REFUSED, None, [], "refused at the ID check"),
    ],
)
def test_a_card_offers_the_actions_of_its_state(
    state: AttemptState, online: bool | None, actions: list[str], shown: str
) -> None:
    html = frames.seat_card(_seat(state=state, online=online))

    assert [a for a in ("admit", "refuse", "violation", "move") if f'"{a}"' in html] == actions
    assert f'<p class="state">{shown}</p>' in html
    assert f'data-state="{state.value}"' in html


@pytest.mark.parametrize(
    ("state", "has_clock"),
    [
        (AttemptState.WAITING, False),
        (AttemptState.ADMITTED, True),
        (AttemptState.IN_PROGRESS, True),
        (AttemptState.SUBMITTED, False),
    ],
)
def test_only_an_open_attempt_shows_the_time_left(state: AttemptState, has_clock: bool) -> None:
    html = frames.seat_card(_seat(state=state))

    assert ('data-deadline-ms="10000"' in html) is has_clock


def test_a_card_shows_progress_the_last_save_and_a_late_entry() -> None:
    html = frames.seat_card(_seat(answered=7, last_save_ms=4_321, late=True))

    assert '<span class="answered">7 of 25 answered</span>' in html
    assert 'data-ms="4321"' in html
    assert "answering · late entry" in html


def test_a_card_without_a_save_has_no_last_save_line() -> None:
    assert "Last save" not in frames.seat_card(_seat())


def test_the_signals_are_listed_in_the_order_of_their_kinds() -> None:
    signals = Counter({"paste": 1, "copy": 3, "focus_lost": 2, "Zeta": 1})
    html = frames.seat_card(_seat(signals=signals))

    listed = html.split('<ul class="signals" aria-label="Signals">')[1].split("</ul>")[0]
    assert listed == (
        "<li>copied text: 3</li><li>left the exam page: 2</li>"
        "<li>pasted text: 1</li><li>other signal: 1</li>"
    )


def test_an_empty_seat_says_so_and_carries_no_attempt() -> None:
    html = frames.seat_card(SeatCard(seat_id=11, label="PC-02", room_id=2, attempt=None))

    assert 'class="seat-card state-empty"' in html
    assert "data-attempt" not in html
    assert '<p class="state">empty</p>' in html


@pytest.mark.parametrize("oob", [False, True])
def test_a_pushed_part_replaces_its_own_element(oob: bool) -> None:
    grid = _grid(_card())

    for html in (frames.seat_card(grid.card(10), oob=oob), frames.summary(grid, oob=oob)):
        assert ('hx-swap-oob="true"' in html) is oob
    block = frames.grid_block(grid, oob=oob)
    assert block.count('hx-swap-oob="true"') == (2 if oob else 0)  # the grid and the summary


# --- the summary ----------------------------------------------------------------------------


def test_the_summary_counts_finished_as_submitted_and_timed_out() -> None:
    grid = _grid(
        _card(1, state=AttemptState.WAITING),
        _card(2, state=AttemptState.IN_PROGRESS, online=False),
        _card(3, state=AttemptState.SUBMITTED),
        _card(4, state=AttemptState.TIMED_OUT),
        _card(5, state=AttemptState.REMOVED),
        _card(6, state=AttemptState.ADMITTED),
    )

    assert frames.summary(grid) == (
        '<p id="summary-2" class="summary" role="status">Waiting: 1 · Admitted: 1 · '
        "Answering: 0 · Disconnected: 1 · Finished: 2 · Removed: 1</p>\n"
    )


# --- the log --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "text"),
    [
        ("room_opened", {}, "the room was opened for sign-in"),
        ("signed_in", {}, "signed in"),
        ("seat_changed", {}, "signed in at another workstation"),
        ("admitted", {}, "admitted after the ID check"),
        ("admitted", {"late": True}, "admitted late (late entry permitted)"),
        ("refused", {"reason": "no ID card"}, "refused at the ID check: no ID card"),
        ("started", {}, "opened the paper"),
        ("window_replaced", {}, "opened the paper in another window"),
        ("signal", {"kind": "copy"}, "copied text"),
        ("signal", {"kind": "unheard-of"}, "other signal"),
        ("closed", {"state": "submitted"}, "finished the exam"),
        ("closed", {"state": "timed_out"}, "closed at the deadline"),
        ("closed", {"state": "removed"}, "removed from the exam"),
        ("violation", {"kind": "copying"}, "violation recorded: Copying"),
        (
            "violation",
            {"kind": "copying", "note": "from the neighbour"},
            "violation recorded: Copying — from the neighbour",
        ),
        ("violation_revoked", {"reason": "error"}, "the registrar revoked the violation: error"),
        ("seat_moved", {"to_seat_id": 11}, "moved to workstation PC-02"),
        ("seat_moved", {"to_seat_id": 99}, "moved to workstation —"),
        ("seat_moved", {"to_seat_id": None}, "moved to workstation —"),
        ("incident", {"note": "power cut"}, "incident: power cut"),
        (
            "incident",
            {"note": "power cut", "extra_minutes": 10},
            "incident: power cut — 10 extra minutes for the whole room",
        ),
        ("presence", {"online": True}, "the exam page connected"),
        ("presence", {"online": False}, "the exam page disconnected"),
    ],
)
def test_each_event_reads_in_the_proctors_words(
    kind: str, payload: dict[str, object], text: str
) -> None:
    assert _log_text(kind, payload) == (
        f'<li data-seq="7"><time>00:00:05</time> <strong>PC-01 · Aigerim</strong>: {text}</li>\n'
    )


def test_an_event_of_the_room_names_no_student() -> None:
    assert _log_text("room_opened", {}, attempt_id=None) == (
        '<li data-seq="7"><time>00:00:05</time> the room was opened for sign-in</li>\n'
    )


# --- languages ------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["kk", "ru"])
@pytest.mark.parametrize(
    ("kind", "payload", "msgid"),
    [
        ("signed_in", {}, "signed in"),
        ("signal", {"kind": "paste"}, "pasted text"),
        ("violation", {"kind": "copying"}, "Copying"),
        ("closed", {"state": "timed_out"}, "closed at the deadline"),
    ],
)
def test_the_log_speaks_the_proctors_language(
    locale: str, kind: str, payload: dict[str, object], msgid: str
) -> None:
    translated = translations_for(locale).gettext(msgid)
    assert translated != msgid, f"{msgid!r} has no {locale} translation"
    set_locale(locale)

    line = _log_text(kind, payload)

    assert translated in line
    assert msgid not in line


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_the_card_and_summary_speak_the_proctors_language(locale: str) -> None:
    catalog = translations_for(locale)
    set_locale(locale)
    grid = _grid(_card(state=AttemptState.WAITING))

    card = frames.seat_card(grid.card(10))
    line = frames.summary(grid)

    assert catalog.gettext("Admit") in card
    assert catalog.gettext("Refuse") in card
    answered = catalog.gettext("%(answered)s of %(total)s answered")
    assert answered % {"answered": 0, "total": 25} in card
    assert catalog.gettext("Waiting: %(n)s") % {"n": 1} in line


# --- the frame ------------------------------------------------------------------------------


def _frame(**changes: object) -> str:
    grid = _grid(_card())
    parts: dict[str, object] = {
        "room_id": 2,
        "cards": [grid.card(10)],
        "recount": False,
        "logged": [],
        "first_seq": 3,
        "seq": 5,
        "emitted_ms": 123,
        "grid": None,
        "hub_grid": grid,
        "timezone": TIMEZONE,
    }
    parts.update(changes)
    return frames.frame(**parts)  # type: ignore[arg-type]


def test_a_frame_ends_with_the_cursor_the_console_reads() -> None:
    assert _frame().endswith(
        '<span id="cursor-2" hidden data-room="2" data-first-seq="3" data-seq="5"'
        ' data-emitted-ms="123"></span>'
    )


@pytest.mark.parametrize(("recount", "summaries"), [(False, 0), (True, 1)])
def test_a_frame_recounts_the_summary_only_when_asked(recount: bool, summaries: int) -> None:
    assert _frame(recount=recount).count('id="summary-2"') == summaries


def test_a_frame_puts_the_newest_log_line_first() -> None:
    logged = [_event(3, "signed_in"), _event(4, "started"), _event(5, "saved_unknown")]
    html = _frame(logged=logged)

    log = html.split('<ol hx-swap-oob="afterbegin:#log-2">')[1].split("</ol>")[0]
    assert [line.split('"')[1] for line in log.splitlines()] == ["5", "4", "3"]


def test_a_frame_with_the_whole_grid_replaces_it() -> None:
    grid = _grid(_card())
    html = _frame(cards=[], grid=grid)

    assert '<div id="grid-2" class="seat-grid" hx-swap-oob="true">' in html
    assert html.count('class="seat-card') == 2  # both seats of the room
