"""The ``emtihan`` command: serve, demo, db, user, roster, audit, bank, bench."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from server.config import get_settings
from server.db import create_db_engine, make_sessionmaker, utcnow
from server.db.engine import WRITE_INTENT
from server.i18n import LOCALES, set_locale

app = typer.Typer(
    help="Emtihan — the exam testing server for university computer labs.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
roster_app = typer.Typer(help="The registrar's roster.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
bank_app = typer.Typer(help="Question banks.", no_args_is_help=True)
seat_app = typer.Typer(help="Lab workstations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(roster_app, name="roster")
app.add_typer(audit_app, name="audit")
app.add_typer(bank_app, name="bank")
app.add_typer(seat_app, name="seat")


def operator_locale(environ: dict[str, str]) -> str:
    """The terminal's language (LC_ALL, LC_MESSAGES, LANG), when it is one of ours; else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            language = value.split(".")[0].split("_")[0].lower()
            return language if language in LOCALES else "en"
    return "en"


@app.callback()
def _choose_language() -> None:
    set_locale(operator_locale(dict(os.environ)))


@contextmanager
def _session() -> Iterator[Session]:
    engine = create_db_engine(get_settings().resolved_database_url())
    try:
        with make_sessionmaker(engine)() as session:
            # CLI commands write; take SQLite's write lock at BEGIN like a writing web request.
            session.connection(execution_options={WRITE_INTENT: True})
            yield session
    finally:
        engine.dispose()


class EventLoop(StrEnum):
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (off: the reverse proxy logs them).")
    ] = False,
    loop: Annotated[
        EventLoop, typer.Option(help="Event loop: asyncio's own, or uvloop.")
    ] = EventLoop.ASYNCIO,
    keep_alive: Annotated[
        int, typer.Option(help="Seconds an idle connection is kept open.", min=1)
    ] = 20,
) -> None:
    """Serve the web application with uvicorn.

    uvicorn's access log formats and writes a line per request on the event loop, which every
    request shares: at an exam's start that is hundreds of lines a second, so it is off unless
    asked for.

    An idle connection is kept for 20 s (uvicorn's default is 5): the exam page talks every
    5 ± 1 s and at least every 15 s (attempt.js), so with 5 s about half of its saves came on a
    new connection. Websocket messages are not compressed: the console's events are small, and
    compressing each one took 2-3 % of the loop. With both, at 1,000 examinees sign-in p99 went
    from 2.4 s to 0.4 s and save p99 from 1.0 s to 0.14 s (docs/BENCHMARKS.md).

    The loop is asyncio's, not uvloop (uvicorn's choice when it is installed). libuv, under
    uvloop, accepts one new connection per turn of the loop (libuv pull request 3696), and a
    turn with 2,000 examinees connected takes tens of milliseconds. Their browsers open new
    connections faster than that, as the old ones time out between saves; at the bench's
    start 1,100 connections waited in the kernel's queue, and their saves 3-36 s
    (docs/BENCHMARKS.md). asyncio accepts up to 100 connections a turn.
    """
    import uvicorn

    uvicorn.run(
        "server.main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        access_log=access_log,
        loop=loop.value,
        timeout_keep_alive=keep_alive,
        ws_per_message_deflate=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create or migrate the schema (Alembic is the only way the schema is made)."""
    from server.db.migrate import upgrade

    settings = get_settings()
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(url)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    typer.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def demo(
    base_url: Annotated[str, typer.Option(help="Where the server will be reachable.")] = (
        "http://127.0.0.1:8000"
    ),
    starts_in: Annotated[
        int | None,
        typer.Option(
            help="Seconds from now to the demo exam's start (negative: already started); "
            "default about 15 minutes. Used only when no demo exam is still to come."
        ),
    ] = None,
) -> None:
    """Load the demo term (idempotent) and print the URLs and logins for every role."""
    from datetime import timedelta

    from server.demo import STAFF, STAFF_PASSWORD, STUDENT_PASSWORD, load_demo

    settings = get_settings()
    lead = None if starts_in is None else timedelta(seconds=starts_in)
    with _session() as db:
        summary = load_demo(db, now=utcnow(), starts_in=lead)
        db.commit()
        from server.web import local_time

        start = local_time(summary.exam.scheduled_start, settings.timezone)
        typer.echo(("Loaded" if summary.created else "Kept") + " the demo term.")
        typer.echo(f"Demo exam “{summary.exam.title}” starts {start} ({settings.timezone});")
        typer.echo("check-in opens 10 minutes before.\n")
        typer.echo(f"Open {base_url}/login and sign in as:")
        for login, name, role, _department in STAFF:
            typer.echo(f"  {role.value:<16} {login:<16} {STAFF_PASSWORD}   ({name})")
        typer.echo(f"  {'student':<16} S25001 … S25020 {STUDENT_PASSWORD}")
        typer.echo("  (S25018: midterm average below 50%; S25019: tuition debt;")
        typer.echo("   S25020: attendance below 80%; S24001: not in the exam's group)")
        typer.echo(f"\nAdmission list: {base_url}/registrar/exams/{summary.exam.id}")
        typer.echo(f"Health:         {base_url}/healthz")


@user_app.command("create")
def user_create(
    login: Annotated[str, typer.Argument(help="Login (a student's is the ID code).")],
    full_name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[
        str,
        typer.Option(
            help="student, proctor, department_head, registrar, "
            "appeals_member, appeals_chair or admin."
        ),
    ],
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Password; prompted for when omitted.", envvar="EMTIHAN_NEW_PASSWORD"),
    ] = None,
) -> None:
    """Create an account; the password must meet the policy."""
    from server.users.service import UserRefused, create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session() as db:
        try:
            user = create_user(
                db,
                login=login,
                full_name=full_name,
                role=role,
                department_code=department,
                password=password,
                now=utcnow(),
            )
        except UserRefused as refusal:
            typer.echo(refusal.translated(), err=True)
            raise typer.Exit(1) from None
        db.commit()
        typer.echo(f"created {user.role.value} {user.login}")


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    term: Annotated[str, typer.Option(help="Academic term code.")],
) -> None:
    """Import a roster (CSV or XLSX): all rows or none."""
    from server.registrar import repository, service

    data = file.read_bytes()
    with _session() as db:
        chosen = repository.term_by_code(db, term)
        if chosen is None:
            typer.echo(f"unknown term {term!r}", err=True)
            raise typer.Exit(1)
        try:
            summary = service.import_roster(
                db, actor=None, term=chosen, filename=file.name, data=data, now=utcnow()
            )
        except service.RosterRejected as rejected:
            typer.echo(rejected.translated(), err=True)
            for error in rejected.errors:
                row = error.row if error.row is not None else "-"
                typer.echo(f"  row {row}, column {error.column or '-'}: {error.message}", err=True)
            raise typer.Exit(1) from None
        db.commit()
        typer.echo(
            f"imported {summary.rows} rows: {summary.students_created} new students, "
            f"{summary.students_updated} updated; {summary.enrolments_created} new enrolments, "
            f"{summary.enrolments_updated} updated"
        )


@seat_app.command("links")
def seat_links(
    room: Annotated[str, typer.Option(help="Room code.")],
    base_url: Annotated[str, typer.Option(help="The address students reach the server at.")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Print each workstation's start page (signed, so a seat cannot be made up)."""
    from sqlalchemy import select

    from server.models import Room
    from server.seat.links import seat_token

    settings = get_settings()
    with _session() as db:
        found = db.execute(select(Room).where(Room.code == room)).scalar_one_or_none()
        if found is None:
            typer.echo(f"unknown room {room!r}", err=True)
            raise typer.Exit(1)
        for seat in found.seats:
            token = seat_token(settings, seat.id)
            typer.echo(f"{seat.label}\t{base_url.rstrip('/')}/seat/{token}")


@roster_app.command("passwords")
def roster_passwords(
    group: Annotated[str, typer.Option(help="Student group code.")],
) -> None:
    """Issue first passwords to a group's students who have none; print them once as CSV."""
    import csv

    from server.errors import ExamError
    from server.registrar.passwords import issue_first_passwords

    with _session() as db:
        try:
            issue = issue_first_passwords(db, actor=None, group_code=group, now=utcnow())
        except ExamError as refusal:
            typer.echo(refusal.translated(), err=True)
            raise typer.Exit(1) from None
        db.commit()
    # Printed only after the commit: a password on paper is one the server will accept.
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id_code", "full_name", "group", "password"])
    for slip in issue.issued:
        writer.writerow([slip.id_code, slip.full_name, slip.group_code, slip.password])
    typer.echo(
        f"issued {len(issue.issued)} first passwords in group {issue.group_code}; "
        f"{issue.already_set} students already had one (unchanged)",
        err=True,
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain of the audit log; exit 1 when it is broken."""
    from server.audit.service import verify

    with _session() as db:
        result = verify(db)
    if result.ok:
        typer.echo(f"audit log intact: {result.entries} entries")
        return
    typer.echo(f"audit log BROKEN: {len(result.breaks)} problem(s) in {result.entries} entries")
    for chain_break in result.breaks:
        typer.echo(f"  entry {chain_break.seq}: {chain_break.problem}")
    raise typer.Exit(1)


@bank_app.command("inspect")
def bank_inspect(
    paths: Annotated[list[str], typer.Argument(help="Question-bank files.")],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Parse question-bank files and report what they hold; writes nothing."""
    from question_bank.inspect import run_inspect

    raise typer.Exit(run_inspect(paths, as_json=json_output, out=sys.stdout, err=sys.stderr))


@bank_app.command("import")
def bank_import(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    discipline: Annotated[str, typer.Option(help="Discipline code.")],
    language: Annotated[str, typer.Option(help="Language of the files: kk, ru or en.")],
    acknowledge_warnings: Annotated[
        bool, typer.Option("--acknowledge-warnings", help="Import even when there are warnings.")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the deliverable items at once.")
    ] = False,
) -> None:
    """Import question-bank files into a discipline: every question of every file, or none."""
    from question_bank.inspect import inspect_file
    from server.bank import importer, repository
    from server.models import Language

    if language not in {lang.value for lang in Language}:
        typer.echo(f"unknown language {language!r}: use kk, ru or en", err=True)
        raise typer.Exit(2)
    reports = [inspect_file(path) for path in paths]
    with _session() as db:
        chosen = repository.discipline_by_code(db, discipline)
        if chosen is None:
            typer.echo(f"unknown discipline {discipline!r}", err=True)
            raise typer.Exit(1)
        try:
            summary = importer.import_reports(
                db,
                discipline=chosen,
                reports=reports,
                language=Language(language),
                actor=None,
                acknowledge_warnings=acknowledge_warnings,
                approve=approve,
                source="cli: " + ", ".join(path.name for path in paths),
                now=utcnow(),
            )
        except (importer.BankRejected, importer.WarningsNotAcknowledged) as refusal:
            typer.echo(refusal.translated(), err=True)
            for kind, problems in (
                ("error", refusal.plan.errors),
                ("warning", refusal.plan.warnings),
            ):
                for problem in problems:
                    line = problem.line if problem.line is not None else "-"
                    item = f" [{problem.item}]" if problem.item else ""
                    typer.echo(f"  {kind} {problem.file}:{line}{item}: {problem.message}", err=True)
            raise typer.Exit(1) from None
        db.commit()
        typer.echo(
            f"imported into {chosen.code}: {summary.created} new items, {summary.translated} "
            f"translated, {summary.unchanged} unchanged, {summary.approved} approved, "
            f"{summary.undeliverable} not deliverable"
        )


# The database options both benchmarks take.
BenchDb = Annotated[str, typer.Option(help="sqlite or postgresql.")]
BenchDatabaseUrl = Annotated[
    str | None,
    typer.Option(
        help="PostgreSQL server on which to create the run's database.",
        envvar="EMTIHAN_BENCH_DATABASE_URL",
    ),
]


@app.command()
def bench(
    examinees: Annotated[int, typer.Option(help="Examinees, in rooms of 50.")] = 2000,
    duration: Annotated[float, typer.Option(help="Seconds of the steady phase.")] = 600,
    arrival: Annotated[float, typer.Option(help="Seconds over which examinees arrive.")] = 60,
    burst: Annotated[bool, typer.Option("--burst", help="Everyone arrives within 5 s.")] = False,
    common_start: Annotated[
        bool,
        typer.Option(
            "--common-start",
            help="The exam starts when the arrivals end: every paper opens within 2 s.",
        ),
    ] = False,
    finish_window: Annotated[float, typer.Option(help="Seconds over which all submit.")] = 60,
    workers: Annotated[int, typer.Option(help="Server worker processes.")] = 1,
    db: BenchDb = "sqlite",
    database_url: BenchDatabaseUrl = None,
    kill_at: Annotated[
        float | None,
        typer.Option(help="SIGKILL the server this many seconds into the steady phase."),
    ] = None,
    saturate: Annotated[
        float, typer.Option(help="Seconds of the closed-loop saturation sub-run (0: none).")
    ] = 10,
    saturate_clients: Annotated[
        int, typer.Option(help="Clients saving back to back in the saturation sub-run.")
    ] = 32,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed of the load pattern.")] = None,
) -> None:
    """Play the exam-start storm against real server processes (docs/BENCHMARKS.md).

    Exits 1 when an acknowledged answer is missing or a deadline moved.
    """
    import json

    from server.bench.report import render_table
    from server.bench.runner import BenchFailed, BenchOptions, run_bench
    from server.bench.servers import ServerError

    options = BenchOptions(
        examinees=examinees,
        duration=duration,
        arrival=arrival,
        burst=burst,
        common_start=common_start,
        finish_window=finish_window,
        workers=workers,
        db=db,
        database_url=database_url,
        kill_at=kill_at,
        saturate=saturate,
        saturate_clients=saturate_clients,
        seed=seed,
    )
    problems = options.problems()
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2)
    try:
        report = run_bench(options, progress=lambda line: typer.echo(line, err=True))
    except (BenchFailed, ServerError) as failure:
        typer.echo(f"bench failed: {failure}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report, indent=2) if json_output else render_table(report))
    if report["lost_answers"] or report["deadlines_moved"]:
        raise typer.Exit(1)


@app.command("bench-check-in")
def bench_check_in(
    sign_ins: Annotated[int, typer.Option(min=10, help="Examinees signed in, one by one.")] = 600,
    saves_each: Annotated[
        int, typer.Option(min=0, help="Then saves by each examinee, in groups (0: none).")
    ] = 0,
    group: Annotated[int, typer.Option(min=1, max=128, help="Saves to a transaction.")] = 32,
    db: BenchDb = "sqlite",
    database_url: BenchDatabaseUrl = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Time the writer's check-in job alone, in this process (docs/BENCHMARKS.md)."""
    import json

    from server.bench.checkin import run_checkin_bench
    from server.bench.servers import ServerError

    if db not in ("sqlite", "postgresql"):
        typer.echo("--db is sqlite or postgresql", err=True)
        raise typer.Exit(2)
    try:
        report = run_checkin_bench(
            sign_ins=sign_ins,
            db=db,
            server_url=database_url,
            saves_each=saves_each,
            group=group,
        )
    except ServerError as failure:
        typer.echo(f"bench failed: {failure}", err=True)
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    cpu, wall = report["cpu"], report["wall"]
    typer.echo(
        f"{report['sign_ins']} check-ins on {report['database']} "
        f"(the first {report['warm_up']} left out): "
        f"CPU mean {report['cpu_mean_ms']} ms, p50 {cpu['p50_ms']} ms, p99 {cpu['p99_ms']} ms; "
        f"wall p50 {wall['p50_ms']} ms, p99 {wall['p99_ms']} ms"
    )
    if "saves" in report:
        saves = report["saves"]
        typer.echo(
            f"{saves['saves']} saves in groups of {saves['group']}: "
            f"CPU per save mean {saves['cpu_per_save_mean_ms']} ms, "
            f"p50 {saves['cpu_per_save']['p50_ms']} ms, p99 {saves['cpu_per_save']['p99_ms']} ms; "
            f"wall per save mean {saves['wall_per_save_mean_ms']} ms"
        )
        for name, key in (
            ("admissions", "admit"),
            ("windows taken", "window"),
            ("finishes", "finish"),
        ):
            cpu, wall = saves[f"{key}_cpu"], saves[f"{key}_wall"]
            typer.echo(
                f"{report['sign_ins']} {name}, one by one: "
                f"CPU p50 {cpu['p50_ms']} ms, p99 {cpu['p99_ms']} ms; "
                f"wall p50 {wall['p50_ms']} ms, p99 {wall['p99_ms']} ms"
            )


def main() -> None:
    app()
