"""Refusals cross from the writer process to the server process intact (server.errors).

The writer process (server.db.writer) pickles what a job raises; a refusal that lost its class
or its fields on the way would reach the student as a server error or a message without its
numbers.
"""

from __future__ import annotations

import pickle

import pytest

from server.errors import ExamError, InvalidInput, TooManyAttempts
from server.registrar.service import RosterRejected, RowError
from server.seat.errors import CheckInNotOpen


@pytest.mark.parametrize(
    "refusal",
    [
        ExamError("Only %(n)s left.", n=3),
        InvalidInput(field_errors={"password": "Too short."}),
        TooManyAttempts(minutes=15),
        CheckInNotOpen(time="08:50"),
        # A constructor that takes something else than the message: rebuilt from its fields.
        RosterRejected([RowError(row=2, column="iin", message="Not 12 digits.")]),
    ],
    ids=lambda refusal: type(refusal).__name__,
)
def test_a_refusal_survives_pickling_with_its_class_message_and_fields(
    refusal: ExamError,
) -> None:
    copy = pickle.loads(pickle.dumps(refusal))  # noqa: S301  (our own bytes)

    assert type(copy) is type(refusal)
    assert copy.status_code == refusal.status_code
    assert copy.msgid == refusal.msgid
    assert copy.params == refusal.params
    assert copy.translated() == refusal.translated()
    assert copy.__dict__ == refusal.__dict__
