"""Creating accounts (the CLI and, later, the admin pages use this)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.passwords import hash_password
from server.auth.service import policy_messages
from server.errors import InvalidInput
from server.i18n import N_
from server.models import Department, Role, User


class UserRefused(InvalidInput):
    message = N_("The account was not created.")


def create_user(
    db: Session,
    *,
    login: str,
    full_name: str,
    role: str,
    department_code: str | None,
    password: str,
    now: datetime,
    actor: User | None = None,
) -> User:
    try:
        chosen_role = Role(role)
    except ValueError:
        raise UserRefused(N_("Unknown role “%(role)s”."), role=role) from None
    login = login.strip()
    if not login or len(login) > 64:
        raise UserRefused(N_("A login needs 1 to 64 characters."))
    if db.execute(select(User.id).where(User.login == login)).first():
        raise UserRefused(N_("The login “%(login)s” is taken."), login=login)
    problems = policy_messages(password)
    if problems:
        raise UserRefused(
            N_("The password does not meet the policy: %(problems)s."), problems="; ".join(problems)
        )
    department_id = None
    if department_code:
        department = db.execute(
            select(Department).where(Department.code == department_code)
        ).scalar_one_or_none()
        if department is None:
            raise UserRefused(N_("Unknown department “%(code)s”."), code=department_code)
        department_id = department.id
    user = User(
        login=login,
        full_name=full_name.strip() or login,
        role=chosen_role,
        password_hash=hash_password(password),
        password_changed_at=now,
        department_id=department_id,
    )
    db.add(user)
    db.flush()
    record(
        db,
        actor=actor,
        action="user.created",
        subject=f"user:{user.id}",
        details={"login": login, "role": chosen_role.value},
        at=now,
    )
    return user
