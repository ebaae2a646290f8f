"""A discipline's items written out as Moodle XML or a QTI 2.1 package (audited).

One language per export; items with no text in it, and retired items, are left out. The
current version of each item is written, its topic as the category, its pictures embedded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from question_bank import to_moodle_xml, to_qti21_package
from question_bank.model import Question
from server.audit.service import record
from server.bank import content, repository
from server.models import Discipline, ItemStatus, Language, User


class ExportFormat(StrEnum):
    MOODLE_XML = "moodle-xml"
    QTI21 = "qti-2.1"


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    data: bytes
    items: int


def discipline_questions(db: Session, discipline: Discipline, language: Language) -> list[Question]:
    topics = {t.id: t.name for t in repository.topics_of(db, discipline.id)}
    rows = [
        (item, version)
        for item, version in repository.current_versions(db, discipline.id)
        if item.status is not ItemStatus.RETIRED
        and any(t.language == language for t in version.texts)
    ]
    media = repository.media_of(db, [version.id for _item, version in rows])
    return [
        content.to_question(
            version,
            language=language,
            topic=topics.get(item.topic_id, "") if item.topic_id else "",
            external=item.external_ref,
            media=[content.StoredMedia(m.id, m.name, m.data) for m in media[version.id]],
        )
        for item, version in rows
    ]


def export_discipline(
    db: Session,
    *,
    actor: User | None,
    discipline: Discipline,
    language: Language,
    file_format: ExportFormat,
    now: datetime,
) -> ExportFile:
    questions = discipline_questions(db, discipline, language)
    stem = f"{discipline.code}-{language.value}"
    if file_format is ExportFormat.MOODLE_XML:
        exported = ExportFile(
            f"{stem}.xml",
            "application/xml",
            to_moodle_xml(questions).encode("utf-8"),
            len(questions),
        )
    else:
        exported = ExportFile(
            f"{stem}-qti21.zip", "application/zip", to_qti21_package(questions), len(questions)
        )
    record(
        db,
        actor=actor,
        action="bank.exported",
        subject=f"discipline:{discipline.id}",
        details={
            "format": file_format.value,
            "language": language.value,
            "items": len(questions),
        },
        at=now,
    )
    return exported
