"""The paper's questions, rendered at admission and served at the start while nothing is saved."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.i18n import get_locale, set_locale
from server.models import Attempt, AttemptState, Language, Role
from server.seat import questions
from server.seat.saves import save_answer
from tests import factories
from tests.seat.conftest import Sitting, sit, waiting
from tests.seat.factories import World, create_world, sign_in_at_seat


def _refuse_live_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("the questions were rendered live")

    monkeypatch.setattr(questions, "paper_view", refuse)


def _without_clock(page: str) -> str:
    return re.sub(r'data-(server-ms|csrf)="[^"]*"|name="csrf_token" value="[^"]*"', "", page)


def test_the_paper_at_the_start_is_the_one_rendered_at_admission(
    app: FastAPI,
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
    db.refresh(attempt)
    assert attempt.state == AttemptState.ADMITTED
    world.exam.scheduled_start = utcnow() - timedelta(seconds=1)  # the exam has started
    db.flush()

    with monkeypatch.context() as patched:
        _refuse_live_rendering(patched)
        at_the_start = client.get("/exam")
    assert at_the_start.status_code == 200
    assert at_the_start.text.count('<section class="question"') == 25

    questions.forget_rendered()
    live = client.get("/exam")
    assert _without_clock(at_the_start.text) == _without_clock(live.text)


def test_a_saved_answer_is_shown_not_the_rendering(
    db: Session, settings: Settings, sitting: Sitting, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_locale("en")
    before = questions.questions_html(db, sitting.attempt)
    assert "checked" not in before
    save_answer(
        db,
        settings,
        attempt=sitting.attempt,
        start=sitting.start,
        save=sitting.save(1, 1, [1]),
        now=sitting.start + timedelta(minutes=1),
    )
    db.flush()

    after = questions.questions_html(db, sitting.attempt)
    assert after.count(" checked>") == 1
    with monkeypatch.context() as patched:
        _refuse_live_rendering(patched)
        with pytest.raises(AssertionError, match="rendered live"):
            questions.questions_html(db, sitting.attempt)


@pytest.mark.parametrize(
    ("attempt_language", "page_locale", "heading"),
    [
        (Language.KK, "kk", "1-сұрақ (барлығы 25)"),
        (Language.KK, "ru", "Вопрос 1 из 25"),
        (Language.RU, "en", "Question 1 of 25"),
    ],
)
def test_a_rendering_serves_only_its_language(
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    attempt_language: Language,
    page_locale: str,
    heading: str,
) -> None:
    sitting = sit(db, settings, create_world(db), language=attempt_language)
    set_locale("en")  # the proctor's page that admitted the student
    questions.prepare(db, sitting.attempt.id)

    set_locale(page_locale)
    rendered_for_this_page = page_locale == attempt_language.value
    with monkeypatch.context() as patched:
        if rendered_for_this_page:
            _refuse_live_rendering(patched)
        html = questions.questions_html(db, sitting.attempt)
    assert heading in html


def test_nothing_is_rendered_for_an_attempt_not_admitted(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    world: World = create_world(db)
    attempt = waiting(db, settings, world)
    questions.prepare(db, attempt.id)
    _refuse_live_rendering(monkeypatch)
    set_locale(attempt.language.value)
    with pytest.raises(AssertionError, match="rendered live"):
        questions.questions_html(db, attempt)


def test_a_failed_rendering_is_logged_and_never_raised(
    db: Session, sitting: Sitting, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _refuse_live_rendering(monkeypatch)
    set_locale("ru")
    with caplog.at_level(logging.ERROR, logger=questions.__name__):
        questions.prepare(db, sitting.attempt.id)
    assert f"attempt {sitting.attempt.id}" in caplog.text
    assert get_locale() == "ru"  # the proctor's page goes on in its own language
