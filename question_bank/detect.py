"""Which format a file is in, decided from its content; the name only breaks ties.

Zips are told apart by their members (imsmanifest.xml: a QTI package; xl/workbook.xml: XLSX),
XML by its root element and namespace, text by its syntax: `{1:MULTICHOICE:` is Cloze, lettered
options with `ANSWER:` are Aiken, a known header row is CSV, braces, `::names::` or `$CATEGORY:`
are GIFT. Plain text with none of these is GIFT when the name says .gift or .txt (Moodle reads
such a file as descriptions), and unknown otherwise.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import PurePath

from question_bank.cloze import LOOKS_LIKE_CLOZE
from question_bank.model import Format
from question_bank.tabular import recognised_header

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_XML_PROLOG = re.compile(r"^\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>|\s)*", re.S)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)([^>]*)>?", re.S)
_AIKEN_OPTION = re.compile(r"^\s*[A-Z][.)]\s+\S", re.M)
_AIKEN_ANSWER = re.compile(r"^\s*ANSWER\s*:\s*[A-Z]", re.M | re.I)
_GIFT = re.compile(r"\{[^{}]*\}|^\s*::.+?::|^\s*\$CATEGORY:", re.M | re.S)


def _head_text(data: bytes, size: int = 65536) -> str:
    head = data[:size]
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def _zip_format(data: bytes, suffix: str) -> Format | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except Exception:
        names = []  # unreadable: the reader reports why; here only the name can still help
    if any(PurePath(n).name == "imsmanifest.xml" for n in names):
        return Format.QTI_PACKAGE
    if "xl/workbook.xml" in names:
        return Format.XLSX
    return {".xlsx": Format.XLSX, ".zip": Format.QTI_PACKAGE}.get(suffix)


def _xml_format(head: str) -> Format | None:
    body = head[_XML_PROLOG.match(head).end() :]  # type: ignore[union-attr]
    match = _ROOT.match(body)
    if not match:
        return None
    root = match.group(1).rsplit(":", 1)[-1]
    attributes = match.group(2)
    if root in {"quiz", "question"}:
        return Format.MOODLE_XML
    if root == "manifest":
        return Format.QTI_PACKAGE
    if root.startswith("qti-") or "imsqtiasi_v3p0" in attributes:
        return Format.QTI30
    if root in {"assessmentItem", "assessmentTest"}:
        return Format.QTI22 if "imsqti_v2p2" in attributes else Format.QTI21
    return None


def detect_format(data: bytes, name: str = "") -> Format | None:
    suffix = PurePath(name).suffix.lower()
    if data.startswith(ZIP_MAGIC):
        return _zip_format(data, suffix)
    head = _head_text(data)
    stripped = head.lstrip()
    if stripped.startswith("<"):
        found = _xml_format(stripped)
        if found is not None or suffix == ".xml":
            return found
    if "\x00" in head:
        return {".gift": Format.GIFT, ".csv": Format.CSV, ".txt": Format.GIFT}.get(suffix)
    first_line = next((line for line in head.split("\n") if line.strip()), "")
    if recognised_header(first_line):
        return Format.CSV
    if LOOKS_LIKE_CLOZE.search(head):
        return Format.CLOZE_TEXT
    if _AIKEN_ANSWER.search(head) and _AIKEN_OPTION.search(head) and "{" not in head:
        return Format.AIKEN
    if _GIFT.search(head) or suffix in {".gift", ".txt"}:
        return Format.GIFT
    if suffix == ".csv":
        return Format.CSV
    return None
