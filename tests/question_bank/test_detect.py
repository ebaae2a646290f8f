"""Format detection is by content; the file name only breaks ties."""

from __future__ import annotations

import io
import zipfile

import pytest

from question_bank.detect import detect_format
from question_bank.model import Format
from question_bank.tabular import template_xlsx


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"::Q::What?{=a ~b}", "bank.txt", Format.GIFT),
        (b"::Q::What?{=a ~b}", "bank.xml", Format.GIFT),
        (b"$CATEGORY: Maths\n", "x", Format.GIFT),
        (b"Plain words only.", "notes.gift", Format.GIFT),
        (b"Plain words only.", "notes.md", None),
        (b"Q?\nA) x\nB) y\nANSWER: A\n", "a.gift", Format.AIKEN),
        (b"Paris is in {1:MULTICHOICE:=France~Spain}.", "x.gift", Format.CLOZE_TEXT),
        (b"type,text,A,B,correct\nsingle_choice,Q?,a,b,A\n", "bank.txt", Format.CSV),
        (b"questionname,questiontext,A,B,C,D,Answer 1,Answer 2\n", "x", Format.CSV),
        (b"text;A;B;correct\nQ?;a;b;A\n", "x", Format.CSV),
        (b'<?xml version="1.0"?>\n<!-- c -->\n<quiz></quiz>', "x.txt", Format.MOODLE_XML),
        (b"<question type='truefalse'/>", "x", Format.MOODLE_XML),
        (b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"/>', "x", Format.QTI21),
        (b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p2"/>', "x", Format.QTI22),
        (
            b'<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"/>',
            "x",
            Format.QTI30,
        ),
        (b"<manifest/>", "imsmanifest.xml", Format.QTI_PACKAGE),
        (b"<html><body/></html>", "x.xml", None),
        (_zip("imsmanifest.xml"), "bank.zip", Format.QTI_PACKAGE),
        (_zip("imsmanifest.xml"), "bank.xlsx", Format.QTI_PACKAGE),
        (_zip("other.txt"), "bank.zip", Format.QTI_PACKAGE),
        (_zip("other.txt"), "bank.bin", None),
        (b"\x00\x01\x02junk", "x.bin", None),
    ],
)
def test_detect(data: bytes, name: str, expected: Format | None) -> None:
    assert detect_format(data, name) is expected


def test_xlsx_is_detected_from_its_members() -> None:
    assert detect_format(template_xlsx(), "upload.bin") is Format.XLSX


def test_utf16_text_is_read() -> None:
    data = "::Q::Сұрақ?{=иә ~жоқ}".encode("utf-16")
    assert detect_format(data, "x") is Format.GIFT
