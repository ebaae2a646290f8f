"""Browsing, viewing, keys, approval and edits: audited, and edits never touch old versions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.bank import items, repository
from server.db import utcnow
from server.errors import Conflict, InvalidInput, NotFound
from server.models import AuditEntry, ItemStatus, ItemVersion, Language, Role
from tests.bank.factories import create_bank, create_head, import_text, items_of
from tests.factories import create_department, create_discipline, create_user


def _actions(db: Session) -> list[str]:
    return list(db.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


@pytest.fixture
def setup(db: Session) -> tuple[object, object]:
    department = create_department(db)
    discipline = create_bank(db, discipline=create_discipline(db, department=department))
    return discipline, create_head(db, department=department)


def test_browse_filters_and_is_audited(db: Session, setup: tuple) -> None:  # type: ignore[type-arg]
    discipline, head = setup
    where = repository.ItemFilter(text="colour")
    rows = items.browse(db, actor=head, discipline=discipline, where=where, now=utcnow())
    assert [r.item.external_ref for r in rows] == ["Q1"]
    assert rows[0].languages == ("en",)
    assert _actions(db)[-1] == "bank.items_listed"
    types = items.browse(
        db,
        actor=head,
        discipline=discipline,
        where=repository.ItemFilter(type=items.QuestionType.TRUE_FALSE),
        now=utcnow(),
    )
    assert [r.item.external_ref for r in types] == ["Q2"]
    none = items.browse(
        db,
        actor=head,
        discipline=discipline,
        where=repository.ItemFilter(language=Language.KK),
        now=utcnow(),
    )
    assert none == []


def test_student_view_has_no_keys_and_is_audited(db: Session, setup: tuple) -> None:  # type: ignore[type-arg]
    discipline, head = setup
    first = items_of(db, discipline)[0]
    view = items.student_view(db, actor=head, item_id=first.id, language=None, now=utcnow())
    assert str(view.stem) == "What colour is between orange and green?"
    assert [str(c.html) for c in view.choices] == ["yellow", "red", "blue"]
    assert not hasattr(view.choices[0], "fraction")
    key = items.key_view(db, actor=head, item_id=first.id, language=Language.EN, now=utcnow())
    assert next((line.answer, line.fraction) for line in key.lines) == ("yellow", Decimal("1.0"))
    assert _actions(db)[-2:] == ["bank.item_viewed", "bank.key_viewed"]


def test_other_departments_and_roles_cannot_reach_an_item(db: Session, setup: tuple) -> None:  # type: ignore[type-arg]
    discipline, _head = setup
    first = items_of(db, discipline)[0]
    stranger = create_head(db, department=create_department(db))
    with pytest.raises(NotFound):
        items.key_view(db, actor=stranger, item_id=first.id, language=None, now=utcnow())
    registrar = create_user(db, role=Role.REGISTRAR)
    with pytest.raises(NotFound):
        items.student_view(db, actor=registrar, item_id=first.id, language=None, now=utcnow())
    admin = create_user(db, role=Role.ADMIN)
    assert items.key_view(db, actor=admin, item_id=first.id, language=None, now=utcnow())


def test_approve_and_retire_are_audited(db: Session) -> None:
    department = create_department(db)
    discipline = create_bank(
        db, discipline=create_discipline(db, department=department), approve=False
    )
    head = create_head(db, department=department)
    first = items_of(db, discipline)[0]
    items.approve(db, actor=head, item_id=first.id, now=utcnow())
    assert first.status is ItemStatus.APPROVED
    items.retire(db, actor=head, item_id=first.id, now=utcnow())
    assert first.status is ItemStatus.RETIRED
    assert _actions(db)[-2:] == ["bank.item_approved", "bank.item_retired"]


def test_an_undeliverable_item_cannot_be_approved(db: Session) -> None:
    department = create_department(db)
    discipline = create_discipline(db, department=department)
    head = create_head(db, department=department)
    import_text(db, discipline=discipline, text="::E:: Explain. {}\n")
    (essay,) = items_of(db, discipline)
    with pytest.raises(Conflict):
        items.approve(db, actor=head, item_id=essay.id, now=utcnow())


def _change(**overrides: object) -> items.ItemEdit:
    values: dict[str, object] = {
        "language": Language.EN,
        "stem": "<p>Which colour lies between orange and green?</p><script>x()</script>",
        "option_texts": ("yellow", "red", "blue"),
        "fractions": (Decimal(0), Decimal(1), Decimal(0)),
        "difficulty": 2,
        "topic_id": None,
        "shuffle_options": False,
    }
    values.update(overrides)
    return items.ItemEdit(**values)  # type: ignore[arg-type]


def test_edit_writes_a_new_version_and_keeps_the_old(db: Session, setup: tuple) -> None:  # type: ignore[type-arg]
    discipline, head = setup
    first = items_of(db, discipline)[0]
    old = repository.current_version(db, first)
    old_id = old.id
    new = items.edit(db, actor=head, item_id=first.id, change=_change(), now=utcnow())
    assert (new.version, first.current_version) == (2, 2)
    assert first.status is ItemStatus.DRAFT  # approved before: the change needs approval again
    db.expire_all()
    kept = db.get(ItemVersion, old_id)
    assert kept is not None
    assert kept.texts[0].text == "What colour is between orange and green?"
    assert [float(o.fraction) for o in kept.options] == [1.0, 0.0, 0.0]
    current = repository.current_version(db, first)
    assert current.texts[0].text == "<p>Which colour lies between orange and green?</p>"
    assert [float(o.fraction) for o in current.options] == [0.0, 1.0, 0.0]
    assert (current.difficulty, current.shuffle_options) == (2, False)
    assert _actions(db)[-1] == "bank.item_edited"


def test_an_edit_that_cannot_be_scored_is_refused_before_writing(db: Session, setup: tuple) -> None:  # type: ignore[type-arg]
    discipline, head = setup
    first = items_of(db, discipline)[0]
    with pytest.raises(InvalidInput):
        items.edit(
            db,
            actor=head,
            item_id=first.id,
            change=_change(fractions=(Decimal(0), Decimal(0), Decimal(0))),
            now=utcnow(),
        )
    with pytest.raises(InvalidInput) as refused:
        items.edit(db, actor=head, item_id=first.id, change=_change(difficulty=9), now=utcnow())
    assert "difficulty" in refused.value.field_errors
    assert first.current_version == 1
