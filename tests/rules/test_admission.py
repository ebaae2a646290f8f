from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.rules.admission import (
    AbsenceReason,
    Admission,
    AdmissionFacts,
    MidtermRetakeRefusal,
    Reason,
    decide_admission,
    individual_exam_date_allowed,
    midterm_average,
    midterm_retake_allowed,
)

D = Decimal
GOOD = AdmissionFacts(
    enrolled=True,
    in_exam_groups=True,
    r1=D(70),
    r2=D(80),
    attendance_percent=D(95),
    tuition_debt=False,
)


def test_reason_values_are_the_stored_strings() -> None:
    assert {reason.value for reason in Reason} == {
        "not_enrolled",
        "not_in_exam_groups",
        "midterms_missing",
        "midterm_average_below_50",
        "attendance_not_recorded",
        "attendance_below_80",
        "tuition_debt",
    }


@pytest.mark.parametrize(
    ("r1", "r2", "expected"),
    [
        pytest.param(D(40), D(60), D(50), id="40-60"),
        pytest.param(D(0), D(0), D(0), id="zero"),
        pytest.param(D(100), D(100), D(100), id="full"),
        pytest.param(D("49.5"), D("50.4"), D("49.95"), id="fractional"),
    ],
)
def test_midterm_average(r1: Decimal, r2: Decimal, expected: Decimal) -> None:
    assert midterm_average(r1, r2) == expected


@pytest.mark.parametrize(
    ("r1", "r2"),
    [
        pytest.param(D(130), D(50), id="r1-130"),
        pytest.param(D(50), D("100.01"), id="r2-above-100"),
        pytest.param(D("-0.01"), D(50), id="r1-negative"),
        pytest.param(D("NaN"), D(50), id="r1-nan"),
    ],
)
def test_midterm_average_rejects_out_of_range(r1: Decimal, r2: Decimal) -> None:
    with pytest.raises(ValueError, match="percentage"):
        midterm_average(r1, r2)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, Admission.granted(), id="all-gates-met"),
        pytest.param(
            {"r1": D(40), "r2": D(60)}, Admission.granted(), id="average-exactly-50-admitted"
        ),
        pytest.param(
            {"r1": D("49.98"), "r2": D(50)},
            Admission.refused([Reason.MIDTERM_AVERAGE_BELOW_50]),
            id="average-49.99-refused",
        ),
        pytest.param(
            {"r1": D(100), "r2": D(0)}, Admission.granted(), id="average-50-from-unequal-midterms"
        ),
        pytest.param(
            {"attendance_percent": D(80)}, Admission.granted(), id="attendance-exactly-80"
        ),
        pytest.param(
            {"attendance_percent": D("79.99")},
            Admission.refused([Reason.ATTENDANCE_BELOW_80]),
            id="attendance-79.99-refused",
        ),
        pytest.param(
            {"attendance_percent": None},
            Admission.refused([Reason.ATTENDANCE_NOT_RECORDED]),
            id="attendance-unknown-refused",
        ),
        pytest.param(
            {"tuition_debt": True}, Admission.refused([Reason.TUITION_DEBT]), id="tuition-debt"
        ),
        pytest.param(
            {"enrolled": False}, Admission.refused([Reason.NOT_ENROLLED]), id="not-enrolled"
        ),
        pytest.param(
            {"in_exam_groups": False},
            Admission.refused([Reason.NOT_IN_EXAM_GROUPS]),
            id="not-in-exam-groups",
        ),
        pytest.param({"r1": None}, Admission.refused([Reason.MIDTERMS_MISSING]), id="r1-missing"),
        pytest.param({"r2": None}, Admission.refused([Reason.MIDTERMS_MISSING]), id="r2-missing"),
        pytest.param(
            {"r1": D(10), "r2": None},
            Admission.refused([Reason.MIDTERMS_MISSING]),
            id="one-missing-one-low-is-missing-only",
        ),
        pytest.param(
            {"r1": D(10), "r2": D(20), "tuition_debt": True, "attendance_percent": D(50)},
            Admission.refused(
                [Reason.MIDTERM_AVERAGE_BELOW_50, Reason.ATTENDANCE_BELOW_80, Reason.TUITION_DEBT]
            ),
            id="three-gates-fail",
        ),
        pytest.param(
            {
                "enrolled": False,
                "in_exam_groups": False,
                "r1": None,
                "r2": None,
                "attendance_percent": None,
                "tuition_debt": True,
            },
            Admission(
                admitted=False,
                reasons=(
                    Reason.NOT_ENROLLED,
                    Reason.NOT_IN_EXAM_GROUPS,
                    Reason.MIDTERMS_MISSING,
                    Reason.ATTENDANCE_NOT_RECORDED,
                    Reason.TUITION_DEBT,
                ),
            ),
            id="everything-fails-in-stable-order",
        ),
    ],
)
def test_decide_admission(changes: dict[str, object], expected: Admission) -> None:
    assert decide_admission(replace(GOOD, **changes)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"r1": D(130)}, id="r1-130"),
        pytest.param({"r1": D(130), "r2": None}, id="r1-130-with-r2-missing"),
        pytest.param({"r2": D(-1)}, id="r2-negative"),
        pytest.param({"attendance_percent": D(101)}, id="attendance-101"),
    ],
)
def test_decide_admission_rejects_out_of_range(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="percentage"):
        decide_admission(replace(GOOD, **changes))  # type: ignore[arg-type]


def test_refused_sorts_and_deduplicates_reasons() -> None:
    refusal = Admission.refused([Reason.TUITION_DEBT, Reason.NOT_ENROLLED, Reason.TUITION_DEBT])
    assert refusal == Admission(admitted=False, reasons=(Reason.NOT_ENROLLED, Reason.TUITION_DEBT))


def test_refused_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="at least one reason"):
        Admission.refused([])


SESSION = datetime(2026, 12, 14, 4, 0, tzinfo=UTC)
BEFORE = SESSION - timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("average", "absent", "permission", "now", "reasons"),
    [
        pytest.param(D("49.99"), False, True, BEFORE, (), id="below-50-with-permission"),
        pytest.param(None, True, True, BEFORE, (), id="absent-valid-reason-with-permission"),
        pytest.param(D(80), True, True, BEFORE, (), id="absent-valid-reason-good-average"),
        pytest.param(
            D(50),
            False,
            True,
            BEFORE,
            (MidtermRetakeRefusal.NO_GROUND,),
            id="exactly-50-no-ground",
        ),
        pytest.param(
            None, False, True, BEFORE, (MidtermRetakeRefusal.NO_GROUND,), id="unrecorded-no-ground"
        ),
        pytest.param(
            D(30),
            False,
            False,
            BEFORE,
            (MidtermRetakeRefusal.NO_DEAN_PERMISSION,),
            id="no-dean-permission",
        ),
        pytest.param(
            D(30),
            False,
            True,
            SESSION,
            (MidtermRetakeRefusal.SESSION_STARTED,),
            id="at-session-start-refused",
        ),
        pytest.param(
            D(70),
            False,
            False,
            SESSION + timedelta(days=1),
            (
                MidtermRetakeRefusal.NO_GROUND,
                MidtermRetakeRefusal.NO_DEAN_PERMISSION,
                MidtermRetakeRefusal.SESSION_STARTED,
            ),
            id="every-reason",
        ),
    ],
)
def test_midterm_retake_allowed(
    average: Decimal | None,
    absent: bool,
    permission: bool,
    now: datetime,
    reasons: tuple[MidtermRetakeRefusal, ...],
) -> None:
    decision = midterm_retake_allowed(
        average=average,
        absent_for_valid_reason=absent,
        has_dean_permission=permission,
        now=now,
        session_starts_at=SESSION,
    )
    assert decision.reasons == reasons
    assert decision.allowed is (not reasons)


@pytest.mark.parametrize(
    ("average", "now", "message"),
    [
        pytest.param(D(130), BEFORE, "percentage", id="average-130"),
        pytest.param(
            D(30),
            datetime(2026, 12, 1, 9, 0),  # noqa: DTZ001 - the programmer error under test
            "timezone-aware",
            id="naive-now",
        ),
    ],
)
def test_midterm_retake_rejects_programmer_errors(
    average: Decimal, now: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        midterm_retake_allowed(
            average=average,
            absent_for_valid_reason=False,
            has_dean_permission=True,
            now=now,
            session_starts_at=SESSION,
        )


@pytest.mark.parametrize(
    ("reason", "documented", "expected"),
    [
        pytest.param(AbsenceReason.ILLNESS, True, True, id="illness-documented"),
        pytest.param(
            AbsenceReason.DEATH_OF_CLOSE_RELATIVE, True, True, id="bereavement-documented"
        ),
        pytest.param(AbsenceReason.ILLNESS, False, False, id="illness-undocumented"),
        pytest.param(AbsenceReason.OTHER, True, False, id="other-reason"),
    ],
)
def test_individual_exam_date_allowed(
    reason: AbsenceReason, documented: bool, expected: bool
) -> None:
    assert individual_exam_date_allowed(reason=reason, documented=documented) is expected
