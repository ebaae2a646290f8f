"""The roles' names as people read them."""

from __future__ import annotations

from server.i18n import N_
from server.models import Role

ROLE_NAMES: dict[Role, str] = {
    Role.STUDENT: N_("Student"),
    Role.PROCTOR: N_("Proctor"),
    Role.DEPARTMENT_HEAD: N_("Department head"),
    Role.REGISTRAR: N_("Registrar's office"),
    Role.APPEALS_MEMBER: N_("Appeals commission member"),
    Role.APPEALS_CHAIR: N_("Appeals commission chair"),
    Role.ADMIN: N_("Administrator"),
}
