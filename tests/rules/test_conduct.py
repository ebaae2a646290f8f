from decimal import Decimal

import pytest

from server.rules.conduct import CLAUSES, ViolationKind, violation_consequence
from server.rules.grading import Grade


def test_the_regulations_list_is_covered() -> None:
    assert {kind.name for kind in ViolationKind} >= {
        "PHONE_OR_GADGET",
        "CONNECTED_DEVICE",
        "CHANGED_SETTINGS",
        "INTERNET_OR_MESSENGER",
        "NOTES_OR_CHEAT_SHEET",
        "TALKING_OR_HELPING",
        "LEAVING_ROOM",
        "CHANGING_SEATS",
        "OTHER",
    }


@pytest.mark.parametrize("kind", list(ViolationKind), ids=str)
def test_every_violation_removes_with_zero_and_f(kind: ViolationKind) -> None:
    consequence = violation_consequence(kind)
    assert consequence.removed_from_exam
    assert consequence.result.exam_percent == Decimal(0)
    assert consequence.result.grade == Grade("F", Decimal(0), 0)
    assert consequence.result.final_percent is None
    assert consequence.result.violation


@pytest.mark.parametrize("kind", list(ViolationKind), ids=str)
def test_every_violation_cites_its_clause(kind: ViolationKind) -> None:
    assert CLAUSES[kind].startswith(("R 4.8", "R 4.9", "H"))
