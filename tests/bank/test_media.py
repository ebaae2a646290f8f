"""Media: the department's staff and the examinee holding the version; nobody else."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.bank import repository
from server.bank.media import media_for
from server.errors import NotFound
from server.models import Discipline, ItemMedia, Role
from tests.bank.factories import create_attempt_holding, create_head, import_text, items_of
from tests.factories import create_department, create_discipline, create_student, create_user

PNG = b"\x89PNG\r\n\x1a\n" + b"1" * 16


def picture_item(db: Session, discipline: Discipline) -> ItemMedia:
    xml = f"""<?xml version="1.0"?><quiz><question type="truefalse"><name><text>Pic</text></name>
<questiontext format="html"><text><![CDATA[<img src="@@PLUGINFILE@@/p.png">]]></text>
<file name="p.png" encoding="base64">{base64.b64encode(PNG).decode()}</file></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>
</question></quiz>"""
    import_text(db, discipline=discipline, text=xml, name="p.xml")
    (item,) = items_of(db, discipline)
    version = repository.current_version(db, item)
    return db.execute(select(ItemMedia).where(ItemMedia.item_version_id == version.id)).scalar_one()


def test_media_access(db: Session) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    media = picture_item(db, discipline)
    assert media_for(db, user=create_head(db, department=department), media_id=media.id) is media
    assert media_for(db, user=create_user(db, role=Role.ADMIN), media_id=media.id) is media
    refused = [
        create_head(db, department=create_department(db)),
        create_user(db, role=Role.PROCTOR),
        create_user(db, role=Role.REGISTRAR),
        create_student(db).user,
    ]
    for user in refused:
        assert user is not None
        with pytest.raises(NotFound):
            media_for(db, user=user, media_id=media.id)
    with pytest.raises(NotFound):
        media_for(db, user=create_user(db, role=Role.ADMIN), media_id=media.id + 1000)


def test_the_student_whose_paper_holds_the_version_gets_it(db: Session) -> None:
    discipline = create_discipline(db)
    media = picture_item(db, discipline)
    student = create_student(db)
    other = create_student(db)
    create_attempt_holding(
        db, student=student, item_version_id=media.item_version_id, discipline=discipline
    )
    assert student.user is not None
    assert other.user is not None
    assert media_for(db, user=student.user, media_id=media.id) is media
    with pytest.raises(NotFound):
        media_for(db, user=other.user, media_id=media.id)
