"""The department head's question-bank pages, and the media route the seat's pages use."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from server.auth.dependencies import AnyUser, DepartmentHeadUser
from server.bank import access, blueprint, importer, items, media, repository
from server.bank.export import ExportFormat, export_discipline
from server.db import DbSession, utcnow
from server.errors import InvalidInput
from server.i18n import LANGUAGE_NAMES, N_, gettext
from server.models import ItemStatus, ItemType, Language
from server.rules.scoring import QUESTIONS_PER_DISCIPLINE
from server.seat.paper import SEAT_TYPES
from server.web import render

router = APIRouter()

ACTIONS = {
    importer.NEW: N_("new item"),
    importer.TRANSLATION: N_("adds this language"),
    importer.UNCHANGED: N_("already there"),
}
STATUS_NAMES = {
    ItemStatus.DRAFT: N_("draft"),
    ItemStatus.APPROVED: N_("approved"),
    ItemStatus.RETIRED: N_("retired"),
}


def _common() -> dict[str, Any]:
    return {
        "languages": [(lang.value, LANGUAGE_NAMES[lang.value]) for lang in Language],
        "status_names": {s.value: name for s, name in STATUS_NAMES.items()},
        "types": [t.value for t in ItemType],
    }


@router.get("/bank")
def disciplines(request: Request, db: DbSession, user: DepartmentHeadUser) -> Response:
    return render(
        request, "bank/disciplines.html", disciplines=repository.disciplines_for(db, user)
    )


@router.get("/bank/disciplines/{discipline_id}")
def discipline_page(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    topic: Annotated[int | None, Query()] = None,
    language: Annotated[Language | None, Query()] = None,
    status: Annotated[ItemStatus | None, Query()] = None,
    type: Annotated[ItemType | None, Query()] = None,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    where = repository.ItemFilter(
        topic_id=topic, language=language, status=status, type=type, text=q
    )
    rows = items.browse(db, actor=user, discipline=discipline, where=where, now=utcnow())
    return render(
        request,
        "bank/discipline.html",
        block="results",
        discipline=discipline,
        topics=repository.topics_of(db, discipline.id),
        rows=rows,
        where=where,
        max_mb=request.app.state.settings.max_upload_bytes // (1024 * 1024),
        **_common(),
    )


def _preview_page(
    request: Request,
    *,
    discipline: object,
    upload: object,
    plan: importer.Plan,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "bank/preview.html",
        block="preview",
        status_code=status_code,
        discipline=discipline,
        upload=upload,
        plan=plan,
        actions=ACTIONS,
        message=message,
        errors=errors or {},
        **_common(),
    )


@router.post("/bank/disciplines/{discipline_id}/uploads")
async def upload(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    file: UploadFile,
    language: Annotated[Language, Form()],
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    limit = request.app.state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    stored = importer.store_upload(
        db,
        discipline=discipline,
        actor=user,
        filename=file.filename or "",
        data=data,
        max_bytes=limit,
        now=utcnow(),
    )
    plan = importer.preview(db, discipline=discipline, upload=stored, language=language)
    return _preview_page(request, discipline=discipline, upload=stored, plan=plan)


@router.get("/bank/disciplines/{discipline_id}/uploads/{upload_id}")
def preview_page(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    upload_id: int,
    language: Annotated[Language, Query()] = Language.KK,
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    stored = importer.upload_for(db, discipline=discipline, upload_id=upload_id)
    plan = importer.preview(db, discipline=discipline, upload=stored, language=language)
    return _preview_page(request, discipline=discipline, upload=stored, plan=plan)


@router.post("/bank/disciplines/{discipline_id}/uploads/{upload_id}/import")
def import_upload(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    upload_id: int,
    language: Annotated[Language, Form()],
    acknowledge: Annotated[bool, Form()] = False,
    approve: Annotated[bool, Form()] = False,
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    stored = importer.upload_for(db, discipline=discipline, upload_id=upload_id)
    try:
        summary = importer.import_upload(
            db,
            discipline=discipline,
            upload=stored,
            language=language,
            actor=user,
            acknowledge_warnings=acknowledge,
            approve=approve,
            now=utcnow(),
        )
    except (importer.BankRejected, importer.WarningsNotAcknowledged) as refusal:
        return _preview_page(
            request,
            discipline=discipline,
            upload=stored,
            plan=refusal.plan,
            message=refusal.translated(),
            errors=refusal.field_errors,
            status_code=refusal.status_code,
        )
    return render(
        request,
        "bank/preview.html",
        block="preview",
        discipline=discipline,
        upload=stored,
        plan=None,
        summary=summary,
        actions=ACTIONS,
        message=None,
        errors={},
        **_common(),
    )


@router.get("/bank/items/{item_id}")
def item_page(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    item_id: int,
    language: Annotated[Language | None, Query()] = None,
) -> Response:
    view = items.student_view(db, actor=user, item_id=item_id, language=language, now=utcnow())
    return render(request, "bank/item.html", view=view, **_common())


@router.get("/bank/items/{item_id}/key")
def key_page(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    item_id: int,
    language: Annotated[Language | None, Query()] = None,
) -> Response:
    key = items.key_view(db, actor=user, item_id=item_id, language=language, now=utcnow())
    return render(request, "bank/key.html", key=key, **_common())


@router.post("/bank/items/{item_id}/approve")
def approve_item(db: DbSession, user: DepartmentHeadUser, item_id: int) -> Response:
    items.approve(db, actor=user, item_id=item_id, now=utcnow())
    return RedirectResponse(f"/bank/items/{item_id}", status_code=303)


@router.post("/bank/items/{item_id}/retire")
def retire_item(db: DbSession, user: DepartmentHeadUser, item_id: int) -> Response:
    items.retire(db, actor=user, item_id=item_id, now=utcnow())
    return RedirectResponse(f"/bank/items/{item_id}", status_code=303)


def _edit_form(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    item_id: int,
    language: Language | None,
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    key = items.key_view(db, actor=user, item_id=item_id, language=language, now=utcnow())
    stem = next((t.text for t in key.version.texts if t.language == key.language), "")
    options = [
        (
            o.position,
            next((t.text for t in o.texts if t.language == key.language), ""),
            items.percent(o.fraction).removesuffix("%"),
        )
        for o in key.version.options
    ]
    return render(
        request,
        "bank/edit.html",
        status_code=status_code,
        key=key,
        stem=stem,
        options=options,
        topics=repository.topics_of(db, key.item.discipline_id),
        errors=errors or {},
        message=message,
        **_common(),
    )


@router.get("/bank/items/{item_id}/edit")
def edit_page(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    item_id: int,
    language: Annotated[Language | None, Query()] = None,
) -> Response:
    return _edit_form(request, db, user, item_id, language)


@router.post("/bank/items/{item_id}/edit")
def edit_item(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    item_id: int,
    language: Annotated[Language, Form()],
    stem: Annotated[str, Form(max_length=100_000)],
    option_text: Annotated[list[str], Form(default_factory=list)],
    option_percent: Annotated[list[str], Form(default_factory=list)],
    topic: Annotated[str, Form(max_length=16)] = "",
    difficulty: Annotated[str, Form(max_length=2)] = "",
    shuffle: Annotated[bool, Form()] = False,
) -> Response:
    try:
        change = items.ItemEdit(
            language=language,
            stem=stem,
            option_texts=tuple(option_text),
            fractions=tuple(Decimal(p.replace(",", ".")) / 100 for p in option_percent),
            difficulty=int(difficulty) if difficulty else None,
            topic_id=int(topic) if topic else None,
            shuffle_options=shuffle,
        )
        items.edit(db, actor=user, item_id=item_id, change=change, now=utcnow())
    except (InvalidOperation, ValueError):
        return _edit_form(
            request,
            db,
            user,
            item_id,
            language,
            errors={"options": gettext("A share of the mark is a number of percent.")},
            message=InvalidInput().translated(),
            status_code=422,
        )
    except InvalidInput as refusal:
        db.rollback()
        return _edit_form(
            request,
            db,
            user,
            item_id,
            language,
            errors=refusal.field_errors,
            message=refusal.translated(),
            status_code=refusal.status_code,
        )
    return RedirectResponse(f"/bank/items/{item_id}?language={language.value}", status_code=303)


def _blueprint_page(
    request: Request,
    db: DbSession,
    discipline_id: int,
    user: DepartmentHeadUser,
    *,
    lines: list[blueprint.BlueprintLine] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    stored = blueprint.read_blueprint(db, discipline.id)
    shown = lines if lines is not None else stored
    coverage = None
    if not errors:
        coverage = blueprint.coverage(db, discipline, types=SEAT_TYPES)
    topics = repository.topics_of(db, discipline.id)
    return render(
        request,
        "bank/blueprint.html",
        status_code=status_code,
        discipline=discipline,
        topics=topics,
        topic_names={t.id: t.name for t in topics},
        lines=list(shown) + [blueprint.BlueprintLine(None, None, 0)] * 3,
        coverage=coverage,
        errors=errors or {},
        message=message,
        saved=saved,
        question_count=QUESTIONS_PER_DISCIPLINE,
    )


@router.get("/bank/disciplines/{discipline_id}/blueprint")
def blueprint_page(
    request: Request, db: DbSession, user: DepartmentHeadUser, discipline_id: int
) -> Response:
    return _blueprint_page(request, db, discipline_id, user)


@router.post("/bank/disciplines/{discipline_id}/blueprint")
def save_blueprint(
    request: Request,
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    topic: Annotated[list[str], Form(default_factory=list)],
    difficulty: Annotated[list[str], Form(default_factory=list)],
    count: Annotated[list[str], Form(default_factory=list)],
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    lines: list[blueprint.BlueprintLine] = []
    errors: dict[str, str] = {}
    for number, (t, d, c) in enumerate(zip(topic, difficulty, count, strict=False), start=1):
        if not c.strip() or c.strip() == "0":
            continue  # an empty line of the form
        try:
            lines.append(
                blueprint.BlueprintLine(
                    topic_id=int(t) if t else None,
                    difficulty=int(d) if d else None,
                    count=int(c),
                )
            )
        except ValueError:
            errors[f"count-{number}"] = gettext("A count is a whole number above zero.")
    try:
        if errors:
            raise InvalidInput(N_("The blueprint was not saved."), field_errors=errors)
        blueprint.save_blueprint(db, actor=user, discipline=discipline, lines=lines, now=utcnow())
    except InvalidInput as refusal:
        return _blueprint_page(
            request,
            db,
            discipline_id,
            user,
            lines=lines,
            errors=refusal.field_errors,
            message=refusal.translated(),
            status_code=refusal.status_code,
        )
    return _blueprint_page(request, db, discipline_id, user, saved=True)


@router.get("/bank/disciplines/{discipline_id}/export")
def export(
    db: DbSession,
    user: DepartmentHeadUser,
    discipline_id: int,
    language: Annotated[Language, Query()],
    format: Annotated[ExportFormat, Query()] = ExportFormat.MOODLE_XML,
) -> Response:
    discipline = access.managed_discipline(db, user, discipline_id)
    exported = export_discipline(
        db, actor=user, discipline=discipline, language=language, file_format=format, now=utcnow()
    )
    return Response(
        exported.data,
        media_type=exported.media_type,
        headers={
            "content-disposition": f'attachment; filename="{exported.filename}"',
            "cache-control": "no-store",
        },
    )


@router.get("/media/{media_id}")
def media_file(db: DbSession, user: AnyUser, media_id: int) -> Response:
    found = media.media_for(db, user=user, media_id=media_id)
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            # Private: a proxy or a shared lab cache must never hand an item's picture to
            # someone the check above did not admit.
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "content-disposition": "inline",
        },
    )
