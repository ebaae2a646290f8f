"""Importing a question-bank file into a discipline: preview first, then all or nothing.

The upload is kept in ``BankUpload`` between the two steps, so the import parses exactly the
bytes the department head previewed. Both steps run the same plan; the import refuses when the
plan has errors, or has warnings nobody acknowledged (a warning is what an appeal could later be
built on: no correct option, several correct where one is required, duplicates, empty options,
items without a topic).

Decisions:

* **Topic = the full category path** (``Physics/Optics``, Moodle's ``$course$/top`` removed). The
  last segment alone would merge unrelated chapters that share a name ("Introduction"). A
  question without a category gets no topic (and the file a warning).
* **One upload is one language.** A question whose reference (Moodle idnumber, QTI identifier,
  else the question's name) equals exactly one item of the discipline gives that item its text in
  the upload's language instead of becoming a new item. The structure must match: same type,
  same number of options in the same order with the same fractions and tolerances (numerical
  values too), same number of matching pairs, ordering items and cloze gaps. The translation is
  added to the item's current version in place: no paper can hold a version in a language the
  version did not have, so nothing any student saw changes. Re-importing a text the item already
  has is a no-op; a different text in a language the item already has is refused (edit the item).
* Questions the library cannot deliver are stored with ``deliverable=False`` and the reason.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from question_bank import FileReport, Question, inspect_bytes
from server.audit.service import record
from server.bank import content, repository
from server.errors import Conflict, InvalidInput, NotFound
from server.i18n import N_, gettext
from server.models import (
    BankUpload,
    Discipline,
    Item,
    ItemMedia,
    ItemStatus,
    ItemVersion,
    Language,
    Topic,
    User,
)

NEW = "new"
TRANSLATION = "translation"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Problem:
    """An error or a warning, with where it is: file, line (when the format has lines), item."""

    file: str
    line: int | None
    item: str | None
    message: str


@dataclass(frozen=True)
class Row:
    file: str
    name: str
    type: str
    topic: str
    deliverable: bool
    skip_reason: str | None
    action: str


@dataclass
class _Step:
    question: Question
    file: str
    action: str
    item: Item | None = None
    source_format: str | None = None


@dataclass
class Plan:
    language: Language
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    steps: list[_Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for step in self.steps if step.action == action)


@dataclass(frozen=True)
class ImportSummary:
    created: int
    translated: int
    unchanged: int
    undeliverable: int
    approved: int
    topics_created: int


class BankRejected(InvalidInput):
    message = N_("Nothing was imported: the file has errors. Fix them and upload it again.")

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan


class WarningsNotAcknowledged(InvalidInput):
    message = N_("The file has warnings: read them and tick the box to confirm before importing.")

    def __init__(self, plan: Plan) -> None:
        super().__init__(
            field_errors={"acknowledge": gettext("Confirm that you have read the warnings.")}
        )
        self.plan = plan


def topic_name(question: Question) -> str:
    return question.category.strip()[:200]


def _issues(report: FileReport) -> tuple[list[Problem], list[Problem]]:
    errors = [Problem(report.path, i.line, i.item, i.message) for i in report.errors]
    warnings = [Problem(report.path, i.line, i.item, i.message) for i in report.warnings]
    return errors, warnings


def plan_import(
    db: Session, *, discipline: Discipline, reports: Sequence[FileReport], language: Language
) -> Plan:
    """What importing these parsed files would do, with every error and warning; writes nothing."""
    plan = Plan(language=language)
    questions = [(report, q) for report in reports for q in report.questions]
    for report in reports:
        errors, warnings = _issues(report)
        plan.errors += errors
        plan.warnings += warnings
    refs = Counter(ref for _report, q in questions if (ref := content.external_ref(q)))
    existing = repository.items_by_ref(db, discipline.id, list(refs))
    for ref, times in sorted(refs.items()):
        if times > 1:
            plan.warnings.append(
                Problem(
                    "",
                    None,
                    ref,
                    gettext(
                        "%(n)s questions share the reference “%(ref)s”: each becomes its own "
                        "item, and a translation cannot be matched to them."
                    )
                    % {"n": times, "ref": ref},
                )
            )
    for report, question in questions:
        step = _step(db, plan, report.path, question, refs, existing)
        if step is None:
            continue
        step.source_format = report.format.value if report.format else None
        plan.steps.append(step)
        plan.rows.append(
            Row(
                file=report.path,
                name=question.name,
                type=question.type.value,
                topic=topic_name(question),
                deliverable=question.deliverable,
                skip_reason=question.skip_reason,
                action=step.action,
            )
        )
    return plan


def _refuse(plan: Plan, path: str, question: Question, message: str, **params: object) -> None:
    plan.errors.append(Problem(path, question.line, question.name, gettext(message) % params))


def _step(
    db: Session,
    plan: Plan,
    path: str,
    question: Question,
    refs: Counter[str],
    existing: dict[str, list[Item]],
) -> _Step | None:
    ref = content.external_ref(question)
    matches = existing.get(ref, []) if ref else []
    if not matches:
        return _Step(question, path, NEW)
    if len(matches) > 1 or refs[ref or ""] > 1:
        _refuse(
            plan,
            path,
            question,
            N_(
                "The reference “%(ref)s” matches several items, so the translation cannot be "
                "matched. Give the questions distinct id numbers."
            ),
            ref=ref,
        )
        return None
    item = matches[0]
    version = repository.current_version(db, item)
    if content.stored_structure(version) != content.structure(question):
        _refuse(
            plan,
            path,
            question,
            N_(
                "Item %(id)s (“%(ref)s”) exists with a different structure (type, options or "
                "their fractions): a translation must have the same options in the same order."
            ),
            id=item.id,
            ref=ref,
        )
        return None
    if any(text.language == plan.language for text in version.texts):
        if content.same_texts(version, question, plan.language):
            return _Step(question, path, UNCHANGED, item)
        _refuse(
            plan,
            path,
            question,
            N_(
                "Item %(id)s (“%(ref)s”) already has a different text in this language; change "
                "it on the item's page, which keeps the old version for papers that hold it."
            ),
            id=item.id,
            ref=ref,
        )
        return None
    return _Step(question, path, TRANSLATION, item)


def _media_rows(
    db: Session, version: ItemVersion, question: Question, language: Language
) -> dict[str, int]:
    """Store the question's files with the version; their ids by the source's file names."""
    if not question.files:
        return {}
    taken = {m.name: m for m in repository.media_of(db, [version.id])[version.id]}
    ids: dict[str, int] = {}
    added: list[tuple[str, ItemMedia]] = []
    for file in question.files:
        digest = hashlib.sha256(file.data).hexdigest()
        name = file.name[-255:]
        present = taken.get(name)
        if present is not None and present.sha256 == digest:
            ids[file.name] = present.id
            continue
        if present is not None:
            # Another language's file of the same name: keep both.
            name = f"{language.value}-{name}"[-255:]
        media = ItemMedia(
            item_version_id=version.id,
            name=name,
            content_type=mimetypes.guess_type(file.name)[0] or "application/octet-stream",
            sha256=digest,
            data=file.data,
        )
        db.add(media)
        taken[name] = media
        added.append((file.name, media))
    db.flush()
    ids.update({source: media.id for source, media in added})
    return ids


def _topics(db: Session, discipline: Discipline, plan: Plan) -> tuple[dict[str, int], int]:
    known = {t.name: t.id for t in repository.topics_of(db, discipline.id)}
    wanted = {topic_name(s.question) for s in plan.steps if s.action == NEW} - {""}
    created = [
        Topic(discipline_id=discipline.id, name=name) for name in sorted(wanted - set(known))
    ]
    db.add_all(created)
    db.flush()
    known.update({t.name: t.id for t in created})
    return known, len(created)


def apply_plan(
    db: Session,
    plan: Plan,
    *,
    discipline: Discipline,
    actor: User | None,
    approve: bool,
    source: str,
    now: datetime,
) -> ImportSummary:
    """Write a plan that has no errors, in the caller's transaction."""
    assert plan.ok
    topics, topics_created = _topics(db, discipline, plan)
    approved = 0
    for step in plan.steps:
        question = step.question
        if step.action == UNCHANGED:
            continue
        if step.action == TRANSLATION:
            assert step.item is not None
            version = repository.current_version(db, step.item)
            rewrite = content.media_lookup(
                question.files, _media_rows(db, version, question, plan.language)
            )
            content.add_language(version, question, plan.language, rewrite)
            continue
        status = ItemStatus.DRAFT
        if approve and question.deliverable:
            status = ItemStatus.APPROVED
            approved += 1
        item = Item(
            discipline_id=discipline.id,
            topic_id=topics.get(topic_name(question)),
            external_ref=content.external_ref(question),
            status=status,
            current_version=1,
            created_at=now,
        )
        version = ItemVersion(
            version=1,
            type=question.type,
            shuffle_options=question.shuffle,
            difficulty=content.difficulty(question),
            source_format=step.source_format,
            deliverable=question.deliverable,
            skip_reason=question.skip_reason,
            created_at=now,
            created_by_id=actor.id if actor else None,
        )
        item.versions.append(version)
        db.add(item)
        if question.files:
            db.flush()
            rewrite = content.media_lookup(
                question.files, _media_rows(db, version, question, plan.language)
            )
        else:
            rewrite = content.media_lookup((), {})
        content.fill_version(version, question, plan.language, rewrite)
    db.flush()
    summary = ImportSummary(
        created=plan.count(NEW),
        translated=plan.count(TRANSLATION),
        unchanged=plan.count(UNCHANGED),
        undeliverable=sum(1 for s in plan.steps if s.action == NEW and not s.question.deliverable),
        approved=approved,
        topics_created=topics_created,
    )
    record(
        db,
        actor=actor,
        action="bank.imported",
        subject=f"discipline:{discipline.id}",
        details={
            "source": source,
            "language": plan.language.value,
            "created": summary.created,
            "translated": summary.translated,
            "unchanged": summary.unchanged,
            "approved": summary.approved,
            "warnings_acknowledged": len(plan.warnings),
        },
        at=now,
    )
    return summary


def import_reports(
    db: Session,
    *,
    discipline: Discipline,
    reports: Sequence[FileReport],
    language: Language,
    actor: User | None,
    acknowledge_warnings: bool,
    approve: bool,
    source: str,
    now: datetime,
) -> ImportSummary:
    """Import parsed files into the discipline: every question, or none (BankRejected)."""
    plan = plan_import(db, discipline=discipline, reports=reports, language=language)
    if not plan.ok:
        raise BankRejected(plan)
    if plan.warnings and not acknowledge_warnings:
        raise WarningsNotAcknowledged(plan)
    return apply_plan(
        db, plan, discipline=discipline, actor=actor, approve=approve, source=source, now=now
    )


# -- uploads (web) -----------------------------------------------------------------------------


class UploadTooLarge(InvalidInput):
    message = N_("The file is larger than %(mb)s MB.")


def store_upload(
    db: Session,
    *,
    discipline: Discipline,
    actor: User,
    filename: str,
    data: bytes,
    max_bytes: int,
    now: datetime,
) -> BankUpload:
    """Keep the uploaded bytes until they are imported, so the import reads what was previewed."""
    if len(data) > max_bytes:
        raise UploadTooLarge(mb=max(1, max_bytes // (1024 * 1024)))
    if not data.strip():
        raise InvalidInput(field_errors={"file": gettext("The file is empty.")})
    upload = BankUpload(
        discipline_id=discipline.id,
        uploaded_by_id=actor.id,
        filename=(filename or "upload")[-255:],
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_at=now,
    )
    db.add(upload)
    db.flush()
    return upload


def upload_for(db: Session, *, discipline: Discipline, upload_id: int) -> BankUpload:
    upload = repository.upload_by_id(db, upload_id)
    if upload is None or upload.discipline_id != discipline.id:
        raise NotFound(N_("There is no upload %(id)s."), id=upload_id)
    return upload


def report_of(upload: BankUpload) -> FileReport:
    return inspect_bytes(upload.data, upload.filename)


def preview(db: Session, *, discipline: Discipline, upload: BankUpload, language: Language) -> Plan:
    """The plan for a stored upload, shown before anything is written."""
    return plan_import(db, discipline=discipline, reports=[report_of(upload)], language=language)


def import_upload(
    db: Session,
    *,
    discipline: Discipline,
    upload: BankUpload,
    language: Language,
    actor: User,
    acknowledge_warnings: bool,
    approve: bool,
    now: datetime,
) -> ImportSummary:
    """Import the previewed upload, once."""
    if upload.imported_at is not None:
        raise Conflict(N_("This file has already been imported."))
    summary = import_reports(
        db,
        discipline=discipline,
        reports=[report_of(upload)],
        language=language,
        actor=actor,
        acknowledge_warnings=acknowledge_warnings,
        approve=approve,
        source=f"upload:{upload.id} {upload.filename}",
        now=now,
    )
    upload.imported_at = now
    db.flush()
    return summary
