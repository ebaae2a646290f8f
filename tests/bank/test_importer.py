"""Importing banks: all or nothing, warnings acknowledged, languages merged, media kept."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from question_bank import inspect_bytes
from question_bank.inspect import inspect_file
from server.bank import content, importer, repository
from server.db import utcnow
from server.errors import Conflict
from server.models import (
    AuditEntry,
    BankUpload,
    Item,
    ItemMedia,
    ItemStatus,
    Language,
    Topic,
)
from tests.bank.factories import GIFT, create_head, import_text, items_of
from tests.factories import create_department, create_discipline
from tests.question_bank.conftest import corpus_dir, corpus_files

CORPUS_BANKS = corpus_files(banks_only=True)


def _count(db: Session, model: type) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_stores_items_topics_and_options(db: Session) -> None:
    discipline = create_discipline(db)
    summary = import_text(db, discipline=discipline, text=GIFT)
    assert (summary.created, summary.topics_created) == (3, 2)
    items = items_of(db, discipline)
    assert [i.external_ref for i in items] == ["Q1", "Q2", "Q3"]
    assert all(i.status is ItemStatus.DRAFT and i.current_version == 1 for i in items)
    topics = {t.id: t.name for t in repository.topics_of(db, discipline.id)}
    # The full category path is the topic, without Moodle's $course$/top.
    assert [topics[i.topic_id] for i in items if i.topic_id] == [
        "Physics/Optics",
        "Physics/Optics",
        "Physics/Units",
    ]
    version = repository.current_version(db, items[0])
    assert version.texts[0].language is Language.EN
    assert [(o.texts[0].text, float(o.fraction)) for o in version.options] == [
        ("yellow", 1.0),
        ("red", 0.0),
        ("blue", 0.0),
    ]
    assert version.source_format == "gift"
    short = repository.current_version(db, items[2])
    assert short.content["case_sensitive"] is False


def test_a_file_with_one_bad_item_imports_nothing(db: Session) -> None:
    discipline = create_discipline(db)
    bad = GIFT + "\n::Q4:: Broken {=only one answer but choice ~}\n\n::Q5:: {#notanumber}\n"
    report = inspect_bytes(bad.encode(), "bad.gift")
    assert report.errors
    before = (_count(db, Item), _count(db, Topic), _count(db, AuditEntry))
    with pytest.raises(importer.BankRejected) as refused:
        importer.import_reports(
            db,
            discipline=discipline,
            reports=[report],
            language=Language.EN,
            actor=None,
            acknowledge_warnings=True,
            approve=False,
            source="bad.gift",
            now=utcnow(),
        )
    assert refused.value.plan.errors[0].file == "bad.gift"
    assert refused.value.plan.errors[0].line is not None
    assert (_count(db, Item), _count(db, Topic), _count(db, AuditEntry)) == before


def test_warnings_must_be_acknowledged(db: Session) -> None:
    discipline = create_discipline(db)
    text = "::W1:: Which is right? {~a ~b}\n\n::W2:: Pick one {=a =b ~c}\n"
    report = inspect_bytes(text.encode(), "w.gift")
    assert report.warnings
    assert not report.errors
    kwargs = {
        "discipline": discipline,
        "reports": [report],
        "language": Language.EN,
        "actor": None,
        "approve": True,
        "source": "w.gift",
        "now": utcnow(),
    }
    with pytest.raises(importer.WarningsNotAcknowledged) as refused:
        importer.import_reports(db, acknowledge_warnings=False, **kwargs)  # type: ignore[arg-type]
    messages = " ".join(w.message for w in refused.value.plan.warnings)
    assert "no correct option" in messages
    assert "2 correct options" in messages
    assert "no category" in messages
    assert items_of(db, discipline) == []
    summary = importer.import_reports(db, acknowledge_warnings=True, **kwargs)  # type: ignore[arg-type]
    assert summary.created == 2
    # An item without a correct option is kept, undeliverable, and so never approved.
    first, second = items_of(db, discipline)
    assert repository.current_version(db, first).deliverable is False
    assert first.status is ItemStatus.DRAFT
    assert second.status is ItemStatus.APPROVED


def test_undeliverable_questions_are_stored_with_their_reason(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text="::E1:: Explain the sky. {}\n")
    (item,) = items_of(db, discipline)
    version = repository.current_version(db, item)
    assert version.type.value == "essay"
    assert version.deliverable is False
    assert version.skip_reason


def test_a_second_language_joins_the_same_item(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text=GIFT, language=Language.EN)
    russian = (
        GIFT.replace("What colour is between orange and green?", "Какой цвет между?")
        .replace("yellow", "жёлтый")
        .replace("Light travels faster than sound.", "Свет быстрее звука.")
    )
    summary = import_text(db, discipline=discipline, text=russian, language=Language.RU)
    assert (summary.created, summary.translated) == (0, 3)
    first = items_of(db, discipline)[0]
    version = repository.current_version(db, first)
    assert {t.language: t.text for t in version.texts} == {
        Language.EN: "What colour is between orange and green?",
        Language.RU: "Какой цвет между?",
    }
    assert {t.language: t.text for t in version.options[0].texts} == {
        Language.EN: "yellow",
        Language.RU: "жёлтый",
    }
    assert first.current_version == 1


def test_reimporting_the_same_language_changes_nothing(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text=GIFT)
    summary = import_text(db, discipline=discipline, text=GIFT)
    assert (summary.created, summary.translated, summary.unchanged) == (0, 0, 3)
    assert len(items_of(db, discipline)) == 3


def test_a_different_text_in_a_present_language_is_refused(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text=GIFT)
    with pytest.raises(importer.BankRejected) as refused:
        import_text(db, discipline=discipline, text=GIFT.replace("yellow", "YELLOW!"))
    assert "already has a different text" in refused.value.plan.errors[0].message


def test_a_translation_with_another_structure_is_refused(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text=GIFT)
    other = GIFT.replace("{=yellow ~red ~blue}", "{=sary ~qyzyl}")
    with pytest.raises(importer.BankRejected) as refused:
        import_text(db, discipline=discipline, text=other, language=Language.KK)
    (error,) = refused.value.plan.errors
    assert error.item == "Q1"
    assert "different structure" in error.message
    swapped = GIFT.replace("{=yellow ~red ~blue}", "{~sary =qyzyl ~kok}")
    with pytest.raises(importer.BankRejected):
        import_text(db, discipline=discipline, text=swapped, language=Language.KK)


def test_id_numbers_match_before_names(db: Session) -> None:
    discipline = create_discipline(db)
    english = "// [id:PH-1]\n::Colour:: Which colour? {=yellow ~red}\n"
    kazakh = "// [id:PH-1]\n::Tus:: Qai tus? {=sary ~qyzyl}\n"
    import_text(db, discipline=discipline, text=english)
    summary = import_text(db, discipline=discipline, text=kazakh, language=Language.KK)
    assert summary.translated == 1
    (item,) = items_of(db, discipline)
    assert item.external_ref == "PH-1"


PICTURE = '<img src="@@PLUGINFILE@@/dot%20one.png" onerror="x()">'


def test_embedded_images_become_media_and_links(db: Session) -> None:
    discipline = create_discipline(db)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 32
    encoded = base64.b64encode(png).decode()
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz><question type="truefalse"><name><text>Pic</text></name>
<questiontext format="html"><text><![CDATA[<p>Is this red? {PICTURE}</p>]]></text>
<file name="dot one.png" path="/" encoding="base64">{encoded}</file></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>
</question></quiz>"""
    import_text(db, discipline=discipline, text=xml, name="pic.xml")
    (item,) = items_of(db, discipline)
    version = repository.current_version(db, item)
    media = db.execute(
        select(ItemMedia).where(ItemMedia.item_version_id == version.id)
    ).scalar_one()
    assert media.data == png
    assert media.content_type == "image/png"
    assert version.texts[0].text == f'<p>Is this red? <img src="/media/{media.id}"></p>'


@pytest.mark.parametrize("relative", CORPUS_BANKS)
def test_every_corpus_file_imports_or_is_refused_with_its_errors(
    db: Session, relative: str
) -> None:
    report = inspect_file(corpus_dir() / relative)
    discipline = create_discipline(db)
    if not report.ok:
        with pytest.raises(importer.BankRejected) as refused:
            importer.import_reports(
                db,
                discipline=discipline,
                reports=[report],
                language=Language.EN,
                actor=None,
                acknowledge_warnings=True,
                approve=True,
                source=relative,
                now=utcnow(),
            )
        assert refused.value.plan.errors
        assert items_of(db, discipline) == []
        return
    summary = importer.import_reports(
        db,
        discipline=discipline,
        reports=[report],
        language=Language.EN,
        actor=None,
        acknowledge_warnings=True,
        approve=True,
        source=relative,
        now=utcnow(),
    )
    assert report.ok
    stored = items_of(db, discipline)
    assert summary.created + summary.unchanged == len(report.questions) == len(stored)
    deliverable = [repository.current_version(db, i).deliverable for i in stored]
    assert deliverable == [q.deliverable for q in report.questions]


def test_the_corpus_cloze_keeps_its_gaps(db: Session) -> None:
    path = corpus_dir() / "other" / "moodle__multianswer__questions.multianswer.txt"
    discipline = create_discipline(db)
    importer.import_reports(
        db,
        discipline=discipline,
        reports=[inspect_file(path)],
        language=Language.EN,
        actor=None,
        acknowledge_warnings=True,
        approve=False,
        source="cloze",
        now=utcnow(),
    )
    (item,) = items_of(db, discipline)
    gaps = repository.current_version(db, item).content["gaps"]
    assert len(gaps) == 5
    assert gaps[-1]["kind"] == "shortanswer"
    assert gaps[-1]["options"][0]["text"] == {"en": "Paris"}


def test_uploads_are_kept_checked_and_imported_once(db: Session, tmp_path: Path) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    head = create_head(db, department=department)
    with pytest.raises(importer.UploadTooLarge):
        importer.store_upload(
            db,
            discipline=discipline,
            actor=head,
            filename="big.gift",
            data=b"x" * 2048,
            max_bytes=1024,
            now=utcnow(),
        )
    upload = importer.store_upload(
        db,
        discipline=discipline,
        actor=head,
        filename="bank.gift",
        data=GIFT.encode(),
        max_bytes=1024 * 1024,
        now=utcnow(),
    )
    assert db.get(BankUpload, upload.id) is not None
    plan = importer.preview(db, discipline=discipline, upload=upload, language=Language.EN)
    assert [r.action for r in plan.rows] == [importer.NEW] * 3
    assert items_of(db, discipline) == []
    importer.import_upload(
        db,
        discipline=discipline,
        upload=upload,
        language=Language.EN,
        actor=head,
        acknowledge_warnings=False,
        approve=False,
        now=utcnow(),
    )
    assert upload.imported_at is not None
    with pytest.raises(Conflict):
        importer.import_upload(
            db,
            discipline=discipline,
            upload=upload,
            language=Language.EN,
            actor=head,
            acknowledge_warnings=False,
            approve=False,
            now=utcnow(),
        )
    entry = (
        db.execute(
            select(AuditEntry)
            .where(AuditEntry.action == "bank.imported")
            .order_by(AuditEntry.seq.desc())
        )
        .scalars()
        .first()
    )
    assert entry is not None
    assert entry.actor_id == head.id
    assert entry.details["created"] == 3


def test_external_ref_prefers_the_id_number() -> None:
    report = inspect_bytes(b"// [id:X-7]\n::Name:: Q? {=a ~b}\n", "a.gift")
    assert content.external_ref(report.questions[0]) == "X-7"
    report = inspect_bytes(b"::  Long   name  :: Q? {=a ~b}\n", "a.gift")
    assert content.external_ref(report.questions[0]) == "Long name"


def test_a_difficulty_tag_sets_the_difficulty(db: Session) -> None:
    discipline = create_discipline(db)
    import_text(db, discipline=discipline, text="// [tag:difficulty:4]\n::D:: Q? {=a ~b}\n")
    (item,) = items_of(db, discipline)
    assert repository.current_version(db, item).difficulty == 4
