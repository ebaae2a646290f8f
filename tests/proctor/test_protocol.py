"""The room protocol: every attempt and notable event of a sitting, on the page and in the PDF."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.events.store import emit
from server.i18n import set_locale
from server.models import (
    Attempt,
    AttemptState,
    AuditEntry,
    Language,
    Role,
    RoomIncident,
    Seat,
    User,
    Violation,
)
from server.proctor.protocol import (
    EventKind,
    Outcome,
    ProtocolEvent,
    ProtocolRow,
    RoomProtocol,
    room_protocol,
)
from server.proctor.protocol_pdf import protocol_pdf
from server.proctor.protocol_sheet import protocol_sheet
from tests import factories
from tests.seat.factories import World, create_world

TIMEZONE = "Asia/Almaty"
START = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)  # mid-morning in Almaty
PRINTED = START + timedelta(hours=2)
KAZAKH_LETTERS = "әіңғүұқөһ"


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


def local(instant: datetime, pattern: str = "%H:%M") -> str:
    return instant.astimezone(ZoneInfo(TIMEZONE)).strftime(pattern)


@dataclass
class Scenario:
    """A whole sitting: six students, two proctors, a registrar, and what happened."""

    world: World
    proctor_a: User
    proctor_b: User
    registrar: User
    finished: Attempt
    late: Attempt
    refused: Attempt
    removed: Attempt
    moved: Attempt
    waiting: Attempt
    standing: Violation
    revoked: Violation
    incident: RoomIncident

    @property
    def exam_id(self) -> int:
        return self.world.exam.id

    @property
    def room_id(self) -> int:
        return self.world.room.id


def _staff(db: Session, role: Role, name: str) -> User:
    user = factories.create_user(db, role=role)
    user.full_name = name
    return user


def _seat(db: Session, world: World, label: str) -> Seat:
    found = db.execute(
        select(Seat).where(Seat.room_id == world.room.id, Seat.label == label)
    ).scalar_one_or_none()
    if found is not None:
        return found
    seat = Seat(room_id=world.room.id, label=label)
    db.add(seat)
    db.flush()
    return seat


def _attempt(
    db: Session,
    world: World,
    *,
    name: str,
    seat: str,
    state: AttemptState,
    signed_in_at: datetime,
    **fields: object,
) -> Attempt:
    student = world.new_student(db)
    student.full_name = name
    attempt = Attempt(
        exam_id=world.exam.id,
        student_id=student.id,
        room_id=world.room.id,
        seat_id=_seat(db, world, seat).id,
        state=state,
        language=Language.KK,
        signed_in_at=signed_in_at,
        deadline=minutes(70),
        **fields,
    )
    db.add(attempt)
    db.flush()
    return attempt


def _emit(
    db: Session,
    world: World,
    kind: str,
    at: datetime,
    attempt: Attempt | None = None,
    *,
    actor: int | None = None,
    payload: Mapping[str, object] | None = None,
) -> None:
    emit(
        db,
        exam_id=world.exam.id,
        room_id=world.room.id,
        kind=kind,
        now=at,
        attempt_id=attempt.id if attempt else None,
        actor_id=actor,
        payload=dict(payload or {}),
    )


def build_room(db: Session) -> Scenario:
    world = create_world(db, start=START)
    world.discipline.code, world.discipline.name = "MATH101", "Математикалық талдау"
    world.room.code = "LAB-301"
    a = _staff(db, Role.PROCTOR, "Бақытжан Ержанов")
    b = _staff(db, Role.PROCTOR, "Гүлнар Сейітова")
    registrar = _staff(db, Role.REGISTRAR, "Registrar Office")

    world.exam_room.activated_at = minutes(-15)
    world.exam_room.activated_by_id = a.id
    world.exam_room.extra_minutes = 10
    _emit(db, world, "room_opened", minutes(-15), actor=a.id)

    finished = _attempt(
        db,
        world,
        name="Әсел Ғабитқызы",
        seat="PC-01",
        state=AttemptState.SUBMITTED,
        signed_in_at=minutes(-8),
        admitted_at=minutes(-6),
        admitted_by_id=a.id,
        started_at=minutes(0.5),
        closed_at=minutes(50),
        answered=25,
    )
    late = _attempt(
        db,
        world,
        name="Нұрлан Үмбетов",
        seat="PC-02",
        state=AttemptState.TIMED_OUT,
        signed_in_at=minutes(12),
        admitted_at=minutes(14),
        admitted_by_id=b.id,
        late_entry_permitted_by_id=b.id,
        started_at=minutes(15),
        closed_at=minutes(70),
        answered=20,
    )
    refused = _attempt(
        db,
        world,
        name="Өмірзақ Шаһанов",
        seat="PC-03",
        state=AttemptState.REFUSED,
        signed_in_at=minutes(-5),
        refused_reason="The ID card is someone else's",
    )
    _emit(
        db,
        world,
        "refused",
        minutes(-4),
        refused,
        actor=a.id,
        payload={"reason": "ignored: the row wins"},
    )
    removed = _attempt(
        db,
        world,
        name="Іңкәр Сәрсенбаева",
        seat="PC-9",
        state=AttemptState.REMOVED,
        signed_in_at=minutes(-9),
        admitted_at=minutes(-7),
        admitted_by_id=a.id,
        started_at=minutes(0),
        closed_at=minutes(20),
        answered=7,
    )
    moved = _attempt(
        db,
        world,
        name="Ғалым Сағатов",
        seat="PC-10",
        state=AttemptState.SUBMITTED,
        signed_in_at=minutes(-6),
        admitted_at=minutes(-2),
        admitted_by_id=b.id,
        started_at=minutes(1),
        closed_at=minutes(55),
        answered=24,
    )
    seat_04, seat_05 = _seat(db, world, "PC-04"), _seat(db, world, "PC-05")
    seat_10 = _seat(db, world, "PC-10")
    _emit(
        db,
        world,
        "seat_changed",
        minutes(-3),
        moved,
        payload={"from_seat_id": seat_05.id, "to_seat_id": seat_04.id},
    )
    waiting = _attempt(
        db,
        world,
        name="Ұлжан Төлеуова",
        seat="PC-05",
        state=AttemptState.WAITING,
        signed_in_at=minutes(-1),
    )

    standing = Violation(
        attempt_id=removed.id,
        kind="phone_or_gadget",
        note="A phone switched on in the pocket",
        recorded_by_id=a.id,
        recorded_at=minutes(20),
    )
    revoked = Violation(
        attempt_id=moved.id,
        kind="changing_seats",
        note="Sat at PC-10 without asking",
        recorded_by_id=b.id,
        recorded_at=minutes(25),
        revoked_at=START + timedelta(days=1),
        revoked_by_id=registrar.id,
        revoke_reason="The proctor had moved the student",
    )
    incident = RoomIncident(
        exam_id=world.exam.id,
        room_id=world.room.id,
        note="Power failure in row B",
        extra_minutes=10,
        recorded_by_id=a.id,
        recorded_at=minutes(30),
    )
    db.add_all([standing, revoked, incident])
    _emit(
        db,
        world,
        "seat_moved",
        minutes(22),
        moved,
        actor=b.id,
        payload={"from_seat_id": seat_04.id, "to_seat_id": seat_10.id},
    )
    # Log kinds the protocol does not list.
    saved = {"question": 1, "answered": 1, "question_count": 25}
    _emit(db, world, "saved", minutes(5), finished, payload=saved)
    _emit(db, world, "signal", minutes(6), late, payload={"kind": "focus_lost"})
    db.flush()
    return Scenario(
        world=world,
        proctor_a=a,
        proctor_b=b,
        registrar=registrar,
        finished=finished,
        late=late,
        refused=refused,
        removed=removed,
        moved=moved,
        waiting=waiting,
        standing=standing,
        revoked=revoked,
        incident=incident,
    )


@pytest.fixture
def room(db: Session) -> Scenario:
    return build_room(db)


def _protocol(db: Session, room: Scenario) -> RoomProtocol:
    return room_protocol(db, exam_id=room.exam_id, room_id=room.room_id, now=PRINTED)


def _row(attempt: Attempt, **fields: object) -> ProtocolRow:
    base: dict[str, object] = {
        "attempt_id": attempt.id,
        "student_name": attempt.student.full_name,
        "id_code": attempt.student.id_code,
        "signed_in_at": attempt.signed_in_at,
        "admitted_at": attempt.admitted_at,
        "admitted_by": None,
        "late_entry": False,
        "late_entry_permitted_by": None,
        "started_at": attempt.started_at,
        "closed_at": attempt.closed_at,
        "refused_by": None,
        "refused_reason": None,
        "answered": attempt.answered,
        "question_count": 25,
    }
    return ProtocolRow(**{**base, **fields})  # type: ignore[arg-type]


# --- the service --------------------------------------------------------------------------


def test_the_header_names_the_sitting_and_who_opened_the_room(db: Session, room: Scenario) -> None:
    header = _protocol(db, room).header
    assert header.exam_title == room.world.exam.title
    assert header.disciplines == ("MATH101 Математикалық талдау",)
    assert (header.room_code, header.room_name) == ("LAB-301", "Lab")
    assert header.scheduled_start == START
    # 60 minutes and the room's 10 minutes of extra time.
    assert (header.extra_minutes, header.deadline) == (10, minutes(70))
    assert (header.opened_at, header.opened_by) == (minutes(-15), ("Бақытжан Ержанов",))
    assert header.printed_at == PRINTED


def test_one_row_per_attempt_in_seat_order(db: Session, room: Scenario) -> None:
    rows = _protocol(db, room).rows
    a, b = room.proctor_a.full_name, room.proctor_b.full_name
    assert rows == (
        _row(room.finished, seat_label="PC-01", admitted_by=a, outcome=Outcome.FINISHED),
        _row(
            room.late,
            seat_label="PC-02",
            admitted_by=b,
            late_entry=True,
            late_entry_permitted_by=b,
            outcome=Outcome.TIMED_OUT,
        ),
        _row(
            room.refused,
            seat_label="PC-03",
            # The time and proctor of a refusal are the log's; the reason is the attempt's.
            closed_at=minutes(-4),
            outcome=Outcome.REFUSED,
            refused_by=a,
            refused_reason="The ID card is someone else's",
        ),
        _row(room.waiting, seat_label="PC-05", outcome=Outcome.WAITING),
        # PC-9 before PC-10: labels are sorted by their numbers.
        _row(room.removed, seat_label="PC-9", admitted_by=a, outcome=Outcome.REMOVED),
        _row(room.moved, seat_label="PC-10", admitted_by=b, outcome=Outcome.FINISHED),
    )


def test_the_notable_events_in_order(db: Session, room: Scenario) -> None:
    events = _protocol(db, room).events
    a, b = room.proctor_a.full_name, room.proctor_b.full_name

    def of(attempt: Attempt) -> dict[str, object]:
        return {
            "attempt_id": attempt.id,
            "student_name": attempt.student.full_name,
            "id_code": attempt.student.id_code,
        }

    assert events == (
        ProtocolEvent(
            at=minutes(-4),
            kind=EventKind.REFUSED,
            actor=a,
            note="The ID card is someone else's",
            **of(room.refused),  # type: ignore[arg-type]
        ),
        ProtocolEvent(
            at=minutes(-3),
            kind=EventKind.SEAT_CHANGED,
            actor=None,
            from_seat="PC-05",
            to_seat="PC-04",
            **of(room.moved),  # type: ignore[arg-type]
        ),
        ProtocolEvent(
            at=minutes(20),
            kind=EventKind.VIOLATION,
            actor=a,
            note="A phone switched on in the pocket",
            violation_kind="phone_or_gadget",
            **of(room.removed),  # type: ignore[arg-type]
        ),
        ProtocolEvent(
            at=minutes(22),
            kind=EventKind.SEAT_MOVED,
            actor=b,
            from_seat="PC-04",
            to_seat="PC-10",
            **of(room.moved),  # type: ignore[arg-type]
        ),
        ProtocolEvent(
            at=minutes(25),
            kind=EventKind.VIOLATION,
            actor=b,
            note="Sat at PC-10 without asking",
            violation_kind="changing_seats",
            revoked=True,
            revoke_reason="The proctor had moved the student",
            **of(room.moved),  # type: ignore[arg-type]
        ),
        ProtocolEvent(
            at=minutes(30),
            kind=EventKind.INCIDENT,
            attempt_id=None,
            student_name=None,
            id_code=None,
            actor=a,
            note="Power failure in row B",
            extra_minutes=10,
        ),
        ProtocolEvent(
            at=START + timedelta(days=1),
            kind=EventKind.VIOLATION_REVOKED,
            actor="Registrar Office",
            note="The proctor had moved the student",
            violation_kind="changing_seats",
            **of(room.moved),  # type: ignore[arg-type]
        ),
    )


def test_the_proctors_who_sign_are_those_who_acted(db: Session, room: Scenario) -> None:
    # The registrar revoked a violation but was not in the room.
    assert _protocol(db, room).proctors == ("Бақытжан Ержанов", "Гүлнар Сейітова")


def test_another_rooms_sitting_is_not_in_the_protocol(db: Session, room: Scenario) -> None:
    other = create_world(db, start=START)
    _attempt(
        db,
        other,
        name="Elsewhere",
        seat="PC-01",
        state=AttemptState.SUBMITTED,
        signed_in_at=minutes(-5),
    )
    names = {row.student_name for row in _protocol(db, room).rows}
    assert "Elsewhere" not in names
    assert len(names) == 6


def test_an_empty_sitting(db: Session) -> None:
    world = create_world(db, start=START, opened=False)
    protocol = room_protocol(db, exam_id=world.exam.id, room_id=world.room.id, now=PRINTED)
    assert (protocol.rows, protocol.events, protocol.proctors) == ((), (), ())
    assert (protocol.header.opened_at, protocol.header.opened_by) == (None, ())
    sheet = protocol_sheet(protocol, timezone=TIMEZONE)
    # Blank signature lines for proctors the server does not know of.
    assert sheet.signers == ("", "")


def test_an_unknown_exam_or_room_is_not_found(db: Session, room: Scenario) -> None:
    other_room = factories.create_room(db)
    with pytest.raises(NotFound):
        room_protocol(db, exam_id=room.exam_id, room_id=other_room.id, now=PRINTED)
    with pytest.raises(NotFound):
        room_protocol(db, exam_id=room.exam_id + 1000, room_id=room.room_id, now=PRINTED)


# --- the sheet: what the page and the PDF print ------------------------------------------


def test_the_sheet_in_english(db: Session, room: Scenario) -> None:
    sheet = protocol_sheet(_protocol(db, room), timezone=TIMEZONE)
    a, b = room.proctor_a.full_name, room.proctor_b.full_name
    fields = {field.label: field.value for field in sheet.fields}
    full = "%Y-%m-%d %H:%M"
    assert fields["Deadline"] == (f"{local(minutes(70), full)}, including 10 minutes of extra time")
    assert fields["Room opened"] == f"{local(minutes(-15), full)} by {a}"
    assert fields["Room"] == "LAB-301 Lab"
    assert sheet.attempts.columns == (
        "Workstation",
        "Student",
        "ID code",
        "Signed in",
        "Admitted",
        "Started",
        "Closed",
        "Answered",
    )
    cells = [row.cells for row in sheet.attempts.rows]
    assert cells[0][4] == (local(minutes(-6)), f"by {a}")
    assert cells[0][6] == (local(minutes(50)), "finished")
    assert cells[0][7] == ("25 / 25",)
    assert cells[1][4] == (local(minutes(14)), f"by {b}", f"late entry permitted by {b}")
    assert cells[1][6] == (local(minutes(70)), "closed at the deadline")
    assert cells[2][4] == ("—",)
    assert cells[2][6] == (
        local(minutes(-4)),
        "refused at the ID check: The ID card is someone else's",
        f"by {a}",
    )
    assert cells[3][6] == ("not admitted",)
    assert cells[4][6] == (local(minutes(20)), "removed for a violation")
    assert [row.mark for row in sheet.attempts.rows] == [
        "outcome-finished",
        "outcome-timed_out",
        "outcome-refused",
        "outcome-waiting",
        "outcome-removed",
        "outcome-finished",
    ]

    events = [(row.mark, row.cells) for row in sheet.events.rows]
    moved = (room.moved.student.full_name, room.moved.student.id_code)
    assert events[2] == (
        "event-violation",
        (
            (local(minutes(20)),),
            ("Violation",),
            (room.removed.student.full_name, room.removed.student.id_code),
            ("Phone or other gadget", "A phone switched on in the pocket"),
            (a,),
        ),
    )
    assert events[3][1][1:4] == (("Seat move",), moved, ("PC-04 → PC-10",))
    assert events[4] == (
        "revoked",
        (
            (local(minutes(25)),),
            ("Violation",),
            moved,
            (
                "Changing seats",
                "Sat at PC-10 without asking",
                "revoked: The proctor had moved the student",
            ),
            (b,),
        ),
    )
    assert events[5][1][1:] == (
        ("Incident",),
        ("the whole room",),
        ("Power failure in row B", "extra time: 10 minutes"),
        (a,),
    )
    # The revocation came the next day: its time carries the date.
    assert events[6][1][0] == (local(START + timedelta(days=1), full),)
    assert events[6][1][4] == ("Registrar Office",)
    assert sheet.signers == (a, b)
    assert sheet.filename == f"protocol-exam-{room.exam_id}-LAB-301-{local(START, '%Y-%m-%d')}.pdf"


# --- the PDF ------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_carries_the_protocol_as_text(db: Session, room: Scenario) -> None:
    sheet = protocol_sheet(_protocol(db, room), timezone=TIMEZONE)
    data = protocol_pdf(sheet, printed_at=PRINTED)
    assert data.startswith(b"%PDF-")
    pages, text = _pdf_text(data)
    for attempt in (room.finished, room.late, room.refused, room.removed, room.moved):
        assert attempt.student.full_name in text
        assert attempt.student.id_code in text
    for letter in KAZAKH_LETTERS:
        assert letter in text, letter
    assert "Room protocol" in text
    assert "removed for a violation" in text
    # The violation's row: time, kind, the kind's name, the note and the proctor.
    start = text.index(f"{local(minutes(20))} Violation")
    violation_row = text[start : text.index(local(minutes(22)), start)]
    for part in (
        room.removed.student.full_name,
        "Phone or other gadget",
        "A phone switched on in the pocket",
        room.proctor_a.full_name,
    ):
        assert part in violation_row
    assert "revoked: The proctor had moved the student" in text
    assert "Proctors' signatures" in text
    assert text.count("signature") >= 3  # the heading and one label per proctor
    assert f"Page 1 of {pages}" in text
    # The same protocol gives the same document.
    assert protocol_pdf(sheet, printed_at=PRINTED) == data


def test_the_pdf_is_in_the_readers_language(db: Session, room: Scenario) -> None:
    set_locale("kk")
    sheet = protocol_sheet(_protocol(db, room), timezone=TIMEZONE)
    _, text = _pdf_text(protocol_pdf(sheet, printed_at=PRINTED))
    assert "Компьютер" in text  # "Workstation"
    assert "Емтихан" in text  # "Exam"


def test_a_long_sitting_runs_over_several_pages(db: Session, room: Scenario) -> None:
    for n in range(40):
        _attempt(
            db,
            room.world,
            name=f"Студент {n:02d}",
            seat=f"PC-{n + 20}",
            state=AttemptState.SUBMITTED,
            signed_in_at=minutes(-5),
        )
    sheet = protocol_sheet(_protocol(db, room), timezone=TIMEZONE)
    pages, text = _pdf_text(protocol_pdf(sheet, printed_at=PRINTED))
    assert pages > 1
    assert f"Page {pages} of {pages}" in text
    assert "Студент 39" in text
    assert text.count("Workstation") == text.count("ID code") >= 2  # headings repeat


# --- over HTTP ----------------------------------------------------------------------------


def _url(room: Scenario, suffix: str = "") -> str:
    return f"/proctor/exams/{room.exam_id}/rooms/{room.room_id}/protocol{suffix}"


def test_anonymous_readers_are_sent_to_sign_in(client: TestClient, room: Scenario) -> None:
    response = client.get(_url(room), headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert client.get(_url(room, ".pdf"), follow_redirects=False).status_code == 401


def test_students_may_not_read_it(client: TestClient, db: Session, room: Scenario) -> None:
    student = room.finished.student.user
    assert student is not None
    factories.sign_in(client, student)
    assert client.get(_url(room)).status_code == 403
    assert client.get(_url(room, ".pdf")).status_code == 403


@pytest.mark.parametrize("role", [Role.PROCTOR, Role.REGISTRAR, Role.ADMIN])
def test_the_page_for_proctors_registrar_and_admins(
    client: TestClient, db: Session, room: Scenario, role: Role
) -> None:
    factories.sign_in(client, factories.create_user(db, role=role))
    response = client.get(_url(room))
    assert response.status_code == 200
    page = response.text
    for attempt in (room.finished, room.late, room.refused, room.removed, room.moved):
        assert attempt.student.full_name in page
    assert "/static/css/protocol.css" in page
    assert f'href="{_url(room, ".pdf")}" data-print' in page
    assert "removed for a violation" in page
    assert "revoked: The proctor had moved the student" in page
    assert "PC-04 → PC-10" in page
    # Only those who run the room get the way back to it.
    assert (f'href="/proctor/exams/{room.exam_id}/rooms/{room.room_id}"' in page) is (
        role is not Role.REGISTRAR
    )


def test_unknown_sittings_are_not_found(client: TestClient, db: Session, room: Scenario) -> None:
    factories.sign_in(client, room.proctor_a)
    other_room = factories.create_room(db)
    for url in (
        f"/proctor/exams/{room.exam_id}/rooms/{other_room.id}/protocol",
        f"/proctor/exams/{room.exam_id + 1000}/rooms/{room.room_id}/protocol.pdf",
    ):
        assert client.get(url).status_code == 404


def test_the_pdf_download_is_audited(client: TestClient, db: Session, room: Scenario) -> None:
    factories.sign_in(client, room.proctor_a)
    response = client.get(_url(room, ".pdf"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="protocol-exam-')
    assert disposition.endswith('.pdf"')
    assert "no-store" in response.headers["cache-control"]
    _, text = _pdf_text(response.content)
    assert room.removed.student.full_name in text
    assert "Phone or other gadget" in text

    entry = db.execute(
        select(AuditEntry).where(AuditEntry.action == "protocol.downloaded")
    ).scalar_one()
    assert (entry.actor_id, entry.subject) == (
        room.proctor_a.id,
        f"exam:{room.exam_id}:room:{room.room_id}",
    )
    assert entry.details == {"attempts": 6, "events": 7}
