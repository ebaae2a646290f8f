"""`emtihan bank inspect`: parse question-bank files, store nothing, report what they hold.

Every path gives exactly one FileReport, whatever is wrong with it; nothing here raises. The
JSON shape and the exit status are the contract in shared/contracts/bank-inspect.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from question_bank import aiken, cloze, gift, moodle_xml, package, qti, tabular
from question_bank.detect import detect_format
from question_bank.i18n import _
from question_bank.limits import DEFAULT_LIMITS, Limits, human_size
from question_bank.model import FileReport, Format, Issue, Parsed
from question_bank.textio import decode_text, looks_binary
from question_bank.validate import review

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
_TEXT_READERS = {
    Format.GIFT: gift.parse,
    Format.AIKEN: aiken.parse,
    Format.CLOZE_TEXT: cloze.parse,
    Format.CSV: tabular.parse_csv,
}


def _failed(
    path: str, file_format: Format | None, message: str, line: int | None = None
) -> FileReport:
    return FileReport(path=path, format=file_format, errors=(Issue(line, None, message),))


def _read(
    data: bytes, file_format: Format, limits: Limits, resolver: qti.Resolver | None, name: str
) -> tuple[Format, Parsed] | FileReport:
    if file_format in _TEXT_READERS:
        decoded = decode_text(data)
        if decoded.text is None:
            return _failed(name, file_format, decoded.error or "", decoded.line)
        return file_format, _TEXT_READERS[file_format](decoded.text)
    if file_format is Format.MOODLE_XML:
        return file_format, moodle_xml.parse(data)
    if file_format is Format.XLSX:
        return file_format, tabular.parse_xlsx(data, limits)
    if file_format is Format.QTI_PACKAGE:
        if data.startswith(b"PK"):
            return file_format, package.parse_package(data, limits)
        if resolver is None:
            return _failed(name, file_format, _("a bare imsmanifest.xml needs its folder"))
        return file_format, package.parse_manifest(data, resolver)
    version, parsed = qti.parse_document(data, href=Path(name).name, resolver=resolver)
    return version or file_format, parsed


def inspect_bytes(
    data: bytes,
    name: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    resolver: qti.Resolver | None = None,
) -> FileReport:
    """Report on an uploaded file's bytes; `name` is shown as its path and breaks format ties."""
    try:
        if not data.strip():
            return _failed(name, detect_format(data, name), _("the file is empty"))
        if len(data) > limits.max_bytes:
            return _failed(
                name,
                None,
                _("the file is {size}; the limit is {limit}").format(
                    size=human_size(len(data)), limit=human_size(limits.max_bytes)
                ),
            )
        file_format = detect_format(data, name)
        if file_format is None:
            if looks_binary(data):
                return _failed(
                    name, None, _("binary file: not a question bank in any supported format")
                )
            return _failed(
                name,
                None,
                _(
                    "unrecognised format: expected GIFT, Moodle XML, Aiken, "
                    "Cloze text, QTI 2.1/2.2/3.0, a QTI package, CSV or "
                    "XLSX"
                ),
            )
        result = _read(data, file_format, limits, resolver, name)
        if isinstance(result, FileReport):
            return result
        found_format, parsed = result
        return review(parsed, path=name, file_format=found_format)
    except RecursionError:
        return _failed(name, None, _("the file is nested too deeply to be read safely"))
    except Exception as exc:
        # Every file gets a report, even when the cause is a bug of ours.
        return _failed(
            name,
            None,
            _("internal error while reading the file: {detail}").format(
                detail=f"{type(exc).__name__}: {exc}"
            ),
        )


def inspect_file(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> FileReport:
    name = str(path)
    try:
        file_path = Path(path)
        if not file_path.exists():
            return _failed(name, None, _("no such file"))
        if not file_path.is_file():
            return _failed(name, None, _("not a regular file"))
        size = file_path.stat().st_size
        if size > limits.max_bytes:
            with file_path.open("rb") as stream:
                head = stream.read(65536)
            return _failed(
                name,
                detect_format(head, name),
                _("the file is {size}; the limit is {limit}").format(
                    size=human_size(size), limit=human_size(limits.max_bytes)
                ),
            )
        data = file_path.read_bytes()
        resolver = package.DirectoryResolver(file_path.parent, limits)
        report = inspect_bytes(data, name, limits=limits, resolver=resolver)
        return report
    except Exception as exc:
        # Permissions, a file vanishing mid-read, and the like: still a report.
        return _failed(name, None, _("cannot read the file: {detail}").format(detail=exc))


def inspect_paths(
    paths: Sequence[str | Path], *, limits: Limits = DEFAULT_LIMITS
) -> list[FileReport]:
    return [inspect_file(path, limits=limits) for path in paths]


def report_json(reports: Sequence[FileReport]) -> dict[str, Any]:
    return {"files": [report.to_json() for report in reports]}


def _issue_line(issue: Issue, kind: str) -> str:
    where = f"line {issue.line}" if issue.line else "-"
    item = f" [{issue.item}]" if issue.item else ""
    return f"  {kind} {where}{item}: {issue.message}"


def render_table(reports: Sequence[FileReport]) -> str:
    """The same facts as the JSON, for a person at a terminal."""
    lines: list[str] = []
    for report in reports:
        status = _("OK") if report.ok else _("ERRORS")
        deliverable = sum(1 for q in report.questions if q.deliverable)
        lines.append(
            f"{report.path}  [{report.format.value if report.format else '?'}]  {status}  "
            + _("{n} questions, {d} deliverable, {c} categories").format(
                n=len(report.questions), d=deliverable, c=len(report.categories)
            )
        )
        if report.questions:
            lines.append(f"  {'#':>4}  {'line':>5}  {'type':<17}  {'deliver':<7}  name")
            for index, question in enumerate(report.questions):
                line = str(question.line) if question.line else "-"
                mark = _("yes") if question.deliverable else _("no")
                lines.append(
                    f"  {index:>4}  {line:>5}  {question.type.value:<17}  {mark:<7}  "
                    f"{question.name[:60]}"
                )
        lines += [_issue_line(issue, _("ERROR")) for issue in report.errors]
        lines += [_issue_line(issue, _("warning")) for issue in report.warnings]
        lines.append("")
    return "\n".join(lines)


def run_inspect(paths: Sequence[str], *, as_json: bool, out: TextIO, err: TextIO) -> int:
    """The command: 0 no file has errors, 1 some file has errors, 2 bad usage."""
    try:
        if not paths:
            err.write(_("emtihan bank inspect: give at least one file") + "\n")
            return EXIT_USAGE
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            for path in missing:
                reason = _("no such file") if not Path(path).exists() else _("not a regular file")
                err.write(
                    _("emtihan bank inspect: {path}: {reason}").format(path=path, reason=reason)
                    + "\n"
                )
            return EXIT_USAGE
        reports = inspect_paths(paths)
        if as_json:
            json.dump(report_json(reports), out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            out.write(render_table(reports))
        return EXIT_OK if all(report.ok for report in reports) else EXIT_ERRORS
    except Exception as exc:
        # The command answers with a status, never with a traceback.
        err.write(_("emtihan bank inspect: internal error: {detail}").format(detail=exc) + "\n")
        return EXIT_ERRORS
