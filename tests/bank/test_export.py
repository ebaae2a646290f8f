"""Export a discipline and import it again: the same items come back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from question_bank import inspect_bytes
from server.bank import repository
from server.bank.export import ExportFormat, export_discipline
from server.db import utcnow
from server.models import AuditEntry, Discipline, Language
from tests.bank.factories import import_text
from tests.factories import create_discipline

BANK = """$CATEGORY: $course$/top/Physics/Optics

::Q1:: What colour is between <b>orange</b> and green? {=yellow ~red ~%-50%blue}

::Q2:: Which are primary colours of light? {~%50%red ~%50%green ~%-100%yellow}

::Q3:: Light travels faster than sound. {T}

$CATEGORY: $course$/top/Physics/Units

::Q4:: The SI unit of force? {=newton =%50%N}

::Q5:: g at sea level? {#9.81:0.05}

::Q6:: Match. {=force -> newton =energy -> joule =power -> watt}
"""


def _snapshot(db: Session, discipline: Discipline) -> list[tuple[object, ...]]:
    topics = {t.id: t.name for t in repository.topics_of(db, discipline.id)}
    rows = []
    for item, version in repository.current_versions(db, discipline.id):
        rows.append(
            (
                item.external_ref,
                topics.get(item.topic_id) if item.topic_id else None,
                version.type.value,
                version.texts[0].text,
                [(o.texts[0].text, float(o.fraction)) for o in version.options],
                version.content.get("pairs"),
                version.content.get("tolerances"),
            )
        )
    return rows


@pytest.mark.parametrize("file_format", list(ExportFormat))
def test_round_trip(db: Session, file_format: ExportFormat) -> None:
    source = create_discipline(db)
    import_text(db, discipline=source, text=BANK)
    exported = export_discipline(
        db,
        actor=None,
        discipline=source,
        language=Language.EN,
        file_format=file_format,
        now=utcnow(),
    )
    assert exported.items == 6
    report = inspect_bytes(exported.data, exported.filename)
    assert report.ok, report.errors
    copy = create_discipline(db)
    import_text(db, discipline=copy, text=exported.data, name=exported.filename)
    assert _snapshot(db, copy) == _snapshot(db, source)
    entry = (
        db.execute(
            select(AuditEntry)
            .where(AuditEntry.action == "bank.exported")
            .order_by(AuditEntry.seq.desc())
        )
        .scalars()
        .first()
    )
    assert entry is not None
    assert entry.details["format"] == file_format.value


def test_export_takes_one_language(db: Session) -> None:
    source = create_discipline(db)
    import_text(db, discipline=source, text=BANK)
    exported = export_discipline(
        db,
        actor=None,
        discipline=source,
        language=Language.KK,
        file_format=ExportFormat.MOODLE_XML,
        now=utcnow(),
    )
    assert exported.items == 0
