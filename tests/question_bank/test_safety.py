"""Hostile and broken uploads give a clear error in the report, never an exception or a hang."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from question_bank.inspect import inspect_bytes, inspect_file, run_inspect
from question_bank.limits import Limits
from question_bank.tabular import template_xlsx

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<quiz><question type="description"><name><text>&lol9;</text></name></question></quiz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>&secret;</text></name>
<questiontext><text>x</text></questiontext></question></quiz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE assessmentItem SYSTEM "http://example.invalid/qti.dtd">
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" title="t"/>"""


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _mark_encrypted(data: bytes) -> bytes:
    """zipfile cannot write encrypted members; set the flag bit in both headers by hand."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = raw.find(signature)
        raw[position + offset] |= 0x1
    return bytes(raw)


@pytest.mark.parametrize(
    ("data", "name"),
    [(BILLION_LAUGHS, "quiz.xml"), (EXTERNAL_ENTITY, "quiz.xml"), (EXTERNAL_DTD, "item.xml")],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_dtds_and_entities_are_refused(data: bytes, name: str) -> None:
    started = time.perf_counter()
    report = inspect_bytes(data, name)
    assert time.perf_counter() - started < 2
    assert not report.ok
    assert "DTD" in report.errors[0].message
    assert report.errors[0].line is not None
    assert "root:" not in str(report.to_json())


def test_zip_bomb_is_refused() -> None:
    bomb = _zip({"imsmanifest.xml": b"<manifest/>", "items/a.xml": b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    report = inspect_bytes(bomb, "bank.zip")
    assert not report.ok
    assert "zip bomb" in report.errors[0].message


def test_xlsx_bomb_is_refused_before_openpyxl_sees_it() -> None:
    with zipfile.ZipFile(io.BytesIO(template_xlsx())) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["xl/media/huge.bin"] = b"\0" * (20 * 1024 * 1024)
    report = inspect_bytes(_zip(members), "bank.xlsx")
    assert report.format is not None
    assert report.format.value == "xlsx"
    assert "zip bomb" in report.errors[0].message


def test_total_unpacked_size_is_capped() -> None:
    data = _zip({"imsmanifest.xml": b"<manifest/>", "a.bin": b"x" * 5000, "b.bin": b"y" * 5000})
    report = inspect_bytes(data, "bank.zip", limits=Limits(max_unzipped_bytes=8000))
    assert "the limit is" in report.errors[0].message


@pytest.mark.parametrize(
    "member", ["../evil.xml", "items/../../evil.xml", "/etc/evil.xml", "C:/evil.xml"]
)
def test_members_escaping_the_package_are_refused(member: str) -> None:
    report = inspect_bytes(_zip({"imsmanifest.xml": b"<manifest/>", member: b"<x/>"}), "bank.zip")
    assert not report.ok
    assert "unsafe path" in report.errors[0].message


def test_manifest_hrefs_escaping_the_package_are_refused() -> None:
    manifest = (
        b'<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
        b'<resource identifier="r" type="imsqti_item_xmlv2p1" href="../../etc/passwd"/>'
        b"</resources></manifest>"
    )
    report = inspect_bytes(_zip({"imsmanifest.xml": manifest}), "bank.zip")
    assert not report.ok
    assert "unsafe path" in report.errors[0].message


def test_encrypted_members_and_member_count() -> None:
    report = inspect_bytes(_mark_encrypted(_zip({"imsmanifest.xml": b"<manifest/>"})), "b.zip")
    assert "encrypted" in report.errors[0].message
    many = _zip({f"f{n}.txt": b"x" for n in range(6)} | {"imsmanifest.xml": b"<manifest/>"})
    report = inspect_bytes(many, "b.zip", limits=Limits(max_zip_members=5))
    assert "members" in report.errors[0].message


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.gift"
    path.write_bytes(b"::Q::A?{=a ~b}\n\n" * 200)
    report = inspect_file(path, limits=Limits(max_bytes=1000))
    assert not report.ok
    assert "limit is 1000 bytes" in report.errors[0].message
    assert report.format is not None
    assert report.format.value == "gift"
    assert (
        "limit"
        in inspect_bytes(path.read_bytes(), "big.gift", limits=Limits(max_bytes=1000))
        .errors[0]
        .message
    )


def test_default_limit_is_50_mb() -> None:
    assert Limits().max_bytes == 50 * 1024 * 1024


def test_wrong_encoding_points_at_the_line() -> None:
    data = "::Q1::Первый?{=да ~нет}\n\n::Q2::Второй?{=да ~нет}\n".encode("cp1251")
    report = inspect_bytes(data, "bank.gift")
    assert report.format is not None
    assert report.format.value == "gift"
    assert not report.ok
    assert report.errors[0].line == 1
    assert "UTF-8" in report.errors[0].message


def test_wrong_encoding_in_xml_points_at_the_line() -> None:
    data = (
        '<quiz>\n<question type="essay"><name><text>Café</text></name></question>\n</quiz>'.encode(
            "latin-1"
        )
    )
    report = inspect_bytes(data, "quiz.xml")
    assert not report.ok
    assert report.errors[0].line == 2


def test_utf16_with_bom_is_fine() -> None:
    report = inspect_bytes("::Q::Сұрақ?{=иә ~жоқ}\n".encode("utf-16"), "bank.gift")
    assert report.ok
    assert report.questions[0].options[0].text == "иә"


@pytest.mark.parametrize("data", [b"", b"   \n\n  "])
def test_empty_file(data: bytes) -> None:
    report = inspect_bytes(data, "bank.gift")
    assert not report.ok
    assert "empty" in report.errors[0].message


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(range(256)) * 40)
    report = inspect_file(path)
    assert not report.ok
    assert "binary" in report.errors[0].message
    assert run_inspect([str(path)], as_json=True, out=io.StringIO(), err=io.StringIO()) == 1


def test_junk_pretending_to_be_xlsx_or_zip() -> None:
    for name in ("bank.xlsx", "bank.zip"):
        report = inspect_bytes(b"PK\x03\x04" + b"\x00garbage" * 50, name)
        assert not report.ok


def test_deeply_nested_xml_is_an_error_not_a_crash() -> None:
    depth = 5000
    body = '<div class="a">' * depth + "x" + "</div>" * depth
    data = (
        f'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="i" '
        f'title="t"><itemBody>{body}</itemBody></assessmentItem>'
    ).encode()
    report = inspect_bytes(data, "deep.xml")
    assert not report.ok
    assert "nested too deeply" in report.errors[0].message
