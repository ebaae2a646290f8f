"""The room protocol as text in the reader's language: one sheet that the page and the PDF print.

Both outputs render this sheet and nothing else, so the printed page and the PDF cannot say
different things. Times are the university's wall clock (``settings.timezone``); a time on the
sitting's own day is written without its date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.i18n import N_, get_locale, gettext
from server.proctor.protocol import EventKind, Outcome, ProtocolEvent, ProtocolRow, RoomProtocol
from server.proctor.service import STATE_NAMES
from server.proctor.violations import VIOLATION_NAMES

DASH = "—"

# The same msgids as the live console's names (server/proctor/console.py): one translation each.

EVENT_NAMES: dict[EventKind, str] = {
    EventKind.VIOLATION: N_("Violation"),
    EventKind.VIOLATION_REVOKED: N_("Violation revoked"),
    EventKind.INCIDENT: N_("Incident"),
    EventKind.SEAT_MOVED: N_("Seat move"),
    EventKind.SEAT_CHANGED: N_("Signed in at another workstation"),
    EventKind.REFUSED: N_("Refused at the ID check"),
}

_CLOSED_NAMES: dict[Outcome, str] = {
    Outcome.WAITING: N_("not admitted"),
    Outcome.ADMITTED: STATE_NAMES["admitted"],
    Outcome.SITTING: STATE_NAMES["in_progress"],
    Outcome.FINISHED: STATE_NAMES["submitted"],
    Outcome.TIMED_OUT: STATE_NAMES["timed_out"],
    Outcome.REMOVED: N_("removed for a violation"),
    Outcome.REFUSED: N_("refused at the ID check"),
}


@dataclass(frozen=True)
class SheetField:
    label: str
    value: str


@dataclass(frozen=True)
class SheetRow:
    cells: tuple[tuple[str, ...], ...]  # each cell is one or more lines
    mark: str  # a CSS class: the attempt's outcome, or "revoked"


@dataclass(frozen=True)
class SheetTable:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[SheetRow, ...]
    empty: str


@dataclass(frozen=True)
class ProtocolSheet:
    locale: str
    title: str
    subtitle: str
    fields: tuple[SheetField, ...]
    attempts: SheetTable
    events: SheetTable
    signatures_title: str
    signature_label: str
    # One line each; an empty name is a blank line for a proctor the server does not know of.
    signers: tuple[str, ...]
    filename: str


class _Clock:
    def __init__(self, timezone: str, day_of: datetime) -> None:
        self.zone = ZoneInfo(timezone)
        self.day = day_of.astimezone(self.zone).date()

    def full(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def short(self, instant: datetime | None) -> str:
        if instant is None:
            return DASH
        local = instant.astimezone(self.zone)
        return local.strftime("%H:%M") if local.date() == self.day else self.full(instant)


def _admitted(row: ProtocolRow, clock: _Clock) -> tuple[str, ...]:
    if row.admitted_at is None:
        return (DASH,)
    lines = [clock.short(row.admitted_at)]
    if row.admitted_by:
        lines.append(gettext("by %(name)s") % {"name": row.admitted_by})
    if row.late_entry_permitted_by:
        lines.append(
            gettext("late entry permitted by %(name)s") % {"name": row.late_entry_permitted_by}
        )
    elif row.late_entry:
        lines.append(gettext("late entry"))
    return tuple(lines)


def _closed(row: ProtocolRow, clock: _Clock) -> tuple[str, ...]:
    lines = [clock.short(row.closed_at)] if row.closed_at is not None else []
    if row.outcome is Outcome.REFUSED and row.refused_reason:
        lines.append(
            gettext("refused at the ID check: %(reason)s") % {"reason": row.refused_reason}
        )
    else:
        lines.append(gettext(_CLOSED_NAMES[row.outcome]))
    if row.refused_by:
        lines.append(gettext("by %(name)s") % {"name": row.refused_by})
    return tuple(lines)


def _attempt_row(row: ProtocolRow, clock: _Clock) -> SheetRow:
    return SheetRow(
        cells=(
            (row.seat_label or DASH,),
            (row.student_name,),
            (row.id_code,),
            (clock.short(row.signed_in_at),),
            _admitted(row, clock),
            (clock.short(row.started_at),),
            _closed(row, clock),
            (f"{row.answered} / {row.question_count}",),
        ),
        mark=f"outcome-{row.outcome.value}",
    )


def _violation_name(kind: str | None) -> str:
    if kind is None:
        return DASH
    msgid = VIOLATION_NAMES.get(kind)
    return gettext(msgid) if msgid else kind


def _seats(event: ProtocolEvent) -> str:
    return f"{event.from_seat or DASH} → {event.to_seat or DASH}"


def _details(event: ProtocolEvent) -> tuple[str, ...]:
    lines: list[str] = []
    match event.kind:
        case EventKind.VIOLATION:
            lines.append(_violation_name(event.violation_kind))
            if event.note:
                lines.append(event.note)
            if event.revoked:
                lines.append(
                    gettext("revoked: %(reason)s") % {"reason": event.revoke_reason}
                    if event.revoke_reason
                    else gettext("revoked")
                )
        case EventKind.VIOLATION_REVOKED:
            lines.append(_violation_name(event.violation_kind))
            if event.note:
                lines.append(event.note)
        case EventKind.INCIDENT:
            if event.note:
                lines.append(event.note)
            if event.extra_minutes:
                lines.append(
                    gettext("extra time: %(minutes)s minutes") % {"minutes": event.extra_minutes}
                )
        case EventKind.SEAT_MOVED | EventKind.SEAT_CHANGED:
            lines.append(_seats(event))
        case EventKind.REFUSED:
            if event.note:
                lines.append(event.note)
    return tuple(lines) or (DASH,)


def _event_row(event: ProtocolEvent, clock: _Clock) -> SheetRow:
    who = (
        (event.student_name, event.id_code or "")
        if event.student_name is not None
        else (gettext("the whole room"),)
    )
    return SheetRow(
        cells=(
            (clock.short(event.at),),
            (gettext(EVENT_NAMES[event.kind]),),
            who,
            _details(event),
            (event.actor or DASH,),
        ),
        mark="revoked" if event.revoked else f"event-{event.kind.value}",
    )


def _filename(protocol: RoomProtocol, clock: _Clock) -> str:
    header = protocol.header
    room = re.sub(r"[^A-Za-z0-9_-]+", "-", header.room_code).strip("-") or str(header.room_id)
    day = header.scheduled_start.astimezone(clock.zone).strftime("%Y-%m-%d")
    return f"protocol-exam-{header.exam_id}-{room}-{day}.pdf"


def protocol_sheet(protocol: RoomProtocol, *, timezone: str) -> ProtocolSheet:
    """The protocol's text in the current language, times in ``timezone``."""
    header = protocol.header
    clock = _Clock(timezone, header.scheduled_start)
    deadline = clock.full(header.deadline)
    if header.extra_minutes:
        deadline = gettext("%(time)s, including %(minutes)s minutes of extra time") % {
            "time": deadline,
            "minutes": header.extra_minutes,
        }
    if header.opened_at is None:
        opened = gettext("not yet")
    elif header.opened_by:
        opened = gettext("%(time)s by %(names)s") % {
            "time": clock.full(header.opened_at),
            "names": ", ".join(header.opened_by),
        }
    else:
        opened = clock.full(header.opened_at)
    fields = (
        SheetField(gettext("Exam"), header.exam_title),
        SheetField(gettext("Disciplines"), "; ".join(header.disciplines) or DASH),
        SheetField(gettext("Room"), f"{header.room_code} {header.room_name}".strip()),
        SheetField(gettext("Start"), clock.full(header.scheduled_start)),
        SheetField(gettext("Deadline"), deadline),
        SheetField(gettext("Room opened"), opened),
        SheetField(gettext("Printed"), clock.full(header.printed_at)),
    )
    attempts = SheetTable(
        caption=gettext("Students in the room"),
        columns=(
            gettext("Workstation"),
            gettext("Student"),
            gettext("ID code"),
            gettext("Signed in"),
            gettext("Admitted"),
            gettext("Started"),
            gettext("Closed"),
            gettext("Answered"),
        ),
        rows=tuple(_attempt_row(row, clock) for row in protocol.rows),
        empty=gettext("Nobody has signed in yet."),
    )
    events = SheetTable(
        caption=gettext("Events"),
        columns=(
            gettext("Time"),
            gettext("Event"),
            gettext("Student"),
            gettext("Details"),
            gettext("Recorded by"),
        ),
        rows=tuple(_event_row(event, clock) for event in protocol.events),
        empty=gettext("No events were recorded."),
    )
    return ProtocolSheet(
        locale=get_locale(),
        title=gettext("Room protocol"),
        subtitle=f"{header.exam_title} · {header.room_code}",
        fields=fields,
        attempts=attempts,
        events=events,
        signatures_title=gettext("Proctors' signatures"),
        signature_label=gettext("signature"),
        signers=protocol.proctors or ("", ""),
        filename=_filename(protocol, clock),
    )
