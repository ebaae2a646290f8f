"""Who may see a discipline's items and keys: its department's heads, and the admin (R 6.3, R 6.4).

A refusal is "not found", not "forbidden": a head of another department learns nothing, not
even that the discipline or the item exists.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.bank import repository
from server.errors import NotFound
from server.i18n import N_
from server.models import Discipline, Role, User


def manages(user: User, discipline: Discipline) -> bool:
    if user.role is Role.ADMIN:
        return True
    return (
        user.role is Role.DEPARTMENT_HEAD
        and user.department_id is not None
        and user.department_id == discipline.department_id
    )


def managed_discipline(db: Session, user: User, discipline_id: int) -> Discipline:
    """The discipline, when the user manages its bank; else NotFound."""
    discipline = repository.discipline_by_id(db, discipline_id)
    if discipline is None or not manages(user, discipline):
        raise NotFound(N_("There is no discipline %(id)s."), id=discipline_id)
    return discipline
