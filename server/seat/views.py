"""The paper as the student sees it: stems and options in their language, never a key.

Everything a student-facing page or JSON shows of a question is built here, from texts only:
``ItemOption.fraction`` is not even loaded, so no template can print it by mistake.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.bank.html import clean
from server.models import (
    Attempt,
    Discipline,
    ItemOption,
    ItemOptionText,
    ItemText,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
)
from server.seat.closing import current_answers

# When a text is missing in the student's language, the first that exists, in this order.
FALLBACK = (Language.KK, Language.RU, Language.EN)


@dataclass(frozen=True)
class OptionView:
    id: int
    text: Markup


@dataclass(frozen=True)
class QuestionView:
    position: int
    discipline: str
    multiple: bool
    stem: Markup
    options: tuple[OptionView, ...]
    answer: tuple[int, ...]
    flagged: bool

    @property
    def input_type(self) -> str:
        return "checkbox" if self.multiple else "radio"

    @property
    def answered(self) -> bool:
        return bool(self.answer)


def _pick(texts: dict[Language, str], language: Language) -> str:
    for candidate in (language, *FALLBACK):
        if candidate in texts:
            return texts[candidate]
    return ""


def paper_view(db: Session, attempt: Attempt) -> list[QuestionView]:
    paper = list(
        db.execute(
            select(PaperQuestion)
            .where(PaperQuestion.attempt_id == attempt.id)
            .order_by(PaperQuestion.position)
        ).scalars()
    )
    version_ids = [q.item_version_id for q in paper]
    types = dict(
        db.execute(
            select(ItemVersion.id, ItemVersion.type).where(ItemVersion.id.in_(version_ids))
        ).all()
    )
    stems: dict[int, dict[Language, str]] = defaultdict(dict)
    for version_id, language, text in db.execute(
        select(ItemText.item_version_id, ItemText.language, ItemText.text).where(
            ItemText.item_version_id.in_(version_ids)
        )
    ):
        stems[version_id][language] = text
    option_texts: dict[int, dict[Language, str]] = defaultdict(dict)
    for option_id, language, text in db.execute(
        select(ItemOptionText.option_id, ItemOptionText.language, ItemOptionText.text)
        .join(ItemOption, ItemOption.id == ItemOptionText.option_id)
        .where(ItemOption.item_version_id.in_(version_ids))
    ):
        option_texts[option_id][language] = text
    disciplines = dict(
        db.execute(
            select(Discipline.id, Discipline.name).where(
                Discipline.id.in_({q.discipline_id for q in paper})
            )
        ).all()
    )
    answers = current_answers(db, attempt.id)
    language = attempt.language
    views = []
    for question in paper:
        response = answers.get(question.id)
        views.append(
            QuestionView(
                position=question.position,
                discipline=disciplines[question.discipline_id],
                multiple=types[question.item_version_id] == ItemType.MULTIPLE_RESPONSE,
                stem=Markup(clean(_pick(stems[question.item_version_id], language))),  # noqa: S704 - cleaned
                options=tuple(
                    OptionView(
                        id=option_id,
                        text=Markup(clean(_pick(option_texts[option_id], language))),  # noqa: S704
                    )
                    for option_id in question.option_order
                ),
                answer=tuple(response.answer) if response else (),
                flagged=response.flagged if response else False,
            )
        )
    return views
