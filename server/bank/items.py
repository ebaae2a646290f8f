"""Browsing, reviewing and editing a discipline's items.

Items and their keys are confidential (R 6.4): only the department's heads and the admin reach
them (``access``), and every look at items, at a key, and every change is in the audit log.
An edit never touches a stored version: it writes version N+1, copies its media, and moves the
item's ``current_version``; papers keep pointing at the version they delivered. An edited item
goes back to draft, because its approval vouched for the old content.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from question_bank.htmltext import visible_text
from question_bank.model import QuestionType
from question_bank.validate import check_question
from server.audit.service import record
from server.bank import access, content, repository
from server.bank.html import clean, markup
from server.errors import Conflict, InvalidInput, NotFound
from server.i18n import N_, gettext
from server.models import (
    Discipline,
    Item,
    ItemMedia,
    ItemOption,
    ItemOptionText,
    ItemStatus,
    ItemText,
    ItemVersion,
    Language,
    User,
)

_GAP = re.compile(r"\{#([0-9]+)\}")
_MEDIA = re.compile(r"/media/([0-9]+)")


@dataclass(frozen=True)
class ItemRow:
    item: Item
    version: ItemVersion
    excerpt: str
    languages: tuple[str, ...]


def browse(
    db: Session,
    *,
    actor: User,
    discipline: Discipline,
    where: repository.ItemFilter,
    now: datetime,
) -> list[ItemRow]:
    """The discipline's items matching the filter (audited: the list shows the stems)."""
    found = repository.search_items(db, discipline.id, where)
    rows = []
    for item, version in found:
        texts = {t.language: t.text for t in version.texts}
        shown = texts.get(where.language) if where.language else None
        shown = shown or next(iter(texts.values()), "")
        rows.append(
            ItemRow(
                item=item,
                version=version,
                excerpt=visible_text(shown)[:160],
                languages=tuple(sorted(lang.value for lang in texts)),
            )
        )
    record(
        db,
        actor=actor,
        action="bank.items_listed",
        subject=f"discipline:{discipline.id}",
        details={"items": [row.item.id for row in rows]},
        at=now,
    )
    return rows


def item_in_reach(db: Session, *, actor: User, item_id: int) -> tuple[Item, Discipline]:
    """The item, when the actor manages its discipline; else NotFound."""
    item = repository.item_by_id(db, item_id)
    if item is None:
        raise NotFound(N_("There is no item %(id)s."), id=item_id)
    try:
        discipline = access.managed_discipline(db, actor, item.discipline_id)
    except NotFound:
        raise NotFound(N_("There is no item %(id)s."), id=item_id) from None
    return item, discipline


# -- the item as the examinee sees it, and its key ---------------------------------------------


@dataclass(frozen=True)
class Choice:
    position: int
    html: Markup


@dataclass(frozen=True)
class StudentView:
    """What the seat shows: stem and options, never a fraction, tolerance or right order."""

    item: Item
    version: ItemVersion
    language: Language
    languages: tuple[Language, ...]
    stem: Markup
    choices: tuple[Choice, ...]
    multiple: bool
    prompts: tuple[Markup, ...]  # matching: the left column
    answers: tuple[str, ...]  # matching: what can be chosen for each prompt
    ordering: tuple[Markup, ...]  # ordering: shuffled, as the seat would start


def _language_of(version: ItemVersion, wanted: Language | None) -> Language:
    available = [t.language for t in version.texts]
    if not available:
        raise Conflict(N_("This item version has no text in any language."))
    return wanted if wanted in available else available[0]


def _option_html(option: ItemOption, language: Language) -> str:
    for text in option.texts:
        if text.language == language:
            return text.text
    return ""


def _in(texts: dict[str, str], language: Language) -> str:
    return texts.get(language.value, "")


def _gap_control(number: int, gap: dict[str, object], language: Language) -> str:
    options = gap.get("options")
    assert isinstance(options, list)
    label = escape(gettext("Gap %(n)s") % {"n": number})
    if gap.get("kind") in ("multichoice", "multiresponse"):
        choices = "".join(
            f"<option>{escape(visible_text(_in(o['text'], language)))}</option>" for o in options
        )
        return f'<select aria-label="{label}" disabled><option></option>{choices}</select>'
    return f'<input type="text" aria-label="{label}" size="12" disabled>'


def student_view(
    db: Session, *, actor: User, item_id: int, language: Language | None, now: datetime
) -> StudentView:
    """The current version as the examinee will see it (audited)."""
    item, _discipline = item_in_reach(db, actor=actor, item_id=item_id)
    version = repository.current_version(db, item)
    chosen = _language_of(version, language)
    stored = version.content or {}
    stem = clean(next(t.text for t in version.texts if t.language == chosen))
    if version.type is QuestionType.CLOZE:
        gaps = stored.get("gaps", [])

        def control(match: re.Match[str]) -> str:
            number = int(match.group(1))
            if 1 <= number <= len(gaps):
                return _gap_control(number, gaps[number - 1], chosen)
            return match.group(0)

        stem = _GAP.sub(control, stem)
    shows_options = version.type in (
        QuestionType.SINGLE_CHOICE,
        QuestionType.MULTIPLE_RESPONSE,
        QuestionType.TRUE_FALSE,
    )
    pairs = stored.get("pairs", [])
    # A fixed seed: the preview shows one plausible starting order, the same on every reload.
    shuffler = random.Random(version.id)  # noqa: S311
    ordering = [markup(_in(entry, chosen)) for entry in stored.get("ordering", [])]
    shuffler.shuffle(ordering)
    answers = sorted({visible_text(_in(p["answer"], chosen)) for p in pairs})
    record(
        db,
        actor=actor,
        action="bank.item_viewed",
        subject=f"item:{item.id}",
        details={"version": version.version, "language": chosen.value},
        at=now,
    )
    return StudentView(
        item=item,
        version=version,
        language=chosen,
        languages=tuple(t.language for t in version.texts),
        stem=Markup(stem),  # noqa: S704 - cleaned above; the gap controls are built escaped
        choices=tuple(Choice(o.position, markup(_option_html(o, chosen))) for o in version.options)
        if shows_options
        else (),
        multiple=version.type is QuestionType.MULTIPLE_RESPONSE,
        prompts=tuple(markup(_in(p["prompt"], chosen)) for p in pairs if not p.get("distractor")),
        answers=tuple(answers),
        ordering=tuple(ordering),
    )


def percent(fraction: Decimal | float) -> str:
    """A share of the mark as people write it: 100%, 33.333%, -50%."""
    return f"{float(fraction) * 100:.5g}%"


@dataclass(frozen=True)
class KeyLine:
    label: str
    answer: str
    fraction: Decimal | None

    @property
    def percent(self) -> str:
        return "—" if self.fraction is None else percent(self.fraction)


@dataclass(frozen=True)
class KeyView:
    item: Item
    version: ItemVersion
    language: Language
    lines: tuple[KeyLine, ...]


def key_view(
    db: Session, *, actor: User, item_id: int, language: Language | None, now: datetime
) -> KeyView:
    """The answer key of the current version (audited: a key is the most confidential part)."""
    item, _discipline = item_in_reach(db, actor=actor, item_id=item_id)
    version = repository.current_version(db, item)
    chosen = _language_of(version, language)
    stored = version.content or {}
    lines: list[KeyLine] = []
    tolerances = stored.get("tolerances") or [0.0] * len(version.options)
    for option, tolerance in zip(version.options, tolerances, strict=False):
        answer = visible_text(_option_html(option, chosen)) or _option_html(option, chosen)
        if version.type is QuestionType.NUMERICAL and tolerance:
            answer = f"{answer} ± {tolerance}"
        lines.append(KeyLine(str(option.position), answer, option.fraction))
    for pair in stored.get("pairs", []):
        prompt = "—" if pair.get("distractor") else visible_text(_in(pair["prompt"], chosen))
        lines.append(KeyLine(prompt, visible_text(_in(pair["answer"], chosen)), None))
    for position, entry in enumerate(stored.get("ordering", []), start=1):
        lines.append(KeyLine(str(position), visible_text(_in(entry, chosen)), None))
    for number, gap in enumerate(stored.get("gaps", []), start=1):
        for option in gap["options"]:
            lines.append(
                KeyLine(
                    gettext("Gap %(n)s") % {"n": number},
                    visible_text(_in(option["text"], chosen)),
                    Decimal(str(option["fraction"])),
                )
            )
    record(
        db,
        actor=actor,
        action="bank.key_viewed",
        subject=f"item:{item.id}",
        details={"version": version.version, "language": chosen.value},
        at=now,
    )
    return KeyView(item=item, version=version, language=chosen, lines=tuple(lines))


# -- review: approve and retire ----------------------------------------------------------------


def approve(db: Session, *, actor: User, item_id: int, now: datetime) -> Item:
    """Approve the current version for papers; only a deliverable version can be."""
    item, _discipline = item_in_reach(db, actor=actor, item_id=item_id)
    version = repository.current_version(db, item)
    if not version.deliverable:
        raise Conflict(
            N_("This item cannot be put on a paper (%(reason)s), so it cannot be approved."),
            reason=version.skip_reason or "",
        )
    return _set_status(db, actor, item, ItemStatus.APPROVED, "bank.item_approved", now)


def retire(db: Session, *, actor: User, item_id: int, now: datetime) -> Item:
    """Take the item out of future papers; papers that hold it keep it."""
    item, _discipline = item_in_reach(db, actor=actor, item_id=item_id)
    return _set_status(db, actor, item, ItemStatus.RETIRED, "bank.item_retired", now)


def _set_status(
    db: Session, actor: User, item: Item, status: ItemStatus, action: str, now: datetime
) -> Item:
    previous = item.status
    item.status = status
    db.flush()
    record(
        db,
        actor=actor,
        action=action,
        subject=f"item:{item.id}",
        details={"version": item.current_version, "from": previous.value, "to": status.value},
        at=now,
    )
    return item


# -- editing: a new version --------------------------------------------------------------------


@dataclass(frozen=True)
class ItemEdit:
    language: Language
    stem: str
    option_texts: tuple[str, ...]
    fractions: tuple[Decimal, ...]
    difficulty: int | None
    topic_id: int | None
    shuffle_options: bool


def _copy(db: Session, old: ItemVersion, *, number: int, actor: User, now: datetime) -> ItemVersion:
    new = ItemVersion(
        item_id=old.item_id,
        version=number,
        type=old.type,
        shuffle_options=old.shuffle_options,
        difficulty=old.difficulty,
        source_format=old.source_format,
        deliverable=old.deliverable,
        skip_reason=old.skip_reason,
        content=copy.deepcopy(old.content or {}),
        created_at=now,
        created_by_id=actor.id,
    )
    new.texts = [ItemText(language=t.language, text=t.text) for t in old.texts]
    new.options = [
        ItemOption(
            position=o.position,
            fraction=o.fraction,
            texts=[ItemOptionText(language=t.language, text=t.text) for t in o.texts],
        )
        for o in old.options
    ]
    db.add(new)
    db.flush()
    # Each version owns its media, so the examinee holding version N reaches exactly its files.
    moved: dict[int, int] = {}
    for media in repository.media_of(db, [old.id])[old.id]:
        twin = ItemMedia(
            item_version_id=new.id,
            name=media.name,
            content_type=media.content_type,
            sha256=media.sha256,
            data=media.data,
        )
        db.add(twin)
        db.flush()
        moved[media.id] = twin.id
    if moved:

        def point(markup: str) -> str:
            return _MEDIA.sub(
                lambda m: f"/media/{moved.get(int(m.group(1)), int(m.group(1)))}", markup
            )

        for text in new.texts:
            text.text = point(text.text)
        for option in new.options:
            for option_text in option.texts:
                option_text.text = point(option_text.text)
    return new


def _check_edit(version: ItemVersion, edit: ItemEdit, topics: set[int]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if edit.difficulty is not None and not 1 <= edit.difficulty <= 5:
        problems["difficulty"] = gettext("Choose a difficulty from 1 to 5.")
    if edit.topic_id is not None and edit.topic_id not in topics:
        problems["topic"] = gettext("Choose one of the discipline's topics.")
    if len(edit.option_texts) != len(version.options) or len(edit.fractions) != len(
        version.options
    ):
        problems["options"] = gettext("Every option needs its text and its share of the mark.")
    elif any(not Decimal(-1) <= f <= Decimal(1) for f in edit.fractions):
        problems["options"] = gettext("A share of the mark is between -100% and 100%.")
    if not visible_text(edit.stem) and "<img" not in edit.stem:
        problems["stem"] = gettext("The question needs a text.")
    return problems


def _check_scoring(old: ItemVersion, change: ItemEdit, item: Item) -> None:
    """Refuse, before anything is written, a change the question bank could not score."""
    before = content.to_question(
        old, language=change.language, topic="", external=item.external_ref, media=[]
    )
    after = replace(
        before,
        text=change.stem,
        deliverable=True,
        options=tuple(
            replace(option, text=text, fraction=float(share))
            for option, text, share in zip(
                before.options, change.option_texts, change.fractions, strict=True
            )
        ),
    )
    findings = check_question(after)
    problem = findings.errors or ([gettext("no option is correct")] if findings.no_correct else [])
    if problem and old.deliverable:
        raise InvalidInput(
            N_("The change was not saved: %(problem)s"),
            problem=problem[0],
            field_errors={"options": problem[0]},
        )


def edit(db: Session, *, actor: User, item_id: int, change: ItemEdit, now: datetime) -> ItemVersion:
    """Write the change as a new version; the old one stays as it was."""
    item, discipline = item_in_reach(db, actor=actor, item_id=item_id)
    old = repository.current_version(db, item)
    topics = {t.id for t in repository.topics_of(db, discipline.id)}
    problems = _check_edit(old, change, topics)
    if problems:
        raise InvalidInput(field_errors=problems)
    _check_scoring(old, change, item)
    new = _copy(db, old, number=item.current_version + 1, actor=actor, now=now)
    new.difficulty = change.difficulty
    new.shuffle_options = change.shuffle_options
    stem = clean(change.stem)
    existing = next((t for t in new.texts if t.language == change.language), None)
    if existing is None:
        new.texts.append(ItemText(language=change.language, text=stem))
    else:
        existing.text = stem
    for option, text, share in zip(new.options, change.option_texts, change.fractions, strict=True):
        option.fraction = content.fraction(share)
        value = text if old.type in content.KEY_TYPES else clean(text)
        current = next((t for t in option.texts if t.language == change.language), None)
        if current is None:
            option.texts.append(ItemOptionText(language=change.language, text=value))
        else:
            current.text = value
    db.flush()
    previous_status = item.status
    item.current_version = new.version
    item.topic_id = change.topic_id
    item.status = ItemStatus.DRAFT
    db.flush()
    record(
        db,
        actor=actor,
        action="bank.item_edited",
        subject=f"item:{item.id}",
        details={
            "from_version": old.version,
            "to_version": new.version,
            "language": change.language.value,
            "status_was": previous_status.value,
        },
        at=now,
    )
    return new
