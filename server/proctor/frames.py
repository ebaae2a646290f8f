"""The live console's parts as HTML: the seat cards, the summary line and the event log.

The console page prints them (``proctor/console.html``) and the room hubs push them re-rendered
over the websocket (``server.proctor.live``), so a reload and a frame cannot drift apart. They
are written here rather than as Jinja macros because at an exam's start the consoles' frames
were the largest single part of the server's interpreter: every save, sign-in, admission and
start moves a card, and a macro-rendered card cost 4–5 times what this does
(docs/BENCHMARKS.md). Everything the database or a person wrote is escaped; translations are
escaped too, so a translator's quote cannot break an attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from server.events.store import Envelope
from server.i18n import N_, get_locale, gettext, translations_for
from server.proctor.grid import AttemptCard, RoomGrid, SeatCard
from server.proctor.service import STATE_NAMES
from server.proctor.violations import VIOLATION_NAMES
from server.web import clock

# Every msgid below is a call of _() or N_() outside any f-string: the catalog's extraction
# (babel.cfg) sees no call inside an f-string, nor one nested in another call.

_OOB = ' hx-swap-oob="true"'
_OPEN = frozenset({"admitted", "in_progress"})
_NO_SEAT = "—"

_SIGNAL_NAMES = {
    "focus_lost": N_("left the exam page"),
    "fullscreen_left": N_("left full screen"),
    "copy": N_("copied text"),
    "paste": N_("pasted text"),
    "second_tab": N_("opened a second tab"),
    "window_replaced": N_("opened the paper in another window"),
    "seat_changed": N_("signed in at another workstation"),
    "offline": N_("lost the connection"),
}
_OTHER_SIGNAL = N_("other signal")


def _html(text: str) -> Markup:
    """HTML put together in this module, where every value in it was escaped on the way in."""
    return Markup(text)  # noqa: S704 - each part escaped where it was written


def _(message: str, **values: object) -> Markup:
    """``message`` translated and escaped, with ``values`` escaped into it: what ``_()`` does in
    the templates (newstyle gettext), but escaping the translation as well."""
    translated = _translated(get_locale(), message)
    if not values:
        return translated
    # Numbers need no escaping, and Markup's own % escapes each value through a wrapper object:
    # a card's counts are most of what a frame formats.
    return _html(
        str.__mod__(
            translated,
            {k: v if type(v) is int else escape(v) for k, v in values.items()},
        )
    )


@lru_cache(maxsize=4096)
def _translated(locale: str, message: str) -> Markup:
    """A msgid's escaped translation; the msgids are the code's own, so the keys are few."""
    return escape(translations_for(locale).gettext(message))


def signal_name(kind: str) -> Markup:
    """What the student's page noticed, as the proctor reads it."""
    return _(_SIGNAL_NAMES.get(kind, _OTHER_SIGNAL))


def _seat_label(grid: RoomGrid, seat_id: object) -> str:
    return grid.seats.get(seat_id, _NO_SEAT) if isinstance(seat_id, int) else _NO_SEAT


def _state_label(attempt: AttemptCard) -> Markup:
    if attempt.disconnected:
        return _("disconnected")
    if attempt.state.value == "waiting":
        return _("waiting for the ID check")
    return _(STATE_NAMES[attempt.state.value])


def _button(action: str, attempt: AttemptCard, name: Markup, label: Markup) -> str:
    return (
        f'<button type="button" data-action="{action}" data-attempt="{attempt.attempt_id}" '
        f'data-name="{name}">{label}</button>'
    )


def _attempt_lines(attempt: AttemptCard) -> list[str]:
    name = escape(attempt.student_name)
    state = attempt.state.value
    shown: str = _state_label(attempt)
    if attempt.late:
        late = _("late entry")
        shown = f"{shown} · {late}"
    lines = [
        f'<p class="student"><strong>{name}</strong> '
        f'<span class="id-code">{escape(attempt.id_code)}</span></p>',
        f'<p class="state">{shown}</p>',
    ]
    if attempt.refused_reason:
        lines.append(f'<p class="reason">{escape(attempt.refused_reason)}</p>')
    answered = _(
        "%(answered)s of %(total)s answered",
        answered=attempt.answered,
        total=attempt.question_count,
    )
    lines.append(f'<p><span class="answered">{answered}</span></p>')
    if state in _OPEN:
        time_left = _("Time left")
        lines.append(
            f"<p>{time_left}: "
            f'<span class="time-left" data-deadline-ms="{attempt.deadline_ms}">—</span></p>'
        )
    if attempt.last_save_ms:
        last_save = _("Last save")
        lines.append(
            f'<p>{last_save}: <span class="ago" data-ms="{attempt.last_save_ms}">—</span></p>'
        )
    if attempt.signals:
        items = "".join(
            f"<li>{signal_name(kind)}: {count}</li>"
            for kind, count in sorted(attempt.signals.items(), key=lambda item: item[0].lower())
        )
        label = _("Signals")
        lines.append(f'<ul class="signals" aria-label="{label}">{items}</ul>')
    if state == "waiting":
        buttons = _button("admit", attempt, name, _("Admit")) + _button(
            "refuse", attempt, name, _("Refuse")
        )
    elif state in _OPEN:
        buttons = _button("violation", attempt, name, _("Record a violation")) + _button(
            "move", attempt, name, _("Move to another seat")
        )
    else:
        buttons = ""
    lines.append(f'<div class="actions">{buttons}</div>')
    return lines


def seat_card(card: SeatCard, *, oob: bool = False) -> Markup:
    """One workstation's card: who sits there, their state, progress, signals and actions."""
    attempt = card.attempt
    seat = card.seat_id
    data = (
        f' data-attempt="{attempt.attempt_id}" data-state="{attempt.state.value}"'
        f' data-answered="{attempt.answered}"'
        if attempt
        else ""
    )
    empty = _("empty")
    body = _attempt_lines(attempt) if attempt else [f'<p class="state">{empty}</p>']
    return _html(
        f'<article id="seat-{seat}" class="seat-card state-{card.shown_state}"'
        f'{_OOB if oob else ""} aria-labelledby="seat-{seat}-label" data-seat="{seat}"{data}>\n'
        f'<h3 id="seat-{seat}-label">{escape(card.label)}</h3>\n'
        + "\n".join(body)
        + "\n</article>\n"
    )


def summary(grid: RoomGrid, *, oob: bool = False) -> Markup:
    """The room's line of counts: waiting, admitted, answering, disconnected, finished, removed."""
    counts = grid.counts()
    parts = (
        _("Waiting: %(n)s", n=counts["waiting"]),
        _("Admitted: %(n)s", n=counts["admitted"]),
        _("Answering: %(n)s", n=counts["in_progress"]),
        _("Disconnected: %(n)s", n=counts["disconnected"]),
        _("Finished: %(n)s", n=counts["submitted"] + counts["timed_out"]),
        _("Removed: %(n)s", n=counts["removed"]),
    )
    return _html(
        f'<p id="summary-{grid.room_id}" class="summary" role="status"{_OOB if oob else ""}>'
        + " · ".join(parts)
        + "</p>\n"
    )


def grid_block(grid: RoomGrid, *, oob: bool = False) -> Markup:
    """Every card of the room in the seats' order, and the summary line."""
    cards = "".join(seat_card(card) for card in grid.cards())
    return _html(
        f'<div id="grid-{grid.room_id}" class="seat-grid"{_OOB if oob else ""}>\n{cards}</div>\n'
    ) + summary(grid, oob=oob)


def _closed_text(state: Any) -> Markup:
    if state == "submitted":
        return _("finished the exam")
    if state == "timed_out":
        return _("closed at the deadline")
    return _("removed from the exam")


def _event_text(event: Envelope, grid: RoomGrid) -> Markup:
    """What happened, in the proctor's words."""
    kind, p = event.kind, event.payload
    if kind == "room_opened":
        return _("the room was opened for sign-in")
    if kind == "signed_in":
        return _("signed in")
    if kind == "seat_changed":
        return _("signed in at another workstation")
    if kind == "admitted":
        if p.get("late"):
            return _("admitted late (late entry permitted)")
        return _("admitted after the ID check")
    if kind == "refused":
        return _("refused at the ID check: %(reason)s", reason=p.get("reason"))
    if kind == "started":
        return _("opened the paper")
    if kind == "window_replaced":
        return _("opened the paper in another window")
    if kind == "signal":
        return signal_name(str(p.get("kind")))
    if kind == "closed":
        return _closed_text(p.get("state"))
    if kind == "violation":
        violation = str(p.get("kind"))
        text = _(
            "violation recorded: %(kind)s", kind=gettext(VIOLATION_NAMES.get(violation, violation))
        )
        return text + Markup(" — ") + p["note"] if p.get("note") else text
    if kind == "violation_revoked":
        return _("the registrar revoked the violation: %(reason)s", reason=p.get("reason"))
    if kind == "seat_moved":
        return _("moved to workstation %(seat)s", seat=_seat_label(grid, p.get("to_seat_id")))
    if kind == "incident":
        text = _("incident: %(note)s", note=p.get("note"))
        if p.get("extra_minutes"):
            minutes = _("%(minutes)s extra minutes for the whole room", minutes=p["extra_minutes"])
            text += Markup(" — ") + minutes
        return text
    if kind == "presence":
        if p.get("online"):
            return _("the exam page connected")
        return _("the exam page disconnected")
    return escape(kind)


def log_line(event: Envelope, grid: RoomGrid, timezone: str) -> Markup:
    """One line of the room's event log: when, whose seat, what happened."""
    attempt = grid.attempts.get(event.attempt_id) if event.attempt_id else None
    who = (
        f"<strong>{escape(_seat_label(grid, attempt.seat_id))} · "
        f"{escape(attempt.student_name)}</strong>: "
        if attempt
        else ""
    )
    return _html(
        f'<li data-seq="{event.seq}"><time>{clock(event.at_ms, timezone)}</time> '
        f"{who}{_event_text(event, grid)}</li>\n"
    )


def log_lines(events: Iterable[Envelope], grid: RoomGrid, timezone: str) -> Markup:
    return _html("".join(log_line(event, grid, timezone) for event in events))


def frame(
    *,
    room_id: int,
    cards: Sequence[SeatCard],
    recount: bool,
    logged: Sequence[Envelope],
    first_seq: int,
    seq: int,
    emitted_ms: int,
    grid: RoomGrid | None,
    hub_grid: RoomGrid,
    timezone: str,
) -> str:
    """One websocket frame: out-of-band swaps of the cards (or the whole grid), the summary
    line when ``recount``, the new log lines (newest first), and the cursor the console's script
    reads as the range ``first_seq``..``seq``."""
    parts: list[str] = []
    if grid is not None:
        parts.append(grid_block(grid, oob=True))
    parts.extend(seat_card(card, oob=True) for card in cards)
    if cards and recount:
        parts.append(summary(hub_grid, oob=True))
    if logged:
        parts.append(
            f'<ol hx-swap-oob="afterbegin:#log-{room_id}">'
            f"{log_lines(reversed(logged), hub_grid, timezone)}</ol>\n"
        )
    parts.append(
        f'<span id="cursor-{room_id}" hidden data-room="{room_id}" data-first-seq="{first_seq}"'
        f' data-seq="{seq}" data-emitted-ms="{emitted_ms}"></span>'
    )
    return "".join(parts)
