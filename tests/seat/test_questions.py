"""The paper's questions: each unanswered one rendered once for every paper holding it, and each
admitted student's paper put together at the admission."""

from __future__ import annotations

import logging
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.i18n import get_locale, set_locale
from server.models import Attempt, Language, Role
from server.proctor.service import admit
from server.seat import questions
from server.seat.checkin import check_in
from server.seat.saves import save_answer
from server.seat.views import paper_view
from tests import factories
from tests.seat.conftest import Sitting, _sitting, sit, waiting
from tests.seat.factories import World, create_world, sign_in_at_seat


def _count_renderings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The sections rendered from now on (each call's context)."""
    rendered: list[Any] = []
    render = questions._render_section

    def counted(**context: Any) -> str:
        rendered.append(context)
        return render(**context)

    monkeypatch.setattr(questions, "_render_section", counted)
    return rendered


def _second_paper(db: Session, settings: Settings, world: World) -> Attempt:
    """Another student of the world, whose paper is drawn as the first one's (same seed)."""
    student = world.new_student(db)
    outcome = check_in(
        db,
        settings,
        seat=world.seats[1],
        checked=factories.checked_password(db, settings, student.id_code),
        language=Language.EN,
        address="10.0.0.2",
        now=world.start - timedelta(minutes=5),
        rng=random.Random(11),
    )
    assert outcome.attempt is not None
    admit(
        db,
        settings,
        sitting=_sitting(world),
        attempt_id=outcome.attempt.id,
        proctor=factories.create_user(db, role=Role.PROCTOR),
        late_entry_permitted=False,
        now=world.start - timedelta(minutes=4),
    )
    db.flush()
    return outcome.attempt


def test_a_kept_section_is_the_question_rendered_for_its_place(db: Session, mixed: Sitting) -> None:
    set_locale("en")
    first = questions.questions_html(db, mixed.attempt)  # renders and keeps every section
    again = questions.questions_html(db, mixed.attempt)  # from the kept ones
    assert again == first
    assert "\x00" not in first
    assert first.count('<section class="question"') == 25
    for view in paper_view(db, mixed.attempt):  # every kind, each at its own place
        live = questions._render_section(
            q=view, position=view.position, total=25, first=view.position == 1
        )
        assert live in first
    assert first.count(" hidden>") == 24  # only the first question shows when the page opens


def test_a_second_paper_of_the_same_questions_renders_none(
    db: Session, settings: Settings, sitting: Sitting, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_locale("en")
    first = questions.questions_html(db, sitting.attempt)
    second = _second_paper(db, settings, sitting.world)
    assert [q.item_version_id for q in second.paper] == [
        q.item_version_id for q in sitting.attempt.paper
    ]
    rendered = _count_renderings(monkeypatch)
    assert questions.questions_html(db, second) == first
    assert rendered == []


def test_saved_questions_are_rendered_with_their_saves_and_the_others_are_kept(
    db: Session, settings: Settings, sitting: Sitting, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_locale("en")
    questions.questions_html(db, sitting.attempt)
    sitting.store(db, settings, 1, 1, [1])
    save_answer(
        db,
        settings,
        attempt=sitting.attempt,
        start=sitting.start,
        save=sitting.save(2, 2, [], flagged=True),
        now=sitting.start + timedelta(minutes=1),
    )
    db.flush()
    rendered = _count_renderings(monkeypatch)

    html = questions.questions_html(db, sitting.attempt)
    assert sorted(context["position"] for context in rendered) == [1, 2]
    assert html.count(" checked>") == 2  # question 1's option, question 2's flag
    assert 'data-goto="1"\n                  class="answered "' in html
    assert 'data-goto="2"\n                  class=" flagged"' in html
    assert html.count('class=" "') == 23


@pytest.mark.parametrize(
    ("attempt_language", "page_locale", "heading"),
    [
        (Language.KK, "kk", "1-сұрақ (барлығы 25)"),
        (Language.KK, "ru", "Вопрос 1 из 25"),
        (Language.RU, "en", "Question 1 of 25"),
    ],
)
def test_a_section_is_kept_for_its_language_and_locale(
    db: Session,
    settings: Settings,
    attempt_language: Language,
    page_locale: str,
    heading: str,
) -> None:
    world = create_world(db)
    sitting = sit(db, settings, world, language=attempt_language)
    other_locale = "en" if page_locale != "en" else "kk"
    set_locale(other_locale)  # kept for another locale first
    other_heading = "Question 1 of 25" if other_locale == "en" else "1-сұрақ (барлығы 25)"
    assert other_heading in questions.questions_html(db, sitting.attempt)

    set_locale(page_locale)
    html = questions.questions_html(db, sitting.attempt)
    assert heading in html
    assert other_heading not in html


def _refuse_assembling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("the paper was put together for the page")

    monkeypatch.setattr(questions, "paper_places", refuse)


def _without_clock(page: str) -> str:
    return re.sub(r'data-(server-ms|csrf)="[^"]*"|name="csrf_token" value="[^"]*"', "", page)


def test_the_paper_at_the_start_is_the_one_put_together_at_admission(
    app: Any,
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    assert sign_in_at_seat(client, settings, world).status_code == 303
    attempt = db.execute(select(Attempt).where(Attempt.student_id == world.student.id)).scalar_one()
    proctor = factories.create_user(db, role=Role.PROCTOR)
    factories.assign_proctor(db, exam=world.exam, room=world.room, user=proctor)
    with TestClient(app, base_url="https://testserver") as proctor_client:
        factories.sign_in(proctor_client, proctor)
        admitted = proctor_client.post(
            f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}/admit/{attempt.id}",
            data={"csrf_token": factories.csrf(proctor_client)},
        )
    assert admitted.status_code == 200
    world.exam.scheduled_start = utcnow() - timedelta(seconds=1)  # the exam has started
    db.flush()

    with monkeypatch.context() as patched:
        _refuse_assembling(patched)
        at_the_start = client.get("/exam")
    assert at_the_start.status_code == 200
    assert at_the_start.text.count('<section class="question"') == 25
    assert at_the_start.text.count('<li><button type="button" data-goto=') == 25

    questions.forget_rendered()
    put_together = client.get("/exam")
    assert _without_clock(at_the_start.text) == _without_clock(put_together.text)


def test_a_kept_paper_is_not_served_once_saved_on(
    db: Session, settings: Settings, sitting: Sitting, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_locale("en")
    questions.prepare(db, sitting.attempt.id)
    with monkeypatch.context() as patched:
        _refuse_assembling(patched)
        assert "checked" not in questions.questions_html(db, sitting.attempt)
    sitting.store(db, settings, 1, 1, [1])
    db.flush()

    assert questions.questions_html(db, sitting.attempt).count(" checked>") == 1
    with monkeypatch.context() as patched:
        _refuse_assembling(patched)
        with pytest.raises(AssertionError, match="put together"):
            questions.questions_html(db, sitting.attempt)


def test_a_paper_is_kept_for_its_language_only(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sitting = sit(db, settings, create_world(db), language=Language.KK)
    set_locale("en")  # the proctor's page that admitted the student
    questions.prepare(db, sitting.attempt.id)
    assert get_locale() == "en"
    set_locale("kk")
    with monkeypatch.context() as patched:
        _refuse_assembling(patched)
        assert "1-сұрақ (барлығы 25)" in questions.questions_html(db, sitting.attempt)
    set_locale("ru")
    assert "Вопрос 1 из 25" in questions.questions_html(db, sitting.attempt)  # put together


def test_nothing_is_kept_for_an_attempt_not_admitted(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt = waiting(db, settings, create_world(db))
    questions.prepare(db, attempt.id)
    _refuse_assembling(monkeypatch)
    set_locale(attempt.language.value)
    with pytest.raises(AssertionError, match="put together"):
        questions.questions_html(db, attempt)


def test_nothing_is_prepared_for_a_paper_already_saved_on(
    db: Session,
    settings: Settings,
    sitting: Sitting,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A latecomer's page saved before the admission's preparation ran: its paper shows the
    save, so no paper is put together at the admission, and the page puts its own together."""
    sitting.store(db, settings, 1, 1, [1])
    db.flush()
    with monkeypatch.context() as patched, caplog.at_level(logging.ERROR):
        _refuse_assembling(patched)
        questions.prepare(db, sitting.attempt.id)
    assert "put together" not in caplog.text  # what a refused assembly logs
    set_locale(sitting.attempt.language.value)
    assert questions.questions_html(db, sitting.attempt).count(" checked>") == 1


def test_a_failed_preparation_is_logged_and_never_raised(
    db: Session, sitting: Sitting, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _refuse_assembling(monkeypatch)
    set_locale("ru")
    with caplog.at_level(logging.ERROR, logger=questions.__name__):
        questions.prepare(db, sitting.attempt.id)
    assert f"attempt {sitting.attempt.id}" in caplog.text
    assert get_locale() == "ru"  # the proctor's page goes on in its own language
