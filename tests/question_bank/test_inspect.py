"""`bank inspect`: the contract's JSON shape, exit codes, and a report for every file."""

from __future__ import annotations

import io
import json
from pathlib import Path

from question_bank.inspect import inspect_paths, render_table, report_json, run_inspect

GOOD = (
    "$CATEGORY: $course$/top/Physics/Optics\n\n// [tag:optics]\n"
    "::Q2::What colour is between orange and green?{=yellow ~red}\n"
)
BAD = "::Q7::Broken {=a ~b\n"

QUESTION_KEYS = ["name", "type", "source_type", "text", "text_format", "category", "tags",
                 "idnumber", "options", "deliverable", "skip_reason"]  # fmt: skip


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_has_exactly_the_contract_shape(tmp_path: Path) -> None:
    path = _write(tmp_path, "physics.gift", GOOD)
    out, err = io.StringIO(), io.StringIO()
    assert run_inspect([path], as_json=True, out=out, err=err) == 0
    document = json.loads(out.getvalue())
    assert list(document) == ["files"]
    (entry,) = document["files"]
    assert list(entry) == ["path", "format", "ok", "questions", "categories", "errors", "warnings"]
    assert entry["path"] == path
    assert entry["format"] == "gift"
    assert entry["ok"] is True
    (question,) = entry["questions"]
    assert list(question) == QUESTION_KEYS
    assert question == {
        "name": "Q2", "type": "single_choice", "source_type": "multichoice",
        "text": "What colour is between orange and green?", "text_format": "moodle",
        "category": "Physics/Optics", "tags": ["optics"], "idnumber": None,
        "options": [{"text": "yellow", "fraction": 1.0}, {"text": "red", "fraction": 0.0}],
        "deliverable": True, "skip_reason": None,
    }  # fmt: skip
    assert entry["categories"] == [{"path": "Physics/Optics", "info": ""}]
    assert entry["errors"] == []
    assert err.getvalue() == ""


def test_errors_give_status_one_with_line_and_item(tmp_path: Path) -> None:
    good, bad = _write(tmp_path, "a.gift", GOOD), _write(tmp_path, "b.gift", BAD)
    out = io.StringIO()
    assert run_inspect([good, bad], as_json=True, out=out, err=io.StringIO()) == 1
    files = json.loads(out.getvalue())["files"]
    assert [f["ok"] for f in files] == [True, False]
    assert files[1]["errors"][0]["line"] == 1
    assert files[1]["errors"][0]["item"] == "Q7"


def test_missing_file_is_bad_usage(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_inspect([str(tmp_path / "nope.gift")], as_json=True, out=out, err=err) == 2
    assert "no such file" in err.getvalue()
    assert out.getvalue() == ""
    assert run_inspect([], as_json=False, out=out, err=err) == 2
    assert run_inspect([str(tmp_path)], as_json=False, out=out, err=err) == 2


def test_table_shows_the_same_facts(tmp_path: Path) -> None:
    out = io.StringIO()
    assert (
        run_inspect([_write(tmp_path, "b.gift", BAD)], as_json=False, out=out, err=io.StringIO())
        == 1
    )
    table = out.getvalue()
    assert "ERRORS" in table
    assert "line 1" in table
    assert "Q7" in table
    assert "unbalanced" in table


def test_inspect_paths_reports_every_path_and_never_raises(tmp_path: Path) -> None:
    reports = inspect_paths([tmp_path / "missing.gift", tmp_path, _write(tmp_path, "a.gift", GOOD)])
    assert [r.ok for r in reports] == [False, False, True]
    assert "no such file" in reports[0].errors[0].message
    document = report_json(reports)
    assert len(document["files"]) == 3
    assert isinstance(render_table(reports), str)
