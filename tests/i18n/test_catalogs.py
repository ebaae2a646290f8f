"""The kk/ru/en catalogs are complete for the current source, parse, and keep their placeholders.

A developer who adds a user-facing string without translating it breaks this test; the fix is
``python -m server.i18n.catalog update`` and translating the new entries in kk and ru.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from server.i18n import LOCALE_DIR, LOCALES, translations_for
from server.i18n import catalog as catalogs

NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


@pytest.fixture(scope="module")
def template() -> Catalog:
    """A fresh in-process extraction of the source, as ``update`` would write it."""
    return catalogs.extract()


def _read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def _po(locale: str) -> Catalog:
    return _read(catalogs.po_file(locale), locale)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list)):
        return [str(item) for item in value]
    return []


def _translated(locale: str) -> list[Message]:
    return [m for m in _po(locale) if m.id and any(_strings(m.string))]


def test_extraction_finds_the_source_strings(template: Catalog) -> None:
    msgids = {m.id for m in template if m.id}
    # One from a template, one marked with N_ in Python, one gettext'd in Python.
    assert {"Sign in", "Not found.", "Enter a title."} <= msgids
    assert len(msgids) > 100


@pytest.mark.parametrize("locale", LOCALES)
def test_po_file_parses(locale: str) -> None:
    po = _po(locale)
    assert str(po.locale) == locale
    assert not po.fuzzy, "the header entry must not be fuzzy"
    assert not po.obsolete, "obsolete (#~) entries are kept out: run the update command"
    # The runtime compiles the same file in memory; it must see the translations.
    translations_for.cache_clear()
    try:
        assert translations_for(locale).gettext("Sign in") == po["Sign in"].string
    finally:
        translations_for.cache_clear()


def test_no_msgid_is_missing_or_untranslated(template: Catalog) -> None:
    findings = catalogs.check(template=template)
    assert not findings, (
        f"{len(findings)} catalog problems:\n"
        + "\n".join(f"  {finding}" for finding in findings)
        + f"\n\n{catalogs.INSTRUCTIONS}"
    )


def test_check_command_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogs.main(["check"]) == 0
    assert "catalogs complete" in capsys.readouterr().out


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    wrong = []
    for message in _translated(locale):
        expected = set().union(*(NAMED_PLACEHOLDER.findall(s) for s in _strings(message.id)))
        for text in _strings(message.string):
            found = set(NAMED_PLACEHOLDER.findall(text))
            if found != expected:
                wrong.append(f"{message.id!r}: {sorted(found)} instead of {sorted(expected)}")
    assert not wrong, f"[{locale}] placeholders changed:\n" + "\n".join(wrong)


def _format_problem(text: str, names: set[str]) -> str | None:
    """Why ``text % {...}`` would not give the text meant, or None."""
    if "%" in NAMED_PLACEHOLDER.sub("", text).replace("%%", ""):
        # "50% or" raises TypeError; "50% and" silently renders "50{}nd" (% a is a conversion).
        return "a literal % must be written %%"
    try:
        text % dict.fromkeys(names, "7")
    except (KeyError, TypeError, ValueError) as exc:
        return str(exc)
    return None


def test_formatted_msgids_format(template: Catalog) -> None:
    """In a template's _(), a literal percent sign is %%; the English text itself must format."""
    broken = []
    for message in template:
        if message.id and catalogs.is_formatted(message):
            for text in _strings(message.id):
                problem = _format_problem(text, set(NAMED_PLACEHOLDER.findall(text)))
                if problem:
                    broken.append(f"{message.locations}: {text!r} ({problem})")
    assert not broken, "msgids that break when %-formatted:\n" + "\n".join(broken)


@pytest.mark.parametrize("locale", LOCALES)
def test_formatted_translations_format(locale: str, template: Catalog) -> None:
    """Template _() always %-formats: a stray % in a translation would break the page."""
    broken = []
    for message in _translated(locale):
        source = template.get(message.id)
        if source is None or not catalogs.is_formatted(source):
            continue
        names = set().union(*(NAMED_PLACEHOLDER.findall(s) for s in _strings(message.id)))
        for text in _strings(message.string):
            problem = _format_problem(text, names)
            if problem:
                broken.append(f"{message.id!r}: {text!r} ({problem})")
    assert not broken, f"[{locale}] translations that cannot be %-formatted:\n" + "\n".join(broken)


@pytest.mark.parametrize("locale", LOCALES)
def test_unformatted_translations_keep_single_percent(locale: str, template: Catalog) -> None:
    """Messages shown with |translate or without fields are not formatted: %% would show as is."""
    doubled = [
        m.id
        for m in _translated(locale)
        if (source := template.get(m.id)) is not None
        and not catalogs.is_formatted(source)
        and any("%%" in text for text in _strings(m.string))
    ]
    assert not doubled, f"[{locale}] %% in messages that are never %-formatted: {doubled}"


def test_english_catalog_is_the_identity_where_filled() -> None:
    differing = [m.id for m in _translated("en") if m.string != m.id]
    assert not differing, f"English msgstr differs from its msgid: {differing}"


def test_translations_are_not_left_in_english() -> None:
    """A copied msgid is not a translation; only names and codes may stay as they are."""
    same_as_english = {"Emtihan"}
    for locale in ("kk", "ru"):
        copied = [m.id for m in _translated(locale) if m.string == m.id]
        assert set(copied) <= same_as_english, f"[{locale}] msgstr equal to msgid: {copied}"


# --- the update/check machinery itself, on a throwaway source tree ------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _fill(path: Path, locale: str, translations: dict[str, str]) -> None:
    po = _read(path, locale)
    for msgid, text in translations.items():
        po[msgid].string = text
        po[msgid].flags.discard("fuzzy")
    path.write_bytes(catalogs._serialise(po))


def test_update_and_check_on_a_small_tree(tmp_path: Path) -> None:
    root, locale_dir = tmp_path / "src", tmp_path / "locale"
    _write(
        root / "server" / "mod.py",
        'from server.i18n import N_, gettext\nA = N_("Gone soon")\nB = gettext("Hello %(who)s")\n',
    )
    _write(root / "proctor_ui" / "templates" / "page.html", '<p>{{ _("Fifty %%") }}</p>\n')
    _write(root / "proctor_ui" / "templates" / "bad.html", '<p>{{ _("Half: 50% and up") }}</p>\n')

    catalogs.update(root=root, locale_dir=locale_dir)
    assert (locale_dir / "messages.pot").exists()
    findings = catalogs.check(root=root, locale_dir=locale_dir)
    pending = {(f.locale, f.msgid) for f in findings}
    msgids = {"Gone soon", "Hello %(who)s", "Fifty %%", "Half: 50% and up"}
    # The English msgid itself is broken, and so is the English catalog's copy of it.
    assert pending == {("source", "Half: 50% and up"), ("en", "Half: 50% and up")} | {
        (locale, msgid) for locale in ("kk", "ru") for msgid in msgids
    }
    _write(root / "proctor_ui" / "templates" / "bad.html", "<p></p>\n")
    catalogs.update(root=root, locale_dir=locale_dir)

    en = _read(locale_dir / "en/LC_MESSAGES/messages.po", "en")
    assert en["Hello %(who)s"].string == "Hello %(who)s"

    good = {
        "Gone soon": "Жақында жойылады",
        "Hello %(who)s": "Сәлем, %(who)s",
        "Fifty %%": "Елу %%",
    }
    _fill(locale_dir / "kk/LC_MESSAGES/messages.po", "kk", good)
    bad = {"Gone soon": "Скоро", "Hello %(who)s": "Привет, %(name)s", "Fifty %%": "Пятьдесят %"}
    _fill(locale_dir / "ru/LC_MESSAGES/messages.po", "ru", bad)
    kinds = {(f.locale, f.msgid, f.kind) for f in catalogs.check(root=root, locale_dir=locale_dir)}
    assert kinds == {
        ("ru", "Hello %(who)s", "placeholders"),
        ("ru", "Fifty %%", "format"),
    }

    # A removed string leaves the catalogs (no obsolete entries); translations survive updates.
    _write(
        root / "server" / "mod.py",
        'from server.i18n import gettext\nB = gettext("Hello %(who)s")\n',
    )
    before = (locale_dir / "kk/LC_MESSAGES/messages.po").read_bytes()
    changed = catalogs.update(root=root, locale_dir=locale_dir)
    assert locale_dir / "kk/LC_MESSAGES/messages.po" in changed
    kk_text = (locale_dir / "kk/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert "Gone soon" not in kk_text
    assert "#~" not in kk_text
    assert 'msgstr "Сәлем, %(who)s"' in kk_text
    assert before != kk_text.encode()

    # Nothing changed in the source: nothing is rewritten.
    assert catalogs.update(root=root, locale_dir=locale_dir) == []


def test_update_keeps_the_committed_translations(tmp_path: Path, template: Catalog) -> None:
    """Running ``update`` on a copy of the committed catalogs loses no translation."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy)
    catalogs.update(locale_dir=copy)
    assert catalogs.check(locale_dir=copy, template=template) == []
    for locale in LOCALES:
        updated = _read(catalogs.po_file(locale, copy), locale)
        committed = _po(locale)
        for message in template:
            if message.id:
                assert updated[message.id].string == committed[message.id].string
