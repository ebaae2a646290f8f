"""Who may fetch an item's picture: the department's staff, and the examinee who has it.

A file of an item version is served to the department heads of the item's department and the
admin, and to a student whose attempt's paper holds that version. Everyone else gets "not found",
the same answer as for a file that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.bank import access, repository
from server.errors import NotFound
from server.i18n import N_
from server.models import ItemMedia, Role, User


def media_for(db: Session, *, user: User, media_id: int) -> ItemMedia:
    found = repository.media_with_owner(db, media_id)
    if found is not None:
        media, discipline = found
        if access.manages(user, discipline):
            return media
        if user.role is Role.STUDENT and repository.on_students_paper(
            db, user_id=user.id, item_version_id=media.item_version_id
        ):
            return media
    raise NotFound(N_("Not found."))
