"""The seat over HTTP: a whole attempt, refusals in the user's language, and no key leaks."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import (
    Attempt,
    AttemptState,
    ItemOption,
    ItemOptionText,
    ItemType,
    ItemVersion,
    Language,
    PaperQuestion,
    Response,
    Role,
)
from server.seat.answers import CHOICE_TYPES
from server.seat.links import seat_token
from server.seat.views import clear_item_cache
from tests import factories
from tests.seat.factories import NEW_KINDS, World, create_world

# What a key could look like if it slipped into a page or a JSON answer.
LEAKS = re.compile(
    r"fraction|is_?correct|data-(?:key|correct|score|weight)|\"(?:key|score|weight)\"\s*:|"
    r"class=\"[^\"]*\b(?:correct|right|wrong)\b",
    re.IGNORECASE,
)


class Seen:
    """Every response a student's browser received."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    def add(self, response: httpx.Response) -> httpx.Response:
        self.bodies.append(
            (f"{response.request.method} {response.request.url.path}", response.text)
        )
        return response


def _sign_in_at_seat(
    client: TestClient, settings: Settings, world: World, seen: Seen, *, language: str = "en"
) -> httpx.Response:
    token = seat_token(settings, world.seats[0].id)
    seen.add(client.get(f"/seat/{token}"))
    return seen.add(
        client.post(
            f"/seat/{token}",
            data={
                "id_code": world.student.id_code,
                "password": factories.PASSWORD,
                "language": language,
                "csrf_token": factories.csrf(client),
            },
            follow_redirects=False,
        )
    )


def _admit(db: Session, world: World) -> Attempt:
    attempt = db.execute(select(Attempt).where(Attempt.student_id == world.student.id)).scalar_one()
    attempt.state = AttemptState.ADMITTED
    attempt.admitted_at = utcnow()
    db.flush()
    return attempt


@pytest.fixture
def late_world(db: Session) -> World:
    # Started a minute ago: the student signs in late and the proctor permits it, so the whole
    # attempt runs now, on the real clock.
    return create_world(db, start=utcnow() - timedelta(minutes=1))


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": factories.csrf(client), "Accept": "application/json"}


def test_a_whole_attempt_over_http_leaks_no_key(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    seen = Seen()
    response = _sign_in_at_seat(client, settings, late_world, seen)
    assert response.status_code == 303
    assert response.headers["location"] == "/exam"
    waiting = seen.add(client.get("/exam"))
    assert "proctor" in waiting.text
    attempt = _admit(db, late_world)
    page = seen.add(client.get("/exam"))
    assert page.status_code == 200
    assert 'id="attempt"' in page.text
    window = seen.add(client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)))
    client_token = window.json()["client"]
    seq = window.json()["last_seq"]
    for question in attempt.paper:
        seq += 1
        saved = seen.add(
            client.post(
                f"/exam/attempts/{attempt.id}/saves",
                headers=_headers(client),
                json={
                    "client": client_token,
                    "seq": seq,
                    "question": question.position,
                    "answer": [1],  # the first option shown
                    "flagged": question.position == 3,
                    "answered_at_ms": int(utcnow().timestamp() * 1000),
                },
            )
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["status"] == "saved"
        # The page keeps its countdown from its saves' replies (attempt.js).
        assert saved.json()["deadline_ms"] == window.json()["deadline_ms"]
    seen.add(client.get(f"/exam/attempts/{attempt.id}/status"))
    seen.add(
        client.post(
            f"/exam/attempts/{attempt.id}/signals",
            headers=_headers(client),
            json={"client": client_token, "kind": "focus_lost"},
        )
    )
    reloaded = seen.add(client.get("/exam"))
    assert reloaded.text.count("checked") >= 25
    confirm = seen.add(client.get(f"/exam/attempts/{attempt.id}/finish"))
    assert "All 25 questions are answered" in confirm.text
    done = seen.add(
        client.post(
            f"/exam/attempts/{attempt.id}/finish",
            data={"csrf_token": factories.csrf(client)},
        )
    )
    assert done.status_code == 200
    assert "Your result" in done.text
    seen.add(client.get(f"/exam/attempts/{attempt.id}/status"))

    for where, body in seen.bodies:
        match = LEAKS.search(body)
        assert match is None, f"{where} shows {match.group(0)!r}"


def _masked(text: str) -> str:
    return re.sub(r'(data-server-ms|value|data-csrf)="[^"]*"', r'\1=""', text)


def test_the_paper_page_is_the_same_whatever_the_keys(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    before = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    # Make the last option of every item the right one instead of the first.
    db.execute(update(ItemOption).values(fraction=0))
    for version in late_world.bank:
        db.execute(
            update(ItemOption).where(ItemOption.id == version.options[-1].id).values(fraction=1)
        )
    db.flush()
    after = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    assert [_masked(t) for t in after] == [_masked(t) for t in before]


def _section(page: str, position: int) -> str:
    return page.split(f'id="q{position}"')[1].split("</section>")[0]


def _option_text(db: Session, option_id: int) -> str:
    option = db.get_one(ItemOption, option_id)
    return next(t.text for t in option.texts if t.language == Language.EN)


def test_options_appear_in_the_stored_shuffled_order(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    page = client.get("/exam").text
    for question in attempt.paper:
        section = _section(page, question.position)
        shown = re.findall(rf'name="q{question.position}" value="(\d+)"', section)
        # Numbered by place on the paper; the texts in the paper's (shuffled) order.
        assert [int(v) for v in shown] == list(range(1, len(question.option_order) + 1))
        texts = re.findall(r'<span class="text">([^<]*)</span>', section)
        assert texts == [_option_text(db, option_id) for option_id in question.option_order]
    assert any(q.option_order != sorted(q.option_order) for q in attempt.paper)


def test_no_option_id_reaches_the_page(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    page = client.get("/exam").text
    # The world's keys are authored first: the lowest id of an item is its key.
    keys = dict(db.execute(select(ItemOption.id, ItemOption.fraction)).all())
    telling = 0
    for question in attempt.paper:
        lowest = min(question.option_order)
        assert keys[lowest] == 1
        options = _section(page, question.position).split("<fieldset>")[1].split("</fieldset>")[0]
        values = re.findall(r'value="(\d+)"', options)
        assert values == [str(n) for n in range(1, len(question.option_order) + 1)]
        # Where an id could not pass for a number on the paper, no attribute of an option holds it.
        if lowest > len(question.option_order):
            telling += 1
            assert str(lowest) not in values
            assert f'"{lowest}"' not in options
    assert telling >= 20


def test_refusals_reach_the_student_in_their_language(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    refused = world.new_student(db, debt=True)
    world.student = refused
    response = _sign_in_at_seat(client, settings, world, Seen(), language="ru")
    assert response.status_code == 403
    assert "задолженность" in response.text.lower()


def test_someone_elses_attempt_is_not_found(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    other = late_world.new_student(db)
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    client.cookies.clear()
    late_world.student = other
    _sign_in_at_seat(client, settings, late_world, Seen())
    for method, path in [
        ("GET", f"/exam/attempts/{attempt.id}/status"),
        ("POST", f"/exam/attempts/{attempt.id}/window"),
        ("GET", f"/exam/attempts/{attempt.id}/finish"),
    ]:
        response = client.request(method, path, headers=_headers(client))
        assert response.status_code == 404, path


def test_a_second_window_takes_over_and_the_first_is_refused(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    first = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    second = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    body: dict[str, Any] = {
        "client": first["client"],
        "seq": 1,
        "question": 1,
        "answer": [],
        "answered_at_ms": int(utcnow().timestamp() * 1000),
    }
    refused = client.post(f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json=body)
    assert refused.status_code == 409
    assert refused.json()["code"] == "window_replaced"
    body["client"] = second["client"]
    accepted = client.post(
        f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json=body
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"seq": 0},
        {"seq": "one"},
        {"question": 0},
        {"answer": "1"},
        {"answered_at_ms": -1},
    ],
)
def test_malformed_saves_are_refused_with_the_field(
    client: TestClient, db: Session, settings: Settings, late_world: World, body: dict[str, Any]
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    attempt = _admit(db, late_world)
    good = {"client": "x", "seq": 1, "question": 1, "answer": [], "answered_at_ms": 1}
    response = client.post(
        f"/exam/attempts/{attempt.id}/saves", headers=_headers(client), json={**good, **body}
    )
    assert response.status_code == 422
    # A field whose type is a union names the member as well ("answer.list[int]").
    fields = {f.removeprefix("body.").split(".")[0] for f in response.json()["fields"]}
    assert fields == {next(iter(body))}


def test_students_cannot_open_the_proctors_pages(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    response = client.get("/proctor", headers={"Accept": "application/json"})
    assert response.status_code == 403


def test_the_proctor_admits_from_the_room_page(
    client: TestClient, db: Session, settings: Settings
) -> None:
    world = create_world(db, start=utcnow() + timedelta(minutes=5))
    _sign_in_at_seat(client, settings, world, Seen())
    attempt = db.execute(select(Attempt).where(Attempt.student_id == world.student.id)).scalar_one()
    client.cookies.clear()
    proctor = factories.create_user(db, role=Role.PROCTOR)
    factories.assign_proctor(db, exam=world.exam, room=world.room, user=proctor)
    factories.sign_in(client, proctor)
    url = f"/proctor/exams/{world.exam.id}/rooms/{world.room.id}"
    page = client.get(url)
    assert world.student.id_code in page.text
    assert "PC-01" in page.text
    # A form that does not validate is refused, in the proctor's language, and admits nobody.
    refused = client.post(
        f"{url}/admit/{attempt.id}",
        data={"csrf_token": factories.csrf(client), "late": "perhaps"},
        headers={"Accept": "application/json", "Accept-Language": "ru"},
    )
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["late"]
    db.refresh(attempt)
    assert attempt.state == AttemptState.WAITING
    response = client.post(f"{url}/admit/{attempt.id}", data={"csrf_token": factories.csrf(client)})
    assert response.status_code == 200
    db.refresh(attempt)
    assert attempt.state == AttemptState.ADMITTED
    assert attempt.admitted_by_id == proctor.id


def test_a_forged_seat_link_is_refused(client: TestClient) -> None:
    response = client.get("/seat/not-a-real-token")
    assert response.status_code == 404


# -- the kinds beyond choice -----------------------------------------------------------------------

# The accepted answers and tolerances of the world's short-answer and numerical items, and words
# that only the stored key of a matching or ordering item holds.
KEY_WORDS = ("Astana", "Nur-Sultan", "9.81", "0.05", "tolerance", "case_sensitive", "distractor")


@pytest.fixture
def late_mixed(db: Session) -> World:
    """Started a minute ago; the paper holds every item: 21 choice, one of each other kind."""
    return create_world(
        db, start=utcnow() - timedelta(minutes=1), bank_size=25 - len(NEW_KINDS), kinds=NEW_KINDS
    )


def _question_of(db: Session, attempt: Attempt, kind: ItemType) -> PaperQuestion:
    return next(q for q in attempt.paper if db.get_one(ItemVersion, q.item_version_id).type == kind)


def _answer_for(db: Session, question: PaperQuestion) -> Any:
    """An answer of the question's shape that is not the key."""
    kind = db.get_one(ItemVersion, question.item_version_id).type
    if kind == ItemType.SHORT_ANSWER:
        return {"text": "Almaty"}
    if kind == ItemType.NUMERICAL:
        return {"text": "10,5"}
    if kind == ItemType.MATCHING:
        return {"pairs": [[1, question.option_order[0]], [2, question.option_order[1]]]}
    if kind == ItemType.ORDERING:
        return {"order": list(reversed(question.option_order))}
    return [1]  # the first option shown


def test_an_attempt_with_every_kind_leaks_no_key(
    client: TestClient, db: Session, settings: Settings, late_mixed: World
) -> None:
    seen = Seen()
    _sign_in_at_seat(client, settings, late_mixed, seen)
    attempt = _admit(db, late_mixed)
    page = seen.add(client.get("/exam"))
    for kind in ("choice", "text", "matching", "ordering"):
        assert f'data-kind="{kind}"' in page.text
    assert 'inputmode="decimal"' in page.text
    assert "Moved to place {n} of {total}." in page.text  # filled in by the page's script
    window = seen.add(client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)))
    client_token, seq = window.json()["client"], window.json()["last_seq"]
    for question in attempt.paper:
        seq += 1
        saved = seen.add(
            client.post(
                f"/exam/attempts/{attempt.id}/saves",
                headers=_headers(client),
                json={
                    "client": client_token,
                    "seq": seq,
                    "question": question.position,
                    "answer": _answer_for(db, question),
                    "answered_at_ms": int(utcnow().timestamp() * 1000),
                },
            )
        )
        assert saved.status_code == 200, saved.text
    reloaded = seen.add(client.get("/exam"))
    assert 'value="Almaty"' in reloaded.text
    assert 'value="10,5"' in reloaded.text
    confirm = seen.add(client.get(f"/exam/attempts/{attempt.id}/finish"))
    assert "All 25 questions are answered" in confirm.text
    seen.add(
        client.post(
            f"/exam/attempts/{attempt.id}/finish", data={"csrf_token": factories.csrf(client)}
        )
    )
    for where, body in seen.bodies:
        match = LEAKS.search(body)
        assert match is None, f"{where} shows {match.group(0)!r}"
        for word in KEY_WORDS:
            assert word not in body, f"{where} shows {word!r}"


def _change_every_key(db: Session, world: World) -> None:
    """Other right answers for every item, with the same texts on show."""
    db.execute(update(ItemOption).values(fraction=0))
    for version in world.bank:
        db.refresh(version)
        content = copy.deepcopy(version.content)
        if version.type in (ItemType.SHORT_ANSWER, ItemType.NUMERICAL):
            for option in version.options:
                option.fraction = Decimal(1)
                for text in option.texts:
                    text.text = "3.5" if version.type == ItemType.NUMERICAL else "Almaty"
            content["tolerances"] = [2.0] * len(version.options)
            content["case_sensitive"] = not content.get("case_sensitive", False)
        elif version.type == ItemType.MATCHING:
            # Each stem now goes with the next stem's answer.
            stems = [p for p in content["pairs"] if not p["distractor"]]
            answers = [p["answer"] for p in stems]
            for pair, answer in zip(stems, answers[1:] + answers[:1], strict=True):
                pair["answer"] = answer
        elif version.type == ItemType.ORDERING:
            content["ordering"].reverse()
        else:
            version.options[-1].fraction = Decimal(1)
        version.content = content
    db.flush()


def test_the_paper_with_every_kind_is_the_same_whatever_the_keys(
    client: TestClient, db: Session, settings: Settings, late_mixed: World
) -> None:
    _sign_in_at_seat(client, settings, late_mixed, Seen())
    attempt = _admit(db, late_mixed)
    before = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    _change_every_key(db, late_mixed)
    after = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    assert [_masked(t) for t in after] == [_masked(t) for t in before]
    # The ids too: the masked values are the same ones.
    assert re.findall(r'value="(\d+)"', after[0]) == re.findall(r'value="(\d+)"', before[0])


def _author_choice_options_again(db: Session, attempt: Attempt) -> None:
    """Every choice item's options deleted and authored again, last first.

    Other ids, now in the reverse of the old authoring order (the key, authored first, gets the
    highest); the same texts and keys; each option in the same place on the paper, and the saved
    answers moved to the new ids, as a migration would.
    """
    new_id: dict[int, int] = {}
    for question in attempt.paper:
        version = db.get_one(ItemVersion, question.item_version_id)
        if version.type not in CHOICE_TYPES:
            continue
        old = [
            (o.id, o.position, o.fraction, [(t.language, t.text) for t in o.texts])
            for o in version.options
        ]
        version.options.clear()
        db.flush()
        for old_id, position, fraction, texts in reversed(old):
            option = ItemOption(
                item_version_id=version.id,
                position=len(old) + 1 - position,
                fraction=fraction,
                texts=[ItemOptionText(language=lang, text=text) for lang, text in texts],
            )
            db.add(option)
            db.flush()  # one at a time: the ids follow the new authoring order
            new_id[old_id] = option.id
        question.option_order = [new_id[o] for o in question.option_order]
    for response in db.execute(select(Response).where(Response.attempt_id == attempt.id)).scalars():
        if isinstance(response.answer, list):
            response.answer = [new_id[o] for o in response.answer]
    db.flush()
    db.expire_all()


def _clock_masked(text: str) -> str:
    """The page without what changes by itself between two loads: the server's clock."""
    return re.sub(r'data-server-ms="[^"]*"', 'data-server-ms=""', text)


def test_the_paper_is_the_same_whatever_the_authoring_order_of_the_options(
    client: TestClient, db: Session, settings: Settings, late_mixed: World
) -> None:
    _sign_in_at_seat(client, settings, late_mixed, Seen())
    attempt = _admit(db, late_mixed)
    window = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    kinds = {q.position: db.get_one(ItemVersion, q.item_version_id).type for q in attempt.paper}
    choice = [q for q in attempt.paper if kinds[q.position] in CHOICE_TYPES]
    others = [q for q in attempt.paper if kinds[q.position] not in CHOICE_TYPES]
    # Six choice questions, each with another option, and every other kind.
    for seq, question in enumerate(choice[:6] + others, start=1):
        answer = (
            [seq % len(question.option_order) + 1]
            if kinds[question.position] in CHOICE_TYPES
            else _answer_for(db, question)
        )
        saved = client.post(
            f"/exam/attempts/{attempt.id}/saves",
            headers=_headers(client),
            json={
                "client": window["client"],
                "seq": seq,
                "question": question.position,
                "answer": answer,
                "answered_at_ms": int(utcnow().timestamp() * 1000),
            },
        )
        assert saved.status_code == 200, saved.text
    choice_ids = {o for q in choice for o in q.option_order}
    before = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    assert before[0].count(" checked>") == 6

    _author_choice_options_again(db, attempt)
    # The product never rewrites an item version in place; this test does, so the server's
    # read of the versions must go.
    clear_item_cache()
    db.refresh(attempt)
    now_ids = {
        o for q in attempt.paper if kinds[q.position] in CHOICE_TYPES for o in q.option_order
    }
    assert now_ids.isdisjoint(choice_ids)  # every option has another id

    after = [client.get("/exam").text, client.get(f"/exam/attempts/{attempt.id}/finish").text]
    assert [_clock_masked(t) for t in after] == [_clock_masked(t) for t in before]


def test_matching_choices_and_ordering_entries_appear_in_the_stored_order(
    client: TestClient, db: Session, settings: Settings, late_mixed: World
) -> None:
    _sign_in_at_seat(client, settings, late_mixed, Seen())
    attempt = _admit(db, late_mixed)
    page = client.get("/exam").text
    matching = _question_of(db, attempt, ItemType.MATCHING)
    section = page.split(f'id="q{matching.position}"')[1].split("</section>")[0]
    first_select = section.split("<select")[1].split("</select>")[0]
    shown = [int(v) for v in re.findall(r'<option value="(\d+)"', first_select)]
    assert shown == matching.option_order
    assert section.count("<select") == 3  # one per stem; the distractor is a choice, no stem
    ordering = _question_of(db, attempt, ItemType.ORDERING)
    section = page.split(f'id="q{ordering.position}"')[1].split("</section>")[0]
    assert [int(v) for v in re.findall(r'data-entry="(\d+)"', section)] == ordering.option_order


@pytest.mark.parametrize(
    ("kind", "answer", "status", "code"),
    [
        pytest.param(ItemType.SHORT_ANSWER, {"text": "x" * 501}, 422, "answer_too_long", id="long"),
        pytest.param(ItemType.SHORT_ANSWER, [1], 422, "malformed_answer", id="ids-for-text"),
        pytest.param(
            ItemType.MATCHING, {"pairs": [[1, 99]]}, 422, "unknown_option", id="unknown-choice"
        ),
        pytest.param(ItemType.ORDERING, {"order": [1]}, 422, "malformed_answer", id="part-order"),
        pytest.param(ItemType.SINGLE_CHOICE, {"text": "1"}, 422, "malformed_answer", id="choice"),
    ],
)
def test_a_wrong_answer_is_refused_with_a_code_and_a_message(
    client: TestClient,
    db: Session,
    settings: Settings,
    late_mixed: World,
    kind: ItemType,
    answer: Any,
    status: int,
    code: str,
) -> None:
    _sign_in_at_seat(client, settings, late_mixed, Seen())
    attempt = _admit(db, late_mixed)
    window = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client)).json()
    response = client.post(
        f"/exam/attempts/{attempt.id}/saves",
        headers=_headers(client),
        json={
            "client": window["client"],
            "seq": 1,
            "question": _question_of(db, attempt, kind).position,
            "answer": answer,
            "answered_at_ms": int(utcnow().timestamp() * 1000),
        },
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    if code == "answer_too_long":
        assert "500" in response.json()["message"]
    db.refresh(attempt)
    assert attempt.last_seq == 0


def test_the_finish_page_lists_the_unanswered_places(
    client: TestClient, db: Session, settings: Settings, late_world: World
) -> None:
    seen = Seen()
    assert _sign_in_at_seat(client, settings, late_world, seen).status_code == 303
    attempt = _admit(db, late_world)
    client.get("/exam")
    window = client.post(f"/exam/attempts/{attempt.id}/window", headers=_headers(client))
    first = attempt.paper[0]
    saved = client.post(
        f"/exam/attempts/{attempt.id}/saves",
        headers=_headers(client),
        json={
            "client": window.json()["client"],
            "seq": window.json()["last_seq"] + 1,
            "question": first.position,
            "answer": _answer_for(db, first),
            "answered_at_ms": int(utcnow().timestamp() * 1000),
        },
    )
    assert saved.status_code == 200, saved.text
    confirm = client.get(f"/exam/attempts/{attempt.id}/finish")
    assert confirm.status_code == 200
    assert "24 questions of 25 are unanswered:" in confirm.text
    assert ", ".join(str(place) for place in range(2, 26)) in confirm.text


@pytest.mark.parametrize(
    "change",
    ["deactivated", "password changed"],
)
def test_the_exam_page_refuses_a_session_its_account_no_longer_honours(
    client: TestClient, db: Session, settings: Settings, late_world: World, change: str
) -> None:
    _sign_in_at_seat(client, settings, late_world, Seen())
    assert client.get("/exam").status_code == 200
    user = late_world.student.user
    assert user is not None
    if change == "deactivated":
        user.is_active = False
    else:
        user.password_hash = "$argon2id$another-hash"
    db.flush()

    response = client.get("/exam", headers={"Accept": "application/json"})

    assert response.status_code == 401


def _between(page: str, pattern: str) -> str:
    found = re.search(pattern, page, re.DOTALL)
    assert found is not None, pattern
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "admitted"),
    [("en", "You are admitted."), ("ru", "Вы допущены."), ("kk", "Сіз емтиханға жіберілдіңіз.")],
)
def test_the_waiting_page_carries_its_admission_notice(
    client: TestClient,
    db: Session,
    settings: Settings,
    language: str,
    admitted: str,
) -> None:
    """The waiting page brings the admitted notice, naming the same start as the status, so
    ``waiting.js`` shows the admission in place; once admitted, the page shows it itself."""
    world = create_world(db)
    seen = Seen()
    assert _sign_in_at_seat(client, settings, world, seen, language=language).status_code == 303
    waiting = client.get("/exam").text
    notice = _between(waiting, r'<template id="admitted-notice">(.*?)</template>')
    assert notice.startswith(admitted)
    assert world.start.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M") in notice
    assert 'class="notice" role="status" id="phase-notice"' in waiting
    assert '<p id="starts-in-line" hidden>' in waiting
    attempt = _admit(db, world)
    status = client.get(f"/exam/attempts/{attempt.id}/status", headers=_headers(client)).json()
    assert status["phase"] == "admitted"
    assert int(_between(waiting, r'data-start-ms="(\d+)"')) == status["start_ms"]

    admitted_page = client.get("/exam").text
    assert "admitted-notice" not in admitted_page
    shown = _between(
        admitted_page, r'<p class="notice ok" role="status" id="phase-notice">(.*?)</p>'
    )
    assert shown == notice
    assert '<p id="starts-in-line">' in admitted_page
