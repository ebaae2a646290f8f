"""The registrar's pages: exams, roster import, scheduling, admission lists, first passwords."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from server.admission.service import REASON_MESSAGES, admission_list
from server.auth.dependencies import RegistrarUser
from server.db import DbSession, utcnow
from server.errors import ExamError, InvalidInput, NotFound
from server.i18n import N_, gettext
from server.registrar import passwords, repository, retakes, service
from server.registrar.roster import template_csv
from server.web import render

router = APIRouter(prefix="/registrar")


def _zone(request: Request) -> str:
    return str(request.app.state.settings.timezone)


@router.get("")
def exams(request: Request, db: DbSession, user: RegistrarUser) -> Response:
    return render(
        request,
        "registrar/exams.html",
        exams=repository.exams_overview(db),
        timezone=_zone(request),
    )


@router.get("/roster")
def roster_page(request: Request, db: DbSession, user: RegistrarUser) -> Response:
    return render(
        request,
        "registrar/roster.html",
        terms=repository.all_terms(db),
        errors=[],
        summary=None,
        message=None,
    )


@router.get("/roster/template.csv")
def roster_template(user: RegistrarUser) -> Response:
    return PlainTextResponse(
        template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="emtihan-roster-template.csv"'},
    )


@router.post("/roster")
async def roster_upload(
    request: Request,
    db: DbSession,
    user: RegistrarUser,
    file: UploadFile,
    term: Annotated[str, Form(max_length=32)],
) -> Response:
    settings = request.app.state.settings
    terms = repository.all_terms(db)
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise InvalidInput(
            N_("The file is larger than %(mb)s MB."), mb=settings.max_upload_bytes // (1024 * 1024)
        )
    chosen = repository.term_by_code(db, term)
    if chosen is None:
        raise InvalidInput(N_("Choose a term."))
    try:
        summary = service.import_roster(
            db, actor=user, term=chosen, filename=file.filename or "", data=data, now=utcnow()
        )
    except service.RosterRejected as rejected:
        return render(
            request,
            "registrar/roster.html",
            block="result",
            status_code=422,
            terms=terms,
            errors=rejected.errors,
            summary=None,
            message=rejected.translated(),
        )
    return render(
        request,
        "registrar/roster.html",
        block="result",
        terms=terms,
        errors=[],
        summary=summary,
        message=None,
    )


@router.get("/exams/new")
def new_exam_page(request: Request, db: DbSession, user: RegistrarUser) -> Response:
    return _exam_form(request, db, errors={}, values={})


def _exam_form(
    request: Request,
    db: DbSession,
    *,
    errors: dict[str, str],
    values: dict[str, object],
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "registrar/exam_form.html",
        status_code=status_code,
        sessions=repository.all_exam_sessions(db),
        disciplines=repository.all_disciplines(db),
        groups=repository.all_groups(db),
        rooms=repository.all_rooms(db),
        errors=errors,
        values=values,
        message=message,
        timezone=_zone(request),
    )


@router.post("/exams")
def schedule_exam(
    request: Request,
    db: DbSession,
    user: RegistrarUser,
    exam_session: Annotated[int, Form()],
    disciplines: Annotated[list[int], Form(default_factory=list)],
    groups: Annotated[list[int], Form(default_factory=list)],
    rooms: Annotated[list[int], Form(default_factory=list)],
    title: Annotated[str, Form(max_length=200)] = "",
    start: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    plan = service.ExamPlan(
        title=title,
        exam_session_id=exam_session,
        discipline_ids=disciplines,
        group_ids=groups,
        room_ids=rooms,
        local_start=start,
    )
    try:
        exam = service.schedule_exam(
            db, actor=user, plan=plan, timezone=_zone(request), now=utcnow()
        )
    except InvalidInput as problem:
        db.rollback()
        return _exam_form(
            request,
            db,
            errors=problem.field_errors,
            values=plan.__dict__,
            message=problem.translated(),
            status_code=problem.status_code,
        )
    return RedirectResponse(f"/registrar/exams/{exam.id}", status_code=303)


@router.get("/exams/{exam_id}")
def exam_admissions(request: Request, db: DbSession, user: RegistrarUser, exam_id: int) -> Response:
    exam = repository.exam_by_id(db, exam_id)
    if exam is None:
        raise NotFound(N_("There is no exam %(id)s."), id=exam_id)
    lines = admission_list(db, exam)
    return render(
        request,
        "registrar/admissions.html",
        exam=exam,
        lines=lines,
        reason_messages=REASON_MESSAGES,
        timezone=_zone(request),
        admitted=sum(1 for line in lines if line.admission.admitted),
    )


def _retake_form(
    request: Request,
    db: DbSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
    message: str | None = None,
    done: object = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "registrar/retakes.html",
        status_code=status_code,
        terms=repository.all_terms(db),
        errors=errors or {},
        values=values or {},
        message=message,
        done=done,
    )


@router.get("/retakes")
def retake_page(request: Request, db: DbSession, user: RegistrarUser) -> Response:
    return _retake_form(request, db)


@router.post("/retakes")
def record_retake(
    request: Request,
    db: DbSession,
    user: RegistrarUser,
    id_code: Annotated[str, Form(max_length=32)] = "",
    discipline: Annotated[str, Form(max_length=32)] = "",
    term: Annotated[str, Form(max_length=32)] = "",
    midterm: Annotated[int, Form()] = 0,
    new_value: Annotated[str, Form(max_length=16)] = "",
    document_ref: Annotated[str, Form(max_length=100)] = "",
    granted_on: Annotated[str, Form(max_length=10)] = "",
    absent_for_valid_reason: Annotated[bool, Form()] = False,
) -> Response:
    values = {
        "id_code": id_code,
        "discipline": discipline,
        "term": term,
        "midterm": midterm,
        "new_value": new_value,
        "document_ref": document_ref,
        "granted_on": granted_on,
    }
    try:
        parsed_value = Decimal(new_value.replace(",", "."))
        parsed_date = date.fromisoformat(granted_on)
    except (InvalidOperation, ValueError):
        problem = InvalidInput(
            field_errors={
                "new_value": gettext("Enter a percent from 0 to 100."),
                "granted_on": gettext("Enter a date."),
            }
        )
        return _retake_form(
            request,
            db,
            errors=problem.field_errors,
            values=values,
            message=problem.translated(),
            status_code=422,
        )
    retake = retakes.RetakeRequest(
        id_code=id_code,
        discipline_code=discipline,
        term_code=term,
        midterm=midterm,
        new_value=parsed_value,
        document_ref=document_ref,
        granted_on=parsed_date,
        absent_for_valid_reason=absent_for_valid_reason,
    )
    try:
        permission = retakes.record_midterm_retake(
            db, actor=user, request=retake, timezone=_zone(request), now=utcnow()
        )
    except ExamError as refusal:
        fields = refusal.field_errors if isinstance(refusal, InvalidInput) else {}
        return _retake_form(
            request,
            db,
            errors=fields,
            values=values,
            message=refusal.translated(),
            status_code=refusal.status_code,
        )
    return _retake_form(request, db, done=permission)


def _slips(
    request: Request,
    *,
    slips: list[passwords.IssuedPassword],
    group: str,
    already_set: int | None,
) -> Response:
    response = render(
        request,
        "registrar/password_slips.html",
        slips=slips,
        group=group,
        already_set=already_set,
    )
    # The passwords are on this page only: no browser or proxy may keep a copy to show again.
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/passwords")
def passwords_page(
    request: Request, db: DbSession, user: RegistrarUser, group: str | None = None
) -> Response:
    return render(
        request,
        "registrar/passwords.html",
        groups=repository.all_groups(db),
        group=group,
        accounts=passwords.group_accounts(db, group_code=group) if group else None,
    )


@router.post("/passwords")
def issue_passwords(
    request: Request, db: DbSession, user: RegistrarUser, group: Annotated[str, Form(max_length=32)]
) -> Response:
    issue = passwords.issue_first_passwords(db, actor=user, group_code=group, now=utcnow())
    return _slips(
        request, slips=issue.issued, group=issue.group_code, already_set=issue.already_set
    )


@router.post("/passwords/reset")
def reset_password(
    request: Request,
    db: DbSession,
    user: RegistrarUser,
    id_code: Annotated[str, Form(max_length=32)],
) -> Response:
    slip = passwords.reset_password(db, actor=user, id_code=id_code, now=utcnow())
    return _slips(request, slips=[slip], group=slip.group_code, already_set=None)
