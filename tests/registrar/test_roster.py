"""Reading roster files: every problem reported with row and column; nothing half-read."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from server.registrar.roster import parse_roster, template_csv

HEADER = "id_code,full_name,group,discipline,r1,r2,attendance_percent,tuition_debt\n"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode()


def problems(data: bytes, name: str = "r.csv") -> list[tuple[int | None, str | None, str]]:
    parsed = parse_roster(name, data)
    return [
        (p.row, p.column, p.message % p.params if p.params else p.message) for p in parsed.problems
    ]


def test_template_parses_cleanly() -> None:
    parsed = parse_roster("t.csv", template_csv().encode())
    assert parsed.problems == ()
    assert parsed.rows[0].r1 == Decimal("72.5")


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        ("S1001,A,G1,D1,130,50,90,no", "r1", "outside 0–100"),
        ("S1001,A,G1,D1,-1,50,90,no", "r1", "outside 0–100"),
        ("S1001,A,G1,D1,50,100.01,90,no", "r2", "outside 0–100"),
        ("S1001,A,G1,D1,50,50,abc,no", "attendance_percent", "not a number"),
        ("S1001,A,G1,D1,50.123,50,90,no", "r1", "more than two decimals"),
        ("S1001,A,G1,D1,50,50,90,maybe", "tuition_debt", "not yes or no"),
        ("S1001,,G1,D1,50,50,90,no", "full_name", "empty"),
        (",A,G1,D1,50,50,90,no", "id_code", "empty"),
        ("S 1001,A,G1,D1,50,50,90,no", "id_code", "not a valid ID code"),
        ("S1001,A,,D1,50,50,90,no", "group", "empty"),
    ],
)
def test_bad_values_point_at_row_and_column(row: str, column: str, fragment: str) -> None:
    found = problems(csv_bytes("S0001,B,G1,D1,60,60,90,no", row))
    assert len(found) == 1
    assert found[0][:2] == (3, column)
    assert fragment in found[0][2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", Decimal(0)),
        ("100", Decimal(100)),
        ('"49,5"', Decimal("49.5")),
        ("80%", Decimal(80)),
        ("", None),
    ],
)
def test_percent_boundaries_and_formats(value: str, expected: Decimal | None) -> None:
    parsed = parse_roster("r.csv", csv_bytes(f"S1001,A,G1,D1,{value},50,90,no"))
    assert parsed.problems == ()
    assert parsed.rows[0].r1 == expected


@pytest.mark.parametrize(
    ("value", "debt"),
    [
        ("yes", True),
        ("1", True),
        ("иә", True),
        ("да", True),
        ("no", False),
        ("жоқ", False),
        ("нет", False),
        ("", False),
    ],
)
def test_tuition_debt_words(value: str, debt: bool) -> None:
    parsed = parse_roster("r.csv", csv_bytes(f"S1001,A,G1,D1,50,50,90,{value}"))
    assert parsed.rows[0].tuition_debt is debt


def test_all_problems_are_reported_not_only_the_first() -> None:
    found = problems(csv_bytes("S1001,A,G1,D1,130,50,90,no", "S1002,B,G1,D1,50,150,90,x"))
    assert [(row, column) for row, column, _ in found] == [
        (2, "r1"),
        (3, "r2"),
        (3, "tuition_debt"),
    ]


def test_duplicate_id_code_and_discipline() -> None:
    found = problems(csv_bytes("S1001,A,G1,D1,50,50,90,no", "S1001,A,G1,D1,60,60,90,no"))
    assert found == [(3, "id_code", "ID code S1001 with discipline D1 is already on row 2.")]


def test_same_id_code_with_another_name_is_refused() -> None:
    found = problems(csv_bytes("S1001,A,G1,D1,50,50,90,no", "S1001,Other,G1,D2,60,60,90,no"))
    assert found == [(3, "id_code", "ID code S1001 belongs to a different name or group on row 2.")]


def test_wrong_encoding_is_named() -> None:
    data = (HEADER + "S1001,Әлия,G1,D1,50,50,90,no\n").encode("utf-8")
    cp1251 = (HEADER + "S1001,Алия,G1,D1,50,50,90,no\n").encode("cp1251")
    assert parse_roster("r.csv", data).problems == ()
    found = problems(cp1251)
    assert found[0][0] == 2
    assert "not UTF-8" in found[0][2]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"id_code,full_name\nS1,A\n", "Missing column(s): group, discipline"),
        (b"\x00\x01\x02garbage", "not a text CSV"),
        (b"PK\x03\x04not really a zip", "not a readable XLSX"),
    ],
)
def test_malformed_files(data: bytes, fragment: str) -> None:
    found = problems(data)
    assert found
    assert fragment in found[0][2]


def test_unknown_columns_are_refused() -> None:
    found = problems(
        csv_bytes("S1001,A,G1,D1,50,50,90,no,1", header=HEADER.strip() + ",password\n")
    )
    assert found == [(1, None, "Unknown column(s): password.")]


def test_semicolon_csv_from_russian_excel() -> None:
    data = ("\ufeff" + HEADER.replace(",", ";") + "S1001;А;G1;D1;49,5;50;80;нет\n").encode()
    parsed = parse_roster("r.csv", data)
    assert parsed.problems == ()
    assert parsed.rows[0].r1 == Decimal("49.5")


def test_xlsx_roster() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["S1001", "Aigerim", "G1", "D1", 72.5, 64, 91, "no"])
    sheet.append(["S1002", "Nurlan", "G1", "D1", 130, 64, 91, True])
    buffer = io.BytesIO()
    book.save(buffer)
    found = problems(buffer.getvalue(), "roster.xlsx")
    assert found == [(3, "r1", "130 is outside 0–100 percent.")]
