"""QTI 2.1 / 3.0 items, tests and packages, and how their scoring becomes fractions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from question_bank.inspect import inspect_bytes, inspect_file
from question_bank.model import GapKind, QuestionType

NS21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"
TEMPLATES = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"
CHOICES = "".join(f'<simpleChoice identifier="{c}">{c.lower()}</simpleChoice>' for c in "ABC")


def item(
    declarations: str, body: str, processing: str, *, extra: str = "", title: str = "T"
) -> bytes:
    return (
        f'<assessmentItem xmlns="{NS21}" identifier="I1" title="{title}" adaptive="false" '
        f'timeDependent="false" {extra}>{declarations}'
        '<outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>'
        f"<itemBody>{body}</itemBody>{processing}</assessmentItem>"
    ).encode()


def choice_item(
    cardinality: str, correct: str, processing: str, mapping: str = "", max_choices: int = 1
) -> bytes:
    values = "".join(f"<value>{v}</value>" for v in correct)
    declaration = (
        f'<responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" '
        f'baseType="identifier"><correctResponse>{values}</correctResponse>{mapping}'
        "</responseDeclaration>"
    )
    body = (
        f'<p>Pick.</p><choiceInteraction responseIdentifier="RESPONSE" maxChoices="{max_choices}">'
        f"<prompt>Which?</prompt>{CHOICES}</choiceInteraction>"
    )
    return item(declaration, body, processing)


def _only(data: bytes, name: str = "item.xml"):  # type: ignore[no-untyped-def]
    report = inspect_bytes(data, name)
    assert len(report.questions) == 1
    return report, report.questions[0]


def test_match_correct_single_choice() -> None:
    report, question = _only(
        choice_item("single", "B", f'<responseProcessing template="{TEMPLATES}match_correct"/>')
    )
    assert report.ok
    assert report.format is not None
    assert report.format.value == "qti-2.1"
    assert question.type is QuestionType.SINGLE_CHOICE
    assert question.text == "<p>Pick.</p><div>Which?</div>"
    assert [(o.text, o.fraction) for o in question.options] == [("a", 0), ("b", 1), ("c", 0)]
    assert question.deliverable


def test_mapping_fractions_are_divided_by_the_best_score() -> None:
    mapping = (
        '<mapping defaultValue="0"><mapEntry mapKey="A" mappedValue="4"/>'
        '<mapEntry mapKey="B" mappedValue="2"/><mapEntry mapKey="C" mappedValue="-4"/></mapping>'
    )
    _report, question = _only(
        choice_item(
            "single", "A", f'<responseProcessing template="{TEMPLATES}map_response"/>', mapping
        )
    )
    assert [o.fraction for o in question.options] == [1.0, 0.5, -1.0]


def test_multiple_all_or_nothing_gives_each_right_choice_its_share_and_wrong_ones_minus_one() -> (
    None
):
    _report, question = _only(
        choice_item(
            "multiple",
            "AB",
            f'<responseProcessing template="{TEMPLATES}match_correct"/>',
            max_choices=0,
        )
    )
    assert question.type is QuestionType.MULTIPLE_RESPONSE
    assert [o.fraction for o in question.options] == [0.5, 0.5, -1.0]


def test_custom_processing_with_a_negative_else_score() -> None:
    processing = (
        "<responseProcessing><responseCondition><responseIf><match>"
        '<variable identifier="RESPONSE"/>'
        '<correct identifier="RESPONSE"/></match><setOutcomeValue identifier="SCORE">'
        '<baseValue baseType="float">3</baseValue></setOutcomeValue></responseIf><responseElse>'
        '<setOutcomeValue identifier="SCORE"><baseValue baseType="float">-1</baseValue>'
        "</setOutcomeValue></responseElse></responseCondition></responseProcessing>"
    )
    _report, question = _only(choice_item("single", "C", processing))
    assert [o.fraction for o in question.options] == [-0.3333333, -0.3333333, 1.0]


def test_true_false_travels_as_true_false_identifiers() -> None:
    declaration = (
        '<responseDeclaration identifier="R" cardinality="single" baseType="identifier">'
        "<correctResponse><value>false</value></correctResponse></responseDeclaration>"
    )
    body = (
        '<p>Sky is green.</p><choiceInteraction responseIdentifier="R" maxChoices="1">'
        '<simpleChoice identifier="true">Верно</simpleChoice>'
        '<simpleChoice identifier="false">Неверно</simpleChoice></choiceInteraction>'
    )
    _report, question = _only(
        item(declaration, body, f'<responseProcessing template="{TEMPLATES}match_correct"/>')
    )
    assert question.type is QuestionType.TRUE_FALSE
    assert [(o.text, o.fraction) for o in question.options] == [("True", 0.0), ("False", 1.0)]


def test_numeric_text_entry_with_tolerance() -> None:
    declaration = '<responseDeclaration identifier="R" cardinality="single" baseType="float"/>'
    body = '<p>g = <textEntryInteraction responseIdentifier="R"/> m/s²</p>'
    processing = (
        '<responseProcessing><responseCondition><responseIf><equal toleranceMode="absolute" '
        'tolerance="0.05 0.05"><variable identifier="R"/>'
        '<baseValue baseType="float">9.81</baseValue>'
        '</equal><setOutcomeValue identifier="SCORE"><baseValue baseType="float">1</baseValue>'
        "</setOutcomeValue></responseIf></responseCondition></responseProcessing>"
    )
    _report, question = _only(item(declaration, body, processing))
    assert question.type is QuestionType.NUMERICAL
    assert question.text == "<p>g = _____ m/s²</p>"
    assert [(o.text, o.fraction, o.tolerance) for o in question.options] == [("9.81", 1.0, 0.05)]


def test_several_text_entries_make_a_cloze() -> None:
    declarations = "".join(
        f'<responseDeclaration identifier="{r}" cardinality="single" baseType="string">'
        f"<correctResponse><value>{v}</value></correctResponse></responseDeclaration>"
        for r, v in (("R1", "habe"), ("R2", "hast"))
    )
    body = (
        '<p>ich <textEntryInteraction responseIdentifier="R1"/>, '
        'du <textEntryInteraction responseIdentifier="R2"/></p>'
    )
    processing = (
        "<responseProcessing>"
        + "".join(
            f'<responseCondition><responseIf><match><variable identifier="{r}"/>'
            f'<correct identifier="{r}"/></match><setOutcomeValue identifier="SCORE"><sum>'
            '<variable identifier="SCORE"/><baseValue baseType="float">1</baseValue></sum>'
            "</setOutcomeValue></responseIf></responseCondition>"
            for r in ("R1", "R2")
        )
        + "</responseProcessing>"
    )
    _report, question = _only(item(declarations, body, processing))
    assert question.type is QuestionType.CLOZE
    assert question.text == "<p>ich {#1}, du {#2}</p>"
    assert [g.kind for g in question.gaps] == [GapKind.SHORT_ANSWER] * 2
    assert [g.options[0].text for g in question.gaps] == ["habe", "hast"]
    assert question.deliverable


def test_templated_and_adaptive_items_are_not_deliverable() -> None:
    templated = choice_item(
        "single", "A", f'<responseProcessing template="{TEMPLATES}match_correct"/>'
    ).replace(
        b"<itemBody>",
        b'<templateDeclaration identifier="X" cardinality="single" baseType="integer"/><itemBody>',
    )
    _report, question = _only(templated)
    assert question.deliverable is False
    assert "template" in (question.skip_reason or "")
    adaptive = choice_item(
        "single", "A", f'<responseProcessing template="{TEMPLATES}match_correct"/>'
    ).replace(b'adaptive="false"', b'adaptive="true"')
    _report, question = _only(adaptive)
    assert question.deliverable is False
    assert "adaptive" in (question.skip_reason or "")


def test_unsupported_interaction_is_other_with_a_reason() -> None:
    declaration = '<responseDeclaration identifier="R" cardinality="single" baseType="integer"/>'
    body = '<sliderInteraction responseIdentifier="R" lowerBound="0" upperBound="10"/>'
    report, question = _only(
        item(declaration, body, f'<responseProcessing template="{TEMPLATES}match_correct"/>')
    )
    assert report.ok
    assert question.type is QuestionType.OTHER
    assert question.source_type == "sliderInteraction"
    assert "slider" in (question.skip_reason or "")


QTI3 = (
    '<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x" '
    'title="Drie">'
    '<qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">'
    "<qti-correct-response><qti-value>C2</qti-value></qti-correct-response></qti-response-declaration>"
    '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>'
    "{outcome}<qti-item-body>"
    '<qti-choice-interaction response-identifier="RESPONSE" max-choices="1">'
    '<qti-prompt>Kies</qti-prompt><qti-simple-choice identifier="C1">een</qti-simple-choice>'
    '<qti-simple-choice identifier="C2">twee</qti-simple-choice></qti-choice-interaction>'
    "</qti-item-body>"
    "{processing}</qti-assessment-item>"
)
QTI3_MATCH = (
    '<qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/'
    'rptemplates/match_correct.xml"/>'
)


def test_qti3_names_are_read() -> None:
    report, question = _only(QTI3.format(outcome="", processing=QTI3_MATCH).encode())
    assert report.ok
    assert report.format is not None
    assert report.format.value == "qti-3.0"
    assert [(o.text, o.fraction) for o in question.options] == [("een", 0.0), ("twee", 1.0)]


@pytest.mark.parametrize(
    ("outcome", "processing", "message"),
    [
        (
            '<qti-outcome-declaration identifier="MAXSCORE" cardinality="single" '
            'base-type="float"/>',
            QTI3_MATCH,
            "MAXSCORE",
        ),
        (
            "",
            "<qti-response-processing><qti-wrong-element/></qti-response-processing>",
            "<qti-wrong-element>",
        ),
        (
            "",
            '<qti-response-processing><qti-set-outcome-value identifier="NOPE"><qti-base-value '
            'base-type="float">1</qti-base-value></qti-set-outcome-value></qti-response-processing>',
            "NOPE not found",
        ),
        (
            "",
            "<qti-response-processing><qti-response-condition><qti-response-if><qti-base-value "
            'base-type="boolean">true</qti-base-value></qti-response-if></qti-response-condition>'
            "</qti-response-processing>",
            "sets no outcome",
        ),
    ],
)
def test_structural_faults_are_errors(outcome: str, processing: str, message: str) -> None:
    report, question = _only(QTI3.format(outcome=outcome, processing=processing).encode())
    assert not report.ok
    assert any(message in e.message for e in report.errors), report.errors
    assert question.deliverable is False


def test_missing_image_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "item.xml"
    path.write_bytes(
        choice_item(
            "single", "A", f'<responseProcessing template="{TEMPLATES}match_correct"/>'
        ).replace(b"<p>Pick.</p>", b'<p>Pick.<img src="img/a.png"/></p>')
    )
    report = inspect_file(path)
    assert report.ok
    assert any("img/a.png" in w.message for w in report.warnings)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"png")
    report = inspect_file(path)
    assert not [w for w in report.warnings if "img/a.png" in w.message]
    assert [(f.name, f.data) for f in report.questions[0].files] == [("img/a.png", b"png")]


def _test_document(hrefs: list[tuple[str, str]]) -> bytes:
    sections = "".join(
        f'<assessmentSection identifier="S{n}" title="{title}" visible="true">'
        f'<assessmentItemRef identifier="I{n}" href="{href}"/></assessmentSection>'
        for n, (title, href) in enumerate(hrefs)
    )
    return (
        f'<assessmentTest xmlns="{NS21}" identifier="t" title="Test"><testPart identifier="p" '
        f'navigationMode="linear" submissionMode="individual">{sections}</testPart>'
        "</assessmentTest>"
    ).encode()


def test_assessment_test_on_disk_reads_its_items_with_sections_as_categories(
    tmp_path: Path,
) -> None:
    (tmp_path / "items").mkdir()
    (tmp_path / "items" / "a.xml").write_bytes(
        choice_item("single", "A", f'<responseProcessing template="{TEMPLATES}match_correct"/>')
    )
    test = tmp_path / "test.xml"
    test.write_bytes(_test_document([("Algebra", "items/a.xml"), ("Escape", "../outside.xml")]))
    report = inspect_file(test)
    assert report.questions[0].category == "Algebra"
    assert not report.ok  # the second reference leaves the folder and is refused
    assert any("../outside.xml" in e.message for e in report.errors)


def _package(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MANIFEST = (
    '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:imsmd="http://ltsc.ieee.org/xsd/LOM">'
    "<resources>{resources}</resources></manifest>"
)


def test_package_lists_all_items_with_keywords_as_tags() -> None:
    resource = (
        '<resource identifier="r{n}" type="imsqti_item_xmlv2p1" href="q{n}.xml">'
        "<metadata><imsmd:lom>"
        "<imsmd:general><imsmd:keyword><imsmd:string>topic{n}</imsmd:string></imsmd:keyword>"
        "</imsmd:general></imsmd:lom></metadata></resource>"
    )
    files = {
        "imsmanifest.xml": MANIFEST.format(
            resources=resource.format(n=1) + resource.format(n=2)
        ).encode(),
        "q1.xml": choice_item(
            "single", "A", f'<responseProcessing template="{TEMPLATES}match_correct"/>'
        ),
        "q2.xml": choice_item(
            "single", "B", f'<responseProcessing template="{TEMPLATES}match_correct"/>'
        ),
    }
    report = inspect_bytes(_package(files), "bank.zip")
    assert report.format is not None
    assert report.format.value == "qti-package"
    assert report.ok
    assert [q.tags for q in report.questions] == [("topic1",), ("topic2",)]


def test_package_with_a_missing_item_is_an_error() -> None:
    resource = '<resource identifier="r" type="imsqti_item_xmlv2p1" href="gone.xml"/>'
    report = inspect_bytes(
        _package({"imsmanifest.xml": MANIFEST.format(resources=resource).encode()}), "b.zip"
    )
    assert not report.ok
    assert "gone.xml" in report.errors[0].message
