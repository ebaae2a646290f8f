"""The third-party corpus in shared/corpora gives exactly the facts its README states.

Each entry below transcribes one row of shared/corpora/README.md: only the hard expectations
(asserted by the source's own tests or metadata), plus the README's deliverable=false list. The
GIFT-grammar-PEG.js files are also checked against the parse trees that project asserts
(corpora/expected/), translated into our model as the README describes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from question_bank.htmltext import collapse
from question_bank.inspect import inspect_file, run_inspect
from question_bank.model import FileReport, Question, QuestionType
from question_bank.numbers import parse_number

from .conftest import corpus_dir, corpus_files

CHOICE = "choice"  # README: "single_choice or multiple_response"


@dataclass(frozen=True)
class Facts:
    format: str | None = None
    ok: bool | None = None
    count: int | None = None
    types: tuple[str, ...] | None = None
    all_types: str | None = None
    names: tuple[str, ...] | None = None
    name_at: dict[int, str] = field(default_factory=dict)
    text_contains: dict[int, str] = field(default_factory=dict)
    fractions: dict[int, tuple[float, ...]] = field(default_factory=dict)
    options: dict[int, tuple[str, ...]] = field(default_factory=dict)
    idnumber: dict[int, str] = field(default_factory=dict)
    tags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    categories: tuple[tuple[str, str | None], ...] | None = None
    category_of: dict[str, str] = field(default_factory=dict)


def gift(**facts: Any) -> Facts:
    return Facts(format="gift", **facts)


def mxml(**facts: Any) -> Facts:
    return Facts(format="moodle-xml", **facts)


def q21(ok: bool | None = True, **facts: Any) -> Facts:
    return Facts(format="qti-2.1", ok=ok, **facts)


def q30(ok: bool | None = None, **facts: Any) -> Facts:
    return Facts(format="qti-3.0", ok=ok, **facts)


T = True
MOODLE_GIFT = "gift/moodle__giftformat_test.php__test_import_"
PEG = "gift/GIFT-grammar-PEG.js__"
SHORT = (1.0, 0.5, 0.0)
ANIMALS = ("Frog", "Cat", "*")
SPECTRUM = "What's between orange and green in the spectrum?"
COLOURS = (0.5, -1.0, 0.5, -1.0)

EXPECTED: dict[str, Facts] = {
    # -- GIFT, Moodle's own tests --
    MOODLE_GIFT + "essay.gift.txt": gift(
        ok=T, count=1, types=("essay",), names=("Q8",), text_contains={0: "How are you?"}
    ),
    MOODLE_GIFT + "match.gift.txt": gift(
        ok=T, count=1, types=("matching",), names=("Moodle activities",),
        text_contains={0: "Match the <b>activity</b> to the description."},
    ),
    MOODLE_GIFT + "multichoice.gift.txt": gift(
        ok=T, count=1, types=("single_choice",), names=("Q2",), fractions={0: (1, 0, 0)},
        options={0: ("yellow", "red", "blue")}, text_contains={0: SPECTRUM},
    ),
    MOODLE_GIFT + "multichoice_multi.gift.txt": gift(
        ok=T, count=1, types=("multiple_response",), names=("colours",),
        fractions={0: COLOURS}, options={0: ("yellow", "red", "off-beige", "blue")},
    ),
    MOODLE_GIFT + "numerical.gift.txt": gift(
        ok=T, count=1, types=("numerical",), names=("Q5",), fractions={0: (1, 0)},
        text_contains={0: "What is a number from 1 to 5?"},
    ),
    MOODLE_GIFT + "question_with_tags.gift.txt": gift(
        ok=T, count=1, types=("essay",), names=("Question name",),
        tags={0: ("tag", "other-tag")}, idnumber={0: "myid"}, text_contains={0: "How are you?"},
    ),
    MOODLE_GIFT + "shortanswer.gift.txt": gift(
        ok=T, count=1, types=("short_answer",), names=("Shortanswer",), fractions={0: SHORT},
        options={0: ANIMALS}, text_contains={0: "Which is the best animal?"},
    ),
    MOODLE_GIFT + "shortanswer_with_general_feedback.gift.txt": gift(
        ok=T, count=1, types=("short_answer",), names=("Shortanswer",), fractions={0: SHORT},
        options={0: ANIMALS}, text_contains={0: "Which is the best animal?"},
    ),
    MOODLE_GIFT + "truefalse_true_answer1.gift.txt": gift(
        ok=T, count=1, types=("true_false",), names=("2-08 TSL",), fractions={0: (1, 0)},
        text_contains={0: "TSL is blablabla."},
    ),
    MOODLE_GIFT + "truefalse_true_answer2.gift.txt": gift(
        ok=T, count=1, types=("true_false",), names=("2-08 TSL",), fractions={0: (1, 0)},
        text_contains={0: "TSL is blablabla."},
    ),
    "gift/moodle__qtype_ordering__testexport.gift.txt": gift(
        ok=T, count=1, types=("ordering",), names=("Moodle",)
    ),
    "gift/moodle__qtype_ordering__testimport.gift.txt": gift(
        ok=T, count=1, types=("ordering",), names=("Moodle",), idnumber={0: "myid"},
        text_contains={0: "Put these words in order."},
    ),
    "gift/moodle__questions.gift.txt": gift(
        ok=T, count=9,
        types=("essay", "matching", "single_choice", "multiple_response", "numerical",
               "short_answer", "true_false", "true_false", "true_false"),
        names=("Q8", "Moodle activities", "Q2", "colours", "Q5", "Shortanswer", "Q1",
               "2-08 TSL", "2-08 TSL"),
        text_contains={0: "How are you?", 2: SPECTRUM},
        fractions={2: (1, 0, 0), 3: COLOURS, 4: (1, 0), 5: SHORT, 6: (0, 1), 7: (1, 0),
                   8: (1, 0)},
    ),
    # -- GIFT, GIFT-grammar-PEG.js (the parse trees are checked separately below) --
    PEG + "TFTwoFeedback.gift": gift(
        ok=T, count=3, all_types="true_false", fractions={0: (0, 1), 1: (1, 0), 2: (1, 0)}
    ),
    PEG + "categorySpecialCharacter.gift": gift(
        count=0, categories=(("Default for Unit 1: Topic", None),)
    ),
    PEG + "descriptionTitleEscapedColon.gift": gift(
        ok=T, count=2, types=("description", "true_false"), name_at={0: "Description Title:"},
        fractions={1: (1, 0)},
    ),
    PEG + "escapeAll.gift": gift(
        ok=T, count=1, all_types=CHOICE, name_at={0: "GIFT Control Characters"},
        fractions={0: (0, 0, 0, 0, 0, 0, 1)},
    ),
    PEG + "escapeEquals.gift": gift(ok=T, count=1, all_types=CHOICE, fractions={0: (0, 1, 0)}),
    PEG + "formatExamples.gift": gift(ok=T, count=1, all_types=CHOICE, fractions={0: (1, 0)}),
    PEG + "markdown.gift": gift(ok=T, count=4, all_types="description"),
    PEG + "mc1.gift": gift(ok=T, count=1, all_types=CHOICE, fractions={0: (0, 0, 1)}),
    PEG + "mc4.gift": gift(ok=T, count=1, all_types=CHOICE, fractions={0: (0, 0, 1)}),
    PEG + "mcHTMLComment.gift": gift(
        ok=T, count=1, all_types=CHOICE, name_at={0: "EE_mod_05_T39_P079"},
        fractions={0: (0, 0, 1)},
    ),
    PEG + "multipleAnswersFloat.gift": gift(
        ok=T, count=1, all_types=CHOICE,
        fractions={0: (0.3333333, 0.3333333, -1, 0.3333333, -1)},
    ),
    PEG + "numerical1.gift": gift(
        ok=T, count=10, all_types="numerical",
        fractions={**{i: (1,) for i in range(8)}, 8: (1, 0.5), 9: (0, 1, 0)},
        name_at={9: "Combien de principes GRASP y a-t-il?"},
    ),
    PEG + "shortAnswer1.gift": gift(
        ok=T, count=2, all_types="short_answer", fractions={0: (1, 1), 1: (1, 1)}
    ),
    PEG + "shortAnswerNotMatching.gift": gift(
        ok=T, count=2, all_types=CHOICE, fractions={0: (0, 1), 1: (0, 0, 1)},
        name_at={1: "iebT26nuevo_P012"},
    ),
    PEG + "shortFirstEmbeddedUnderline.gift": gift(
        ok=T, count=2, all_types="short_answer", fractions={0: (1,), 1: (1,)},
        name_at={1: "Continents"},
    ),
    PEG + "symbolsAll.gift": gift(
        ok=T, count=1, types=("true_false",), name_at={0: "GIFT range of non-escaped symbols"},
        fractions={0: (1, 0)},
    ),
    PEG + "tag_id_and_two_tags.gift": gift(
        ok=T, count=1, types=("essay",), idnumber={0: "393"}, tags={0: ("fred", "barney-wilma")}
    ),
    PEG + "tf1.gift": gift(ok=T, count=1, types=("true_false",), fractions={0: (0, 1)}),
    PEG + "tf1_markdown.gift": gift(ok=T, count=1, types=("true_false",), fractions={0: (0, 1)}),
    PEG + "totara_moodle_backslash.gift": gift(
        ok=T, count=1, types=("essay",), name_at={0: "double backslash"}
    ),
    PEG + "totara_moodle_match.gift": gift(
        ok=T, count=1, types=("matching",), name_at={0: "Moodle activities"}
    ),
    PEG + "totara_moodle_multichoice_multi.gift": gift(
        ok=T, count=1, all_types=CHOICE, name_at={0: "colours"}, fractions={0: COLOURS}
    ),
    PEG + "totara_moodle_pre_content.gift": gift(
        ok=T, count=1, types=("essay",), name_at={0: "Q001"}
    ),
    PEG + "totara_moodle_shortanswer_general_feedback.gift": gift(
        ok=T, count=1, types=("short_answer",), name_at={0: "Shortanswer"}, fractions={0: SHORT}
    ),
    PEG + "totara_moodle_truefalse_true_answer1.gift": gift(
        ok=T, count=1, types=("true_false",), name_at={0: "2-08 TSL"}, fractions={0: (1, 0)}
    ),
    PEG + "type_inferred_multiline_markdown.gift": gift(
        ok=T, count=1, types=("short_answer",), fractions={0: (1, 1)}
    ),
    # -- Moodle XML --
    "moodlexml/moodle__broken_cloze_questions.xml": mxml(ok=False),
    "moodlexml/moodle__category_with_description.xml": mxml(
        ok=T, categories=(("Alpha", "This is Alpha category for test"),)
    ),
    "moodlexml/moodle__export_category.xml": mxml(
        ok=T, categories=(("Alpha", "This is Alpha category for test"),)
    ),
    "moodlexml/moodle__multianswer.xml": mxml(
        ok=T, count=1, names=("cloze with images",),
        text_contains={0: "Match the following cities with the correct state,"},
    ),
    "moodlexml/moodle__multichoice.xml": mxml(
        ok=T, count=1, names=("Greeting",), text_contains={0: "What language is being spoken?"}
    ),
    "moodlexml/moodle__nested_categories.xml": mxml(
        ok=T,
        categories=(("Delta", "This is Delta category for test"),
                    ("Delta/Epsilon", "This is Epsilon category for test"),
                    ("Delta/Epsilon/Zeta", "This is Zeta category for test")),
    ),
    "moodlexml/moodle__nested_categories_with_questions.xml": mxml(
        ok=T,
        categories=(("Iota", None), ("Iota/Kappa", None), ("Iota/Kappa/Lambda", None),
                    ("Iota/Mu", None)),
        category_of={"Iota Question": "Iota", "Kappa Question": "Iota/Kappa",
                     "Lambda Question": "Iota/Kappa/Lambda", "Mu Question": "Iota/Mu"},
    ),
    "moodlexml/moodle__qtype_ddimageortext__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("Imported Drag and drop onto image 001",),
        text_contains={0: "Identify the features in this cross-section by dragging the labels "
                          "into the boxes."},
    ),
    "moodlexml/moodle__qtype_ddwtos__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("Imported Drag and drop into text 001",)
    ),
    "moodlexml/moodle__qtype_description__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("description-001",),
        text_contains={0: "Instructions about the following questions."},
    ),
    "moodlexml/moodle__qtype_essay__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("essay-001",), text_contains={0: "Write an essay with 500 words."}
    ),
    "moodlexml/moodle__qtype_match__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("matching-001",), text_contains={0: "Classify the animals."}
    ),
    "moodlexml/moodle__qtype_multichoice__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("Multi-choice-001",),
        text_contains={0: "Find the capital cities in Europe."},
    ),
    "moodlexml/moodle__qtype_numerical__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("Numerical-001",),
        text_contains={0: "What is the average of 4, 5, 6 and 10?"},
    ),
    "moodlexml/moodle__qtype_ordering__testexport.moodle.xml": mxml(
        ok=T, count=1, types=("ordering",), names=("Moodle",)
    ),
    "moodlexml/moodle__qtype_ordering__testimport.moodle.xml": mxml(
        ok=T, count=1, types=("ordering",), names=("Moodle",), idnumber={0: "myid"},
        text_contains={0: "Put these words in order."},
    ),
    "moodlexml/moodle__qtype_ordering__testoldquestion.moodle.xml": mxml(
        ok=T, count=1, names=("dd-ordering old question",)
    ),
    "moodlexml/moodle__qtype_ordering__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("dd-ordering 1",)
    ),
    "moodlexml/moodle__qtype_shortanswer__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("shortanswer-001",), text_contains={0: "Name an amphibian:"}
    ),
    "moodlexml/moodle__qtype_truefalse__testquestion.moodle.xml": mxml(
        ok=T, count=1, names=("true-false-001",), text_contains={0: "The answer is true."}
    ),
    # -- Aiken --
    "aiken/moodle__questions.aiken.txt": Facts(
        format="aiken", ok=T, count=2, text_contains={0: "The Moodle project was started by:"}
    ),
    # -- Cloze text and missing word --
    "other/moodle__missingword__question.missingword1.txt": Facts(),
    "other/moodle__multianswer__broken_multianswer_1.txt": Facts(format="cloze-text", ok=False),
    "other/moodle__multianswer__broken_multianswer_2.txt": Facts(format="cloze-text", ok=False),
    "other/moodle__multianswer__questions.multianswer.txt": Facts(
        format="cloze-text", ok=T, count=1, types=("cloze",),
        text_contains={0: "Match the following cities with the correct state"},
    ),
    # -- QTI 2.1 (QTIWorks; flagged samples carry no ok expectation) --
    "qti21/qtiworks__stomp/a_mcq_dkG2.xml": q21(ok=None),
    "qti21/qtiworks__stomp/adap3_3pSM.xml": q21(ok=None),
    "qti21/qtiworks__stomp/baseG.xml": q21(ok=None),
    "qti21/qtiworks__stomp/binary_2GS.xml": q21(ok=None),
    "qti21/qtiworks__stomp/chc_inlineGS.xml": q21(),
    "qti21/qtiworks__stomp/chc_mcqS.xml": q21(),
    "qti21/qtiworks__stomp/chc_mulS.xml": q21(),
    "qti21/qtiworks__stomp/chc_pairingGS.xml": q21(),
    "qti21/qtiworks__stomp/digholeG.xml": q21(),
    "qti21/qtiworks__stomp/graphic_associate.xml": q21(),
    "qti21/qtiworks__stomp/graphic_gap_matchGS.xml": q21(),
    "qti21/qtiworks__stomp/graphic_orderG.xml": q21(),
    "qti21/qtiworks__stomp/hot_accel_2G.xml": q21(ok=None),
    "qti21/qtiworks__stomp/hotspotsS.xml": q21(),
    "qti21/qtiworks__stomp/hottext.xml": q21(),
    "qti21/qtiworks__stomp/meanGS.xml": q21(),
    "qti21/qtiworks__stomp/nel1_1pg.xml": q21(ok=None),
    "qti21/qtiworks__stomp/precisionGS.xml": q21(ok=None),
    "qti21/qtiworks__stomp/slider2.xml": q21(),
    "qti21/qtiworks__stomp/xchoiceS.xml": q21(ok=None),
    "qti21/qtiworks__upmc/addition.xml": q21(),
    "qti21/qtiworks__upmc/carre2.xml": q21(),
    "qti21/qtiworks__upmc/exercise1.xml": q21(),
    "qti21/qtiworks__upmc/exercise3.xml": q21(),
    "qti21/qtiworks__upmc/exercise5.xml": q21(),
    "qti21/qtiworks__upmc/sexercice1.xml": q21(),
    "qti21/qtiworks__upmc/sexercice14.xml": q21(),
    "qti21/qtiworks__upmc/sexercice6.xml": q21(),
    "qti21/qtiworks__upmc/wexercice7.xml": q21(),
    "qti21/qtiworks__upmc/wexercise1.xml": q21(),
    "qti21/qtiworks__upmc/wexercise3.xml": q21(),
    "qti21/qtiworks__language__habenprompt.xml": q21(),
    "qti21/qtiworks__language__pburg1g.xml": q21(),
    # -- QTI 3.0 (php-qti3) --
    "qti30/php-qti3__Validator_item001.xml": q30(),
    "qti30/php-qti3__default-value-empty-value.xml": q30(ok=False),
    "qti30/php-qti3__default-value-wrong-tag.xml": q30(ok=False),
    "qti30/php-qti3__empty-correct-response-value.xml": q30(ok=False),
    "qti30/php-qti3__gap-match-no-processing.xml": q30(ok=False),
    "qti30/php-qti3__map-response-template.xml": q30(),
    "qti30/php-qti3__match-interaction-no-processing.xml": q30(),
    "qti30/php-qti3__non-existing-outcome.xml": q30(ok=False),
    "qti30/php-qti3__outcome-declaration-without-default.xml": q30(ok=False),
    "qti30/php-qti3__simple-choice-processing.xml": q30(ok=T, fractions={0: (1, 0)}),
    "qti30/php-qti3__simple-multiple-choice-processing1.xml": q30(),
    "qti30/php-qti3__various-expressions.xml": q30(),
    "qti30/php-qti3__without-response-processing.xml": q30(),
    "qti30/php-qti3__wrong-processing-element.xml": q30(ok=False),
    # -- CSV --
    "csv/moodle-qformat_csv__sample.csv": Facts(format="csv"),
}  # fmt: skip

# README "Items that should be deliverable=false": file -> question indexes (None: all).
NOT_DELIVERABLE: dict[str, tuple[int, ...] | None] = {
    "moodlexml/moodle__qtype_description__testquestion.moodle.xml": (0,),
    PEG + "descriptionTitleEscapedColon.gift": (0,),
    PEG + "markdown.gift": (0, 1, 2, 3),
    MOODLE_GIFT + "essay.gift.txt": (0,),
    MOODLE_GIFT + "question_with_tags.gift.txt": (0,),
    "gift/moodle__questions.gift.txt": (0,),
    PEG + "tag_id_and_two_tags.gift": (0,),
    PEG + "totara_moodle_backslash.gift": (0,),
    PEG + "totara_moodle_pre_content.gift": (0,),
    "moodlexml/moodle__qtype_essay__testquestion.moodle.xml": (0,),
    "moodlexml/moodle__nested_categories_with_questions.xml": (1,),  # Kappa Essay Question
    "qti30/php-qti3__without-response-processing.xml": None,
    "qti30/php-qti3__match-interaction-no-processing.xml": None,
    "moodlexml/moodle__qtype_ddimageortext__testquestion.moodle.xml": None,
    **{f"qti21/qtiworks__stomp/{name}.xml": None for name in (
        "graphic_associate", "graphic_gap_matchGS", "graphic_orderG", "hotspotsS",
        "hot_accel_2G", "slider2", "hottext",
        # templated
        "adap3_3pSM", "baseG", "binary_2GS", "digholeG", "meanGS", "precisionGS", "xchoiceS")},
    **{f"qti21/qtiworks__upmc/{name}.xml": None for name in (
        "addition", "carre2", "sexercice1", "sexercice14", "sexercice6", "wexercice7")},
}  # fmt: skip

# Where we depart from "everything else is deliverable when it has a correct answer": the
# pairing item leaves "thirty seven" with no correct match, which a matching item (one answer
# per item) cannot express.
DELIVERABLE_EXCEPTIONS = {"qti21/qtiworks__stomp/chc_pairingGS.xml"}


def _report(relative: str) -> FileReport:
    return inspect_file(corpus_dir() / relative)


def _type_ok(question: Question, expected: str) -> bool:
    if expected == CHOICE:
        return question.type in {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE}
    return question.type.value == expected


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_readme_facts(relative: str) -> None:
    facts = EXPECTED[relative]
    report = _report(relative)
    questions = report.questions
    assert report.ok is (not report.errors)
    if facts.format is not None:
        assert report.format is not None
        assert report.format.value == facts.format
    if facts.ok is not None:
        assert report.ok is facts.ok, [e.message for e in report.errors]
        if facts.ok is False:
            assert report.errors
    if facts.count is not None:
        assert len(questions) == facts.count
    if facts.types is not None:
        assert len(questions) == len(facts.types)
        for question, expected in zip(questions, facts.types, strict=True):
            assert _type_ok(question, expected), (question.name, question.type)
    if facts.all_types is not None:
        assert all(_type_ok(q, facts.all_types) for q in questions)
    if facts.names is not None:
        assert tuple(q.name for q in questions) == facts.names
    for index, name in facts.name_at.items():
        assert questions[index].name == name
    for index, text in facts.text_contains.items():
        assert text in collapse(questions[index].text)
    for index, fractions in facts.fractions.items():
        assert [o.fraction for o in questions[index].options] == pytest.approx(fractions, abs=1e-4)
    for index, options in facts.options.items():
        assert tuple(o.text.strip() for o in questions[index].options) == options
    for index, idnumber in facts.idnumber.items():
        assert questions[index].idnumber == idnumber
    for index, tags in facts.tags.items():
        assert questions[index].tags == tags
    if facts.categories is not None:
        declared = {c.path: c.info for c in report.categories}
        assert [c.path for c in report.categories] == [path for path, _info in facts.categories]
        for path, info in facts.categories:
            if info is not None:
                assert declared[path] == info
    by_name = {q.name: q for q in questions}
    for name, category in facts.category_of.items():
        assert by_name[name].category == category


def test_every_bank_in_the_corpus_has_its_facts() -> None:
    """A file added to the corpus without an entry here would otherwise go untested."""
    assert set(corpus_files(banks_only=True)) == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(NOT_DELIVERABLE))
def test_readme_not_deliverable(relative: str) -> None:
    report = _report(relative)
    indexes = NOT_DELIVERABLE[relative]
    chosen = report.questions if indexes is None else [report.questions[i] for i in indexes]
    assert chosen
    for question in chosen:
        assert question.deliverable is False, question.name
        assert question.skip_reason


@pytest.mark.parametrize("relative", sorted(r for r, f in EXPECTED.items() if f.ok))
def test_everything_else_with_a_correct_answer_is_deliverable(relative: str) -> None:
    if relative in DELIVERABLE_EXCEPTIONS:
        return
    report = _report(relative)
    listed = NOT_DELIVERABLE.get(relative, ())
    for index, question in enumerate(report.questions):
        if listed is None or index in (listed or ()):
            continue
        if question.type in {QuestionType.ESSAY, QuestionType.DESCRIPTION, QuestionType.OTHER}:
            continue
        has_answer = (
            any(o.fraction > 0 for o in question.options)
            or question.pairs
            or question.ordering_items
            or question.gaps
        )
        if has_answer:
            assert question.deliverable, (question.name, question.skip_reason)


def test_duplicate_tsl_questions_are_warned_about() -> None:
    report = _report("gift/moodle__questions.gift.txt")
    assert any("duplicate" in w.message and w.item == "2-08 TSL" for w in report.warnings)


@pytest.mark.parametrize("relative", corpus_files(banks_only=False))
def test_every_corpus_file_goes_through_run_inspect(relative: str) -> None:
    path = corpus_dir() / relative
    out, err = io.StringIO(), io.StringIO()
    status = run_inspect([str(path)], as_json=True, out=out, err=err)
    assert status in {0, 1}
    document = json.loads(out.getvalue())
    assert len(document["files"]) == 1
    assert document["files"][0]["ok"] is (status == 0)


# -- GIFT-grammar-PEG.js parse trees ------------------------------------------------------------

_PEG_TYPES = {
    "MC": CHOICE,
    "TF": "true_false",
    "Short": "short_answer",
    "Numerical": "numerical",
    "Matching": "matching",
    "Essay": "essay",
    "Description": "description",
}


def _peg_files() -> list[str]:
    names = [r for r in EXPECTED if r.startswith(PEG)]
    return sorted(n[len(PEG) : -len(".gift")] for n in names)


def _fraction(choice: dict[str, Any]) -> float:
    if choice.get("weight") is not None:
        return float(choice["weight"]) / 100
    return 1.0 if choice.get("isCorrect") else 0.0


def _numbers(text: dict[str, Any]) -> tuple[float, float]:
    kind = text.get("type")
    if kind == "high-low":
        high, low = float(text["numberHigh"]), float(text["numberLow"])
        return (high + low) / 2, (high - low) / 2
    return float(text["number"]), float(text.get("range", 0) or 0)


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _check_peg_item(item: dict[str, Any], question: Question) -> None:
    assert _type_ok(question, _PEG_TYPES[item["type"]]), (item["type"], question.type)
    if item.get("title"):
        assert question.name == item["title"]
    stem = item.get("stem") or {}
    assert question.text_format.value == stem["format"]
    # The PEG parser collapses line breaks and spaces around the blank; we keep Moodle's.
    assert _squeeze(question.text) == _squeeze(stem["text"])
    if item.get("id"):
        assert question.idnumber == item["id"]
    if item.get("tags"):
        assert list(question.tags) == item["tags"]
    if item["type"] == "TF":
        assert [o.fraction for o in question.options] == ([1, 0] if item["isTrue"] else [0, 1])
    elif item["type"] in {"MC", "Short"}:
        assert [o.fraction for o in question.options] == pytest.approx(
            [_fraction(c) for c in item["choices"]], abs=1e-4
        )
        assert [collapse(o.text) for o in question.options] == [
            collapse(c["text"]["text"]) for c in item["choices"]
        ]
    elif item["type"] == "Numerical":
        choices = item["choices"]
        if isinstance(choices, dict):
            choices = [{"isCorrect": True, "weight": None, "text": choices}]
        assert [o.fraction for o in question.options] == pytest.approx(
            [_fraction(c) for c in choices], abs=1e-4
        )
        for option, choice in zip(question.options, choices, strict=True):
            value, tolerance = _numbers(choice["text"])
            assert parse_number(option.text) == pytest.approx(value)
            assert option.tolerance == pytest.approx(tolerance)
    elif item["type"] == "Matching":
        assert [(collapse(p.prompt), p.answer) for p in question.pairs] == [
            (collapse(p["subquestion"]["text"]), p["subanswer"]) for p in item["matchPairs"]
        ]


@pytest.mark.parametrize("name", _peg_files())
def test_gift_grammar_peg_parse_trees(name: str) -> None:
    folder = corpus_dir()
    tree = json.loads((folder / "expected" / "GIFT-grammar-PEG.js" / f"{name}.json").read_text())
    report = inspect_file(folder / f"{PEG}{name}.gift")
    categories = [i for i in tree if i["type"] == "Category"]
    items = [i for i in tree if i["type"] != "Category"]
    assert [c.path for c in report.categories] == [
        i["title"].removeprefix("$course$/top/") for i in categories
    ]
    assert len(report.questions) == len(items)
    for item, question in zip(items, report.questions, strict=True):
        _check_peg_item(item, question)


def test_corpus_location_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from . import conftest

    (tmp_path / "corpora").mkdir()
    monkeypatch.setenv("EMTIHAN_SHARED_DIR", str(tmp_path))
    assert conftest.corpus_dir() == tmp_path / "corpora"
    monkeypatch.setenv("EMTIHAN_SHARED_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.fail.Exception, match="corpus not found"):
        conftest.corpus_dir()
