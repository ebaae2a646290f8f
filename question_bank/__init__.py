"""Emtihan's question bank: read GIFT, Moodle XML, Aiken, Cloze, QTI 2.1/2.2/3.0 (items, tests,
packages), CSV and XLSX into one item model; check it; write Moodle XML and QTI 2.1 packages.

No web and no database: `inspect_paths` turns files into `FileReport`s, and the server decides
what to store.
"""

from question_bank.export import to_moodle_xml, to_qti21_package
from question_bank.inspect import (
    inspect_bytes,
    inspect_paths,
    render_table,
    report_json,
    run_inspect,
)
from question_bank.limits import DEFAULT_LIMITS, Limits
from question_bank.model import (
    Category,
    ClozeGap,
    FileReport,
    Format,
    GapKind,
    Issue,
    MatchPair,
    MediaFile,
    Option,
    Question,
    QuestionType,
    TextFormat,
)
from question_bank.tabular import template_csv, template_xlsx

__all__ = [
    "DEFAULT_LIMITS",
    "Category",
    "ClozeGap",
    "FileReport",
    "Format",
    "GapKind",
    "Issue",
    "Limits",
    "MatchPair",
    "MediaFile",
    "Option",
    "Question",
    "QuestionType",
    "TextFormat",
    "inspect_bytes",
    "inspect_paths",
    "render_table",
    "report_json",
    "run_inspect",
    "template_csv",
    "template_xlsx",
    "to_moodle_xml",
    "to_qti21_package",
]
