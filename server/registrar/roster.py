"""Reading a roster file (CSV or XLSX) into checked rows, with every problem as row/column/message.

The template (offered on the roster page and in docs/ROSTER.md) has one row per student and
discipline:

    id_code, full_name, group, discipline, r1, r2, attendance_percent, tuition_debt

``r1``/``r2``/``attendance_percent`` are percents 0-100 (a decimal comma is accepted; empty means
not yet recorded); ``tuition_debt`` is yes/no (also 1/0, true/false, иә/жоқ, да/нет). CSV must be
UTF-8 (Excel's "CSV UTF-8"); the delimiter may be a comma, a semicolon or a tab.
This module knows nothing of the database: codes are checked against the database by the service.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from server.i18n import N_

COLUMNS = (
    "id_code",
    "full_name",
    "group",
    "discipline",
    "r1",
    "r2",
    "attendance_percent",
    "tuition_debt",
)
REQUIRED = ("id_code", "full_name", "group", "discipline")
ID_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")
YES = frozenset({"yes", "y", "1", "true", "иә", "ия", "да", "д"})
NO = frozenset({"no", "n", "0", "false", "жоқ", "нет", "н", ""})
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Problem:
    """A msgid with its fields; translated where it is shown."""

    row: int | None
    column: str | None
    message: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RosterRow:
    row: int
    id_code: str
    full_name: str
    group: str
    discipline: str
    r1: Decimal | None
    r2: Decimal | None
    attendance_percent: Decimal | None
    tuition_debt: bool


@dataclass(frozen=True)
class ParsedRoster:
    rows: tuple[RosterRow, ...]
    problems: tuple[Problem, ...]


def template_csv() -> str:
    example = ["S00001", "Aigerim Nurlanovna", "CS-21", "CS101", "72.5", "64", "91", "no"]
    return ",".join(COLUMNS) + "\n" + ",".join(example) + "\n"


def _percent(raw: str, row: int, column: str, problems: list[Problem]) -> Decimal | None:
    text = raw.strip().replace(",", ".").rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append(Problem(row, column, N_("“%(value)s” is not a number."), {"value": raw}))
        return None
    if not value.is_finite() or value < 0 or value > 100:
        problems.append(
            Problem(row, column, N_("%(value)s is outside 0–100 percent."), {"value": raw})
        )
        return None
    if value != value.quantize(Decimal("0.01")):
        problems.append(
            Problem(row, column, N_("%(value)s has more than two decimals."), {"value": raw})
        )
        return None
    return value


def _debt(raw: str, row: int, problems: list[Problem]) -> bool:
    text = raw.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    problems.append(
        Problem(row, "tuition_debt", N_("“%(value)s” is not yes or no."), {"value": raw})
    )
    return False


def _records_from_csv(data: bytes, problems: list[Problem]) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                line,
                None,
                N_(
                    "The file is not UTF-8 text (first bad byte on line %(line)s). "
                    "Save it as “CSV UTF-8” and upload it again."
                ),
                {"line": str(line)},
            )
        )
        return []
    if "\x00" in text:
        problems.append(Problem(None, None, N_("The file is not a text CSV file.")))
        return []
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _records_from_xlsx(data: bytes, problems: list[Problem]) -> list[list[str]]:
    from openpyxl import load_workbook  # openpyxl parses the sheet XML with defusedxml

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > 200 * 1024 * 1024:
            problems.append(Problem(None, None, N_("The spreadsheet unpacks to more than 200 MB.")))
            return []
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        problems.append(Problem(None, None, N_("The file is not a readable XLSX workbook.")))
        return []
    try:
        sheet = workbook.worksheets[0]
        records = []
        for values in sheet.iter_rows(values_only=True):
            records.append(["" if v is None else _cell_text(v) for v in values])
            if len(records) > MAX_ROWS + 1:
                break
        return records
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_roster(filename: str, data: bytes) -> ParsedRoster:
    """Every problem in the file, not only the first; rows are returned only when there are none."""
    problems: list[Problem] = []
    if not data.strip():
        return ParsedRoster((), (Problem(None, None, N_("The file is empty.")),))
    is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
    records = _records_from_xlsx(data, problems) if is_xlsx else _records_from_csv(data, problems)
    if problems:
        return ParsedRoster((), tuple(problems))
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        return ParsedRoster((), (Problem(None, None, N_("The file has no rows.")),))
    if len(records) > MAX_ROWS + 1:
        return ParsedRoster(
            (),
            (
                Problem(
                    None, None, N_("The file has more than %(max)s rows."), {"max": str(MAX_ROWS)}
                ),
            ),
        )
    header = [cell.strip().lower().lstrip("\ufeff") for cell in records[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return ParsedRoster(
            (),
            (
                Problem(
                    1,
                    None,
                    N_("Missing column(s): %(columns)s. Expected: %(expected)s."),
                    {"columns": ", ".join(missing), "expected": ", ".join(COLUMNS)},
                ),
            ),
        )
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        problems.append(
            Problem(1, None, N_("Unknown column(s): %(columns)s."), {"columns": ", ".join(unknown)})
        )
    index = {name: header.index(name) for name in COLUMNS if name in header}

    rows: list[RosterRow] = []
    seen_pairs: dict[tuple[str, str], int] = {}
    seen_people: dict[str, tuple[int, str, str]] = {}
    for number, record in enumerate(records[1:], start=2):

        def cell(name: str, record: list[str] = record) -> str:
            position = index.get(name)
            if position is None or position >= len(record):
                return ""
            return record[position].strip()

        before = len(problems)
        for name in REQUIRED:
            if not cell(name):
                problems.append(Problem(number, name, N_("This column is empty.")))
        id_code = cell("id_code")
        if id_code and not ID_CODE_PATTERN.match(id_code):
            problems.append(
                Problem(
                    number,
                    "id_code",
                    N_("“%(value)s” is not a valid ID code (3–32 letters, digits or dashes)."),
                    {"value": id_code},
                )
            )
        r1 = _percent(cell("r1"), number, "r1", problems)
        r2 = _percent(cell("r2"), number, "r2", problems)
        attendance = _percent(cell("attendance_percent"), number, "attendance_percent", problems)
        debt = _debt(cell("tuition_debt"), number, problems)
        pair = (id_code, cell("discipline"))
        if id_code and pair in seen_pairs:
            problems.append(
                Problem(
                    number,
                    "id_code",
                    N_(
                        "ID code %(code)s with discipline %(discipline)s is already on row %(row)s."
                    ),
                    {"code": id_code, "discipline": pair[1], "row": str(seen_pairs[pair])},
                )
            )
        person = (cell("full_name"), cell("group"))
        if id_code in seen_people and seen_people[id_code][1:] != person:
            problems.append(
                Problem(
                    number,
                    "id_code",
                    N_("ID code %(code)s belongs to a different name or group on row %(row)s."),
                    {"code": id_code, "row": str(seen_people[id_code][0])},
                )
            )
        seen_pairs.setdefault(pair, number)
        seen_people.setdefault(id_code, (number, *person))
        if len(problems) == before:
            rows.append(
                RosterRow(
                    row=number,
                    id_code=id_code,
                    full_name=cell("full_name"),
                    group=cell("group"),
                    discipline=cell("discipline"),
                    r1=r1,
                    r2=r2,
                    attendance_percent=attendance,
                    tuition_debt=debt,
                )
            )
    if problems:
        return ParsedRoster((), tuple(problems))
    return ParsedRoster(tuple(rows), ())
