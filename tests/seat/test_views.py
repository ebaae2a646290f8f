"""What the seat's pages show of a paper: the finish page's unanswered places."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import ItemType
from server.seat.views import paper_view, unanswered_positions
from tests.seat.conftest import Sitting


def _as_the_paper_shows(db: Session, sitting: Sitting) -> tuple[list[int], int]:
    views = paper_view(db, sitting.attempt)
    return [view.position for view in views if not view.answered], len(views)


@pytest.mark.parametrize(
    ("saves", "unanswered"),
    [
        pytest.param([], list(range(1, 26)), id="nothing-saved"),
        pytest.param([(1, 1, (1,)), (2, 3, (2,))], [2, *range(4, 26)], id="two-answered"),
        pytest.param(
            [(1, 1, (1,)), (2, 3, (2,)), (3, 3, ())], [2, *range(3, 26)], id="one-cleared-later"
        ),
        pytest.param([(seq, seq, (1,)) for seq in range(1, 26)], [], id="all-answered"),
        pytest.param(
            [(seq, seq, (1,)) for seq in range(1, 26)] + [(26, 25, ())], [25], id="the-last-cleared"
        ),
    ],
)
def test_the_finish_page_counts_what_the_paper_shows_as_answered(
    db: Session,
    settings: Settings,
    sitting: Sitting,
    saves: list[tuple[int, int, Any]],
    unanswered: list[int],
) -> None:
    for seq, place, answer in saves:
        sitting.store(db, settings, seq, place, answer)
    assert unanswered_positions(db, sitting.attempt.id) == (unanswered, 25)
    assert unanswered_positions(db, sitting.attempt.id) == _as_the_paper_shows(db, sitting)


def test_a_blank_answer_of_any_kind_is_unanswered(
    db: Session, settings: Settings, mixed: Sitting
) -> None:
    text = mixed.position_of(db, ItemType.SHORT_ANSWER)
    matching = mixed.position_of(db, ItemType.MATCHING)
    mixed.store(db, settings, 1, text, {"text": "Astana"})
    mixed.store(db, settings, 2, matching, {"pairs": []})
    unanswered, total = unanswered_positions(db, mixed.attempt.id)
    assert total == 25
    assert text not in unanswered
    assert matching in unanswered
    assert (unanswered, total) == _as_the_paper_shows(db, mixed)
