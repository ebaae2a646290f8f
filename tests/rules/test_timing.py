from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.rules.timing import (
    CHECK_IN_OPENS_BEFORE,
    EXAM_DURATION,
    LATE_ENTRY_LIMIT,
    ROOM_PREPARATION_BEFORE,
    EntryDecision,
    EntryRefusal,
    EntryState,
    attempt_deadline,
    check_in_opens_at,
    decide_entry,
    entry_state,
    late_entry_closes_at,
    late_entry_permission_allowed,
    room_preparation_starts_at,
    save_accepted,
)

START = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)  # 09:00 in Almaty
US = timedelta(microseconds=1)
MIN = timedelta(minutes=1)
NAIVE = datetime(2026, 12, 15, 4, 0)  # noqa: DTZ001 - the programmer error under test


def test_constants_match_the_regulation() -> None:
    assert timedelta(hours=1) == EXAM_DURATION
    assert timedelta(minutes=10) == CHECK_IN_OPENS_BEFORE
    assert timedelta(minutes=15) == ROOM_PREPARATION_BEFORE
    assert timedelta(minutes=30) == LATE_ENTRY_LIMIT


def test_room_and_door_times() -> None:
    assert room_preparation_starts_at(scheduled_start=START) == datetime(
        2026, 12, 15, 3, 45, tzinfo=UTC
    )
    assert check_in_opens_at(scheduled_start=START) == datetime(2026, 12, 15, 3, 50, tzinfo=UTC)
    assert late_entry_closes_at(scheduled_start=START) == datetime(2026, 12, 15, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, datetime(2026, 12, 15, 5, 0, tzinfo=UTC), id="one-hour"),
        pytest.param(
            {"room_extra_time": 7 * MIN},
            datetime(2026, 12, 15, 5, 7, tzinfo=UTC),
            id="room-extra-time-after-incident",
        ),
        pytest.param(
            {"duration": 120 * MIN},
            datetime(2026, 12, 15, 6, 0, tzinfo=UTC),
            id="two-discipline-sitting",
        ),
    ],
)
def test_attempt_deadline(kwargs: dict[str, timedelta], expected: datetime) -> None:
    assert attempt_deadline(scheduled_start=START, **kwargs) == expected


@pytest.mark.parametrize(
    ("entered_at", "time_left"),
    [
        pytest.param(START, 60 * MIN, id="on-time"),
        pytest.param(START + 29 * MIN, 31 * MIN, id="late-29-min"),
        pytest.param(START + LATE_ENTRY_LIMIT, 30 * MIN, id="late-30-min"),
    ],
)
def test_latecomer_is_let_in_but_ends_with_the_room(
    entered_at: datetime, time_left: timedelta
) -> None:
    assert decide_entry(scheduled_start=START, now=entered_at, late_entry_permitted=True).allowed
    assert attempt_deadline(scheduled_start=START) - entered_at == time_left


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"scheduled_start": NAIVE}, "timezone-aware", id="naive-start"),
        pytest.param(
            {"scheduled_start": START, "duration": timedelta(0)}, "positive", id="zero-duration"
        ),
        pytest.param(
            {"scheduled_start": START, "room_extra_time": -US}, "negative", id="negative-extra"
        ),
    ],
)
def test_attempt_deadline_rejects_programmer_errors(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        attempt_deadline(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(START - 15 * MIN, EntryState.TOO_EARLY, id="at-room-preparation"),
        pytest.param(START - 10 * MIN - US, EntryState.TOO_EARLY, id="1us-before-check-in"),
        pytest.param(START - 10 * MIN, EntryState.OPEN, id="check-in-opens"),
        pytest.param(START, EntryState.OPEN, id="exactly-at-start-on-time"),
        pytest.param(START + US, EntryState.NEEDS_LATE_PERMISSION, id="1us-after-start-late"),
        pytest.param(START + 30 * MIN, EntryState.NEEDS_LATE_PERMISSION, id="exactly-30-min"),
        pytest.param(START + 30 * MIN + US, EntryState.CLOSED, id="30-min-and-1us"),
        pytest.param(START + 59 * MIN, EntryState.CLOSED, id="near-the-end"),
    ],
)
def test_entry_state(now: datetime, expected: EntryState) -> None:
    assert entry_state(scheduled_start=START, now=now) is expected


def test_entry_state_compares_instants_not_wall_clocks() -> None:
    almaty = timezone(timedelta(hours=5))
    # 09:29 in Almaty is 04:29 UTC: 29 minutes late, not 5 hours and 29 minutes.
    now = datetime(2026, 12, 15, 9, 29, tzinfo=almaty)
    assert entry_state(scheduled_start=START, now=now) is EntryState.NEEDS_LATE_PERMISSION


def test_entry_state_rejects_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        entry_state(scheduled_start=START, now=NAIVE)


@pytest.mark.parametrize(
    ("now", "permitted", "expected"),
    [
        pytest.param(
            START - 10 * MIN - US,
            True,
            EntryDecision.refused(EntryRefusal.TOO_EARLY),
            id="too-early-even-with-permission",
        ),
        pytest.param(START - 10 * MIN, False, EntryDecision.granted(), id="check-in-opens"),
        pytest.param(START, False, EntryDecision.granted(), id="at-start-no-permission-needed"),
        pytest.param(
            START + US,
            False,
            EntryDecision.refused(EntryRefusal.LATE_ENTRY_NEEDS_PERMISSION),
            id="late-without-permission",
        ),
        pytest.param(START + US, True, EntryDecision.granted(), id="late-with-permission"),
        pytest.param(
            START + 30 * MIN, True, EntryDecision.granted(), id="exactly-30-min-with-permission"
        ),
        pytest.param(
            START + 30 * MIN,
            False,
            EntryDecision.refused(EntryRefusal.LATE_ENTRY_NEEDS_PERMISSION),
            id="exactly-30-min-without-permission",
        ),
        pytest.param(
            START + 30 * MIN + US,
            True,
            EntryDecision.refused(EntryRefusal.LATE_ENTRY_CLOSED),
            id="30-min-and-1us-closed-despite-permission",
        ),
        pytest.param(
            START + 30 * MIN + US,
            False,
            EntryDecision.refused(EntryRefusal.LATE_ENTRY_CLOSED),
            id="30-min-and-1us-closed",
        ),
    ],
)
def test_decide_entry(now: datetime, permitted: bool, expected: EntryDecision) -> None:
    assert decide_entry(scheduled_start=START, now=now, late_entry_permitted=permitted) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(START - 60 * MIN, True, id="warned-in-advance"),
        pytest.param(START + US, True, id="just-late"),
        pytest.param(START + 30 * MIN, True, id="exactly-30-min"),
        pytest.param(START + 30 * MIN + US, False, id="30-min-and-1us"),
    ],
)
def test_late_entry_permission_allowed(now: datetime, expected: bool) -> None:
    assert late_entry_permission_allowed(scheduled_start=START, now=now) is expected


DEADLINE = START + EXAM_DURATION
GRACE = timedelta(seconds=5)


@pytest.mark.parametrize(
    ("answered_at", "received_at", "expected"),
    [
        pytest.param(DEADLINE - MIN, DEADLINE - MIN, True, id="in-time"),
        pytest.param(DEADLINE, DEADLINE, True, id="exactly-at-deadline"),
        pytest.param(DEADLINE - US, DEADLINE + GRACE, True, id="delivered-at-end-of-grace"),
        pytest.param(DEADLINE - US, DEADLINE + GRACE + US, False, id="delivered-1us-after-grace"),
        pytest.param(DEADLINE + US, DEADLINE + US, False, id="made-1us-after-deadline"),
        pytest.param(DEADLINE + US, DEADLINE + 2 * US, False, id="made-late-within-grace"),
    ],
)
def test_save_accepted(answered_at: datetime, received_at: datetime, expected: bool) -> None:
    accepted = save_accepted(
        answered_at=answered_at,
        received_at=received_at,
        deadline=DEADLINE,
        transport_grace=GRACE,
    )
    assert accepted is expected


def test_save_accepted_without_grace() -> None:
    assert not save_accepted(
        answered_at=DEADLINE - US,
        received_at=DEADLINE + US,
        deadline=DEADLINE,
        transport_grace=timedelta(0),
    )


@pytest.mark.parametrize(
    ("answered_at", "received_at", "grace", "message"),
    [
        pytest.param(
            DEADLINE, DEADLINE - US, GRACE, "clamp the client", id="answered-after-received"
        ),
        pytest.param(DEADLINE, DEADLINE, -US, "must not be negative", id="negative-grace"),
        pytest.param(NAIVE, DEADLINE, GRACE, "timezone-aware", id="naive-answered-at"),
    ],
)
def test_save_accepted_rejects_programmer_errors(
    answered_at: datetime, received_at: datetime, grace: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        save_accepted(
            answered_at=answered_at,
            received_at=received_at,
            deadline=DEADLINE,
            transport_grace=grace,
        )
