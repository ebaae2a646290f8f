"""How a QTI item's declarations and response processing become the model's fractions.

The server scores with the model's fractions (see model.py), so response processing is
translated, not run: the standard templates (match_correct, map_response), and custom
processing built from the usual blocks (`mapResponse`, or conditions comparing a response with
its correct value or with constants via `match`, `equal` with a tolerance or `stringMatch`, that
set the score to a constant or add one to it). Scores are divided by the item's MAXSCORE when it
declares one, else by the best reachable score. Anything else is reported as untranslatable.

Structural faults are errors on the item: an undeclared identifier, a correct response or
default value without a value, an unknown processing element, processing that sets no outcome.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace

from question_bank.i18n import _
from question_bank.model import Option, Parsed, round_fraction
from question_bank.numbers import parse_number
from question_bank.xmlsafe import line_of, source_tag

BUILTIN_VARIABLES = frozenset({"completionStatus", "numAttempts", "duration"})
_RULES = frozenset((
    "responseProcessing", "responseCondition", "responseIf", "responseElseIf", "responseElse",
    "setOutcomeValue", "lookupOutcomeValue", "exitResponse", "responseProcessingFragment",
    "include"
))  # fmt: skip
_EXPRESSIONS = frozenset((
    "and", "anyN", "baseValue", "contains", "containerSize", "correct", "customOperator",
    "default", "delete", "divide", "durationGTE", "durationLT", "equal", "equalRounded",
    "fieldValue", "gcd", "gt", "gte", "index", "inside", "integerDivide", "integerModulus",
    "integerToFloat", "isNull", "lcm", "lt", "lte", "mapResponse", "mapResponsePoint", "match",
    "mathConstant", "mathOperator", "max", "member", "min", "multiple", "not", "null",
    "numberCorrect", "numberIncorrect", "numberPresented", "numberResponded", "numberSelected",
    "or", "ordered", "outcomeMaximum", "outcomeMinimum", "patternMatch", "power", "product",
    "random", "randomFloat", "randomInteger", "record", "repeat", "roundTo", "round",
    "statsOperator", "stringMatch", "substring", "subtract", "sum", "testVariables", "truncate",
    "variable"
))  # fmt: skip


def children_named(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if c.tag == name]


def child_named(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    for c in element:
        if c.tag == name:
            return c
    return None


# -- declarations ------------------------------------------------------------------------------


@dataclass(slots=True)
class ResponseDeclaration:
    identifier: str
    cardinality: str
    base_type: str
    correct: list[str]
    mapping: dict[str, float] | None
    mapping_case: dict[str, bool]
    default_value: float
    upper_bound: float | None


@dataclass(slots=True)
class Rule:
    values: tuple[str, ...] | None  # None: the declared correct response
    score: float
    tolerance: float | None = None
    case_sensitive: bool = True


@dataclass(slots=True)
class Scoring:
    mapping: bool = False
    rules: list[Rule] = field(default_factory=list)
    else_score: float | None = None


@dataclass(slots=True)
class ItemContext:
    root: ET.Element
    href: str
    name: str
    parsed: Parsed
    responses: dict[str, ResponseDeclaration] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # identifier -> baseType
    templates: set[str] = field(default_factory=set)
    max_score: float | None = None  # MAXSCORE's default value, when the item declares one

    def error(self, element: ET.Element | None, message: str) -> None:
        self.parsed.error(line_of(element), self.name, message)


def _values(item: ItemContext, holder: ET.Element, what: str) -> list[str]:
    values = []
    for element in holder:
        if not isinstance(element.tag, str):
            continue
        if element.tag != "value":
            item.error(
                element,
                _("expected <value> in the {what}, found <{tag}>").format(
                    what=what, tag=source_tag(element)
                ),
            )
            continue
        values.append((element.text or "").strip())
    return values


def read_declarations(item: ItemContext) -> None:
    for decl in children_named(item.root, "responseDeclaration"):
        identifier = decl.get("identifier", "")
        correct: list[str] = []
        holder = child_named(decl, "correctResponse")
        if holder is not None:
            correct = _values(item, holder, _("correct response of {id}").format(id=identifier))
            if any(not v for v in correct) or (holder is not None and not correct):
                item.error(holder, _("empty correct response value for {id}").format(id=identifier))
                correct = [v for v in correct if v]
        mapping_element = child_named(decl, "mapping")
        mapping = None
        cases: dict[str, bool] = {}
        default = 0.0
        upper = None
        if mapping_element is not None:
            mapping = {}
            for entry in children_named(mapping_element, "mapEntry"):
                value = parse_number(entry.get("mappedValue", ""))
                key = entry.get("mapKey", "")
                if value is None:
                    item.error(entry, _("mapped value of '{key}' is not a number").format(key=key))
                    continue
                mapping[key] = value
                cases[key] = entry.get("caseSensitive", "true").lower() != "false"
            default = parse_number(mapping_element.get("defaultValue", "0")) or 0.0
            upper = parse_number(mapping_element.get("upperBound", "") or "x")
        item.responses[identifier] = ResponseDeclaration(
            identifier,
            decl.get("cardinality", "single"),
            decl.get("baseType", "identifier"),
            correct,
            mapping,
            cases,
            default,
            upper,
        )
    for decl in children_named(item.root, "outcomeDeclaration"):
        identifier = decl.get("identifier", "")
        item.outcomes[identifier] = decl.get("baseType", "")
        holder = child_named(decl, "defaultValue")
        if holder is not None:
            values = _values(item, holder, _("default value of {id}").format(id=identifier))
            if not values or any(not v for v in values):
                item.error(
                    holder,
                    _("missing default value for {id} outcome declaration").format(id=identifier),
                )
            elif identifier == "MAXSCORE":
                item.max_score = parse_number(values[0])
        elif identifier == "MAXSCORE":
            item.error(decl, _("missing default value for MAXSCORE outcome declaration"))
    for decl in children_named(item.root, "templateDeclaration"):
        item.templates.add(decl.get("identifier", ""))


# -- response processing -----------------------------------------------------------------------

_TEMPLATE = re.compile(r"(match_correct|map_response_point|map_response)(\.xml)?$")


def check_processing(item: ItemContext, processing: ET.Element) -> None:
    declared = set(item.responses) | set(item.outcomes) | item.templates | BUILTIN_VARIABLES
    sets_outcome = False
    for element in processing.iter():
        if not isinstance(element.tag, str):
            continue
        name = element.tag
        if name not in _RULES and name not in _EXPRESSIONS:
            item.error(
                element, _("unknown processing element <{tag}>").format(tag=source_tag(element))
            )
            continue
        identifier = element.get("identifier")
        if name in {"setOutcomeValue", "lookupOutcomeValue"}:
            sets_outcome = True
            if identifier not in item.outcomes and identifier not in BUILTIN_VARIABLES:
                item.error(
                    element,
                    _("response processing: identifier {id} not found").format(id=identifier),
                )
        elif name in {"variable", "correct", "mapResponse", "mapResponsePoint"}:
            pool = declared if name == "variable" else set(item.responses)
            if identifier not in pool:
                item.error(
                    element,
                    _("response processing: identifier {id} not found").format(id=identifier),
                )
    if not sets_outcome and processing.get("template") is None and len(processing):
        item.error(processing, _("response processing sets no outcome, so nothing is scored"))
    elif not len(processing) and processing.get("template") is None:
        item.error(processing, _("response processing is empty, so nothing is scored"))


def _operands(element: ET.Element) -> list[ET.Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _constant(element: ET.Element | None) -> float | None:
    if element is None or element.tag != "baseValue":
        return None
    return parse_number(element.text or "")


def _condition(element: ET.Element) -> tuple[str, Rule] | str | None:
    """(response, rule with score 0) for a comparison of one response; 'null' for isNull."""
    while element.tag == "and" and len(_operands(element)) == 1:
        element = _operands(element)[0]
    operands = _operands(element)
    if element.tag == "isNull" and operands and operands[0].tag == "variable":
        return "null"
    if element.tag not in {"match", "equal", "stringMatch"} or len(operands) != 2:
        return None
    variables = [o for o in operands if o.tag == "variable"]
    if len(variables) != 1:
        return None
    response = variables[0].get("identifier", "")
    other = operands[1] if operands[0] is variables[0] else operands[0]
    tolerance = None
    if element.tag == "equal" and element.get("toleranceMode", "exact") == "absolute":
        tolerance = parse_number((element.get("tolerance") or "0").split()[0])
    case = element.get("caseSensitive", "true").lower() != "false"
    if other.tag == "correct" and other.get("identifier") == response:
        return response, Rule(None, 0.0, tolerance, case)
    if other.tag == "baseValue":
        return response, Rule(((other.text or "").strip(),), 0.0, tolerance, case)
    if other.tag in {"multiple", "ordered"} and all(o.tag == "baseValue" for o in other):
        return response, Rule(tuple((o.text or "").strip() for o in other), 0.0, tolerance, case)
    return None


def analyse(item: ItemContext, processing: ET.Element | None) -> dict[str, Scoring] | None:
    """How each response is scored, or None when the processing cannot be translated."""
    scorings = {identifier: Scoring() for identifier in item.responses}
    if processing is None:
        return None
    template = _TEMPLATE.search(
        processing.get("template", "") or processing.get("templateLocation", "")
    )
    if template:
        for scoring in scorings.values():
            if template.group(1) == "match_correct":
                scoring.rules.append(Rule(None, 1.0))
                scoring.else_score = 0.0
            else:
                scoring.mapping = True
        return scorings
    if processing.get("template"):
        return None
    score_outcomes = {k for k, v in item.outcomes.items() if v in {"float", "integer"}}
    parents = {child: parent for parent in processing.iter() for child in parent}
    for setter in processing.iter("setOutcomeValue"):
        if setter.get("identifier") not in score_outcomes:
            continue
        expression = next(iter(_operands(setter)), None)
        if expression is None:
            return None
        mapped = [m.get("identifier", "") for m in expression.iter("mapResponse")]
        if mapped:
            for identifier in mapped:
                if identifier in scorings:
                    scorings[identifier].mapping = True
            continue
        score = _constant(expression)
        if score is None and expression.tag == "sum":
            parts = _operands(expression)
            same = [
                p
                for p in parts
                if p.tag == "variable" and p.get("identifier") == setter.get("identifier")
            ]
            constants = [_constant(p) for p in parts if p not in same]
            if len(same) == 1 and len(constants) == 1:
                score = constants[0]
        if score is None:
            return None
        branch = parents.get(setter)
        if branch is None or branch.tag == "responseProcessing":
            if score:
                return None  # an unconditional non-zero score: nothing to translate it into
            continue
        if not _apply_branch(branch, parents, score, scorings):
            return None
    return scorings


def _apply_branch(
    branch: ET.Element,
    parents: dict[ET.Element, ET.Element],
    score: float,
    scorings: dict[str, Scoring],
) -> bool:
    if branch.tag in {"responseIf", "responseElseIf"}:
        found = _condition(_operands(branch)[0]) if _operands(branch) else None
        if found == "null":
            return True  # no answer given: scored 0 anyway
        if not isinstance(found, tuple) or found[0] not in scorings:
            return False
        response, rule = found
        scorings[response].rules.append(replace(rule, score=score))
        return True
    if branch.tag == "responseElse":
        condition = parents.get(branch)
        responses = set()
        for sibling in condition if condition is not None else []:
            if sibling.tag in {"responseIf", "responseElseIf"} and _operands(sibling):
                found = _condition(_operands(sibling)[0])
                if isinstance(found, tuple):
                    responses.add(found[0])
        if len(responses) != 1:
            return False
        scorings[responses.pop()].else_score = score
        return True
    return False


def _denominator(best: float, declaration: ResponseDeclaration, max_score: float | None) -> float:
    """What a full mark is: the item's MAXSCORE when declared, else the best reachable score."""
    if max_score is not None and max_score > 0:
        return max_score
    if declaration.upper_bound is not None and 0 < declaration.upper_bound < best:
        return declaration.upper_bound
    return best


def choice_fractions(
    declaration: ResponseDeclaration,
    scoring: Scoring | None,
    identifiers: list[str],
    *,
    several: bool,
    max_score: float | None = None,
) -> tuple[list[float], float] | None:
    """Each choice's fraction and the score they are fractions of; None when unknown."""
    if scoring is None:
        return None
    if scoring.mapping and declaration.mapping is not None:
        values = [declaration.mapping.get(i, declaration.default_value) for i in identifiers]
        best = sum(v for v in values if v > 0) if several else max(values, default=0.0)
        best = _denominator(best, declaration, max_score)
        if best <= 0:
            return [0.0 for _v in values], 1.0
        return [max(-1.0, min(1.0, v / best)) for v in values], best
    if not scoring.rules:
        return None
    scores: dict[str, float] = {}
    for rule in scoring.rules:
        chosen = tuple(declaration.correct) if rule.values is None else rule.values
        if several and rule.values is None and rule.score > 0 and chosen:
            # All-or-nothing on the whole correct set.
            return [1.0 / len(chosen) if i in chosen else -1.0 for i in identifiers], rule.score
        for value in chosen:
            scores.setdefault(value, rule.score)
    else_score = scoring.else_score or 0.0
    raw = [scores.get(i, else_score) for i in identifiers]
    best = _denominator(max(raw, default=0.0), declaration, max_score)
    if best <= 0:
        return [0.0 for _r in raw], 1.0
    return [max(-1.0, min(1.0, r / best)) for r in raw], best


def text_answers(
    declaration: ResponseDeclaration, scoring: Scoring | None, max_score: float | None = None
) -> tuple[list[Option], bool, float] | None:
    """Accepted answers of a text entry with fractions, case sensitivity and the full score."""
    if scoring is None:
        return None
    if scoring.mapping and declaration.mapping:
        best = _denominator(max(declaration.mapping.values()), declaration, max_score)
        if best <= 0:
            best = 1.0
        options = [
            Option(k, round_fraction(max(-1.0, min(1.0, v / best))))
            for k, v in declaration.mapping.items()
        ]
        if declaration.default_value and "*" not in declaration.mapping:
            options.append(Option("*", round_fraction(declaration.default_value / best)))
        return options, any(declaration.mapping_case.values()), best
    if not scoring.rules:
        return None
    best = max([r.score for r in scoring.rules] + [scoring.else_score or 0.0])
    best = _denominator(best, declaration, max_score)
    if best <= 0:
        best = 1.0
    options = []
    case = True
    for rule in scoring.rules:
        values = tuple(declaration.correct) if rule.values is None else rule.values
        case = case and rule.case_sensitive
        for value in values:
            options.append(
                Option(value, round_fraction(rule.score / best), "", rule.tolerance or 0.0)
            )
    if scoring.else_score is not None:
        options.append(Option("*", round_fraction(scoring.else_score / best)))
    return options, case, best
