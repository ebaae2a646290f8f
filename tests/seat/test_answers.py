"""A choice answer on the way in and out: the page's option numbers and the stored option ids."""

from __future__ import annotations

from typing import Any

import pytest

from server.models import ItemType
from server.seat.answers import CHOICE_TYPES, checked_answer, choice_numbers
from server.seat.errors import MalformedAnswer, OneOptionOnly, UnknownOption

# A shuffled paper's option ids: the lowest (41, authored first) is shown third.
ORDER = (43, 44, 41, 42)
CHOICE_KINDS = sorted(CHOICE_TYPES)


def _checked(kind: ItemType, raw: Any, order: tuple[int, ...] = ORDER) -> Any:
    return checked_answer(kind, raw, option_order=list(order), stems=0)


@pytest.mark.parametrize("kind", CHOICE_KINDS)
@pytest.mark.parametrize(
    ("numbers", "stored"),
    [
        pytest.param([1], [43], id="first"),
        pytest.param([3], [41], id="the-lowest-id-is-where-it-is-shown"),
        pytest.param([len(ORDER)], [42], id="last"),
        pytest.param([], [], id="cleared"),
    ],
)
def test_a_number_is_stored_as_the_option_id_at_that_place(
    kind: ItemType, numbers: list[int], stored: list[int]
) -> None:
    assert _checked(kind, numbers) == stored
    assert choice_numbers(list(ORDER), stored) == tuple(numbers)


@pytest.mark.parametrize("kind", CHOICE_KINDS)
@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param([0], UnknownOption, id="zero"),
        pytest.param([len(ORDER) + 1], UnknownOption, id="one-past-the-last"),
        pytest.param([-1], UnknownOption, id="negative"),
        pytest.param([-len(ORDER)], UnknownOption, id="negative-as-a-python-index"),
        pytest.param([1, 1], UnknownOption, id="twice"),
        pytest.param([41], UnknownOption, id="an-option-id"),
        pytest.param([1, 99], UnknownOption, id="one-good-one-unknown"),
        pytest.param(["1"], MalformedAnswer, id="string"),
        pytest.param([1.0], MalformedAnswer, id="float"),
        pytest.param([True], MalformedAnswer, id="bool"),
        pytest.param([None], MalformedAnswer, id="null"),
        pytest.param([[1]], MalformedAnswer, id="nested"),
        pytest.param({"text": "1"}, MalformedAnswer, id="object"),
        pytest.param(list(range(1, 66)), MalformedAnswer, id="over-the-limit"),
    ],
)
def test_anything_but_a_number_on_the_paper_is_refused(
    kind: ItemType, raw: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        _checked(kind, raw)


@pytest.mark.parametrize("kind", [ItemType.SINGLE_CHOICE, ItemType.TRUE_FALSE])
def test_one_answer_types_take_one_number(kind: ItemType) -> None:
    with pytest.raises(OneOptionOnly):
        _checked(kind, [1, 2])


def test_multiple_response_stores_each_chosen_id_in_the_order_given() -> None:
    assert _checked(ItemType.MULTIPLE_RESPONSE, [4, 1]) == [42, 43]
    assert _checked(ItemType.MULTIPLE_RESPONSE, [1, 2, 3, 4]) == [43, 44, 41, 42]
    assert choice_numbers(list(ORDER), [42, 43]) == (4, 1)


@pytest.mark.parametrize(
    ("order", "number", "stored"),
    [
        pytest.param((7,), 1, 7, id="one-option"),
        pytest.param((9, 8), 2, 8, id="true-false"),
        pytest.param(tuple(range(100, 164)), 64, 163, id="sixty-four-options"),
    ],
)
def test_the_numbers_run_from_one_to_the_count_of_options(
    order: tuple[int, ...], number: int, stored: int
) -> None:
    assert _checked(ItemType.SINGLE_CHOICE, [number], order) == [stored]
    with pytest.raises(UnknownOption):
        _checked(ItemType.SINGLE_CHOICE, [len(order) + 1], order)


def test_a_stored_id_no_longer_on_the_paper_is_not_shown() -> None:
    assert choice_numbers(list(ORDER), [41, 99]) == (3,)
    assert choice_numbers(list(ORDER), {"text": "41"}) == ()
    assert choice_numbers(list(ORDER), None) == ()


@pytest.mark.parametrize("kind", CHOICE_KINDS)
def test_every_number_round_trips(kind: ItemType) -> None:
    for number in range(1, len(ORDER) + 1):
        stored = _checked(kind, [number])
        assert stored == [ORDER[number - 1]]
        assert choice_numbers(list(ORDER), stored) == (number,)
