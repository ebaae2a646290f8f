"""Who may run a room's console and act in it (R 4.13): its assigned proctors and administrators."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from server.models import Role, RoomProctor
from server.proctor.actions import may_watch
from tests import factories
from tests.seat.factories import create_world


@pytest.mark.parametrize(
    ("role", "assigned_to", "may"),
    [
        (Role.PROCTOR, "this room", True),
        (Role.PROCTOR, "another room", False),
        (Role.PROCTOR, "another exam", False),
        (Role.PROCTOR, None, False),
        (Role.ADMIN, None, True),
        (Role.REGISTRAR, "this room", False),
        (Role.STUDENT, "this room", False),
    ],
)
def test_the_room_s_proctors_and_administrators_may_watch_it(
    db: Session, role: Role, assigned_to: str | None, may: bool
) -> None:
    world = create_world(db)
    user = factories.create_user(db, role=role)
    other = create_world(db)
    where = {
        "this room": (world.exam.id, world.room.id),
        "another room": (world.exam.id, other.room.id),
        "another exam": (other.exam.id, world.room.id),
    }
    if assigned_to is not None:
        exam_id, room_id = where[assigned_to]
        db.add(RoomProctor(exam_id=exam_id, room_id=room_id, user_id=user.id))
        db.flush()
    assert may_watch(db, user, exam_id=world.exam.id, room_id=world.room.id) is may
