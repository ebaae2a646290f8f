"""Keep the Kazakh, Russian and English catalogs complete.

    python -m server.i18n.catalog update   # extract msgids, write messages.pot, merge into the .po
    python -m server.i18n.catalog check    # exit 1 listing msgids missing or untranslated

``update`` extracts every msgid from ``server/**.py`` and ``proctor_ui/templates/**.html`` as
``babel.cfg`` says, writes ``server/i18n/locale/messages.pot`` and merges it into
``locale/<kk|ru|en>/LC_MESSAGES/messages.po``: new msgids are added with an empty msgstr (or a
fuzzy guess from a similar old msgid), and msgids no longer in the source are dropped, not kept
as obsolete entries. Locations are written without line numbers, so moving code does not touch
the catalogs; a file is rewritten only when its entries change.

English is the source language. Its catalog is filled by ``update`` itself: an empty or fuzzy
msgstr becomes the msgid (an English msgstr that deliberately differs from its msgid is kept).
So every catalog can be checked the same way: ``check`` fails on any msgid that is missing from,
empty in or fuzzy in a catalog (every plural form counts), on a translation whose ``%(name)s``
placeholders differ from its msgid's, and on a msgid or translation that does not %-format
cleanly where it is formatted: template ``_()`` always %-formats, so a literal percent sign
there is ``%%`` (in msgid and msgstr alike), while ``N_()`` messages shown with ``|translate``
keep a single ``%``. Entries no longer in the source are only noted; ``update`` removes them.

The same functions back ``tests/i18n/test_catalogs.py``, so an untranslated string fails the build.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from server.i18n import LOCALE_DIR, LOCALES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
POT_FILE = LOCALE_DIR / "messages.pot"
SOURCE_LOCALE = "en"  # msgids are English; this catalog is filled by ``update``
PROJECT = "Emtihan"

UPDATE_COMMAND = "python -m server.i18n.catalog update"
INSTRUCTIONS = (
    f"Run `{UPDATE_COMMAND}` and translate the new entries in kk and ru "
    "(server/i18n/locale/<kk|ru>/LC_MESSAGES/messages.po): fill every empty msgstr and, "
    "after checking a fuzzy guess, delete its `#, fuzzy` line. "
    "Keep every %(name)s placeholder as it is in the msgid."
)

# A named field as %-formatting reads it, or a literal "%%". Only named fields count as
# placeholders: msgids use %(name)s, and a bare "%" ("below 50% and ...") is text in a message
# that is never %-formatted; where a message is formatted, formats_cleanly() catches it.
PLACEHOLDER = re.compile(
    r"%%|%\((?P<name>[^)]*)\)"  # literal percent sign, or a mapping key
    r"[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]"  # flags ... conversion
)
_DATE_HEADERS = re.compile(rb'^"(?:POT-Creation-Date|PO-Revision-Date): .*\\n"\n', re.MULTILINE)


def po_file(locale: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / locale / "LC_MESSAGES" / "messages.po"


# --- extraction -----------------------------------------------------------------------------


def extract(root: Path = PROJECT_ROOT, mapping_file: Path = MAPPING_FILE) -> Catalog:
    """Every msgid in the source, with its locations and translator comments, as a template."""
    with mapping_file.open(encoding="utf-8") as fh:
        # Babel leaves this function unannotated; it returns (method_map, options_map).
        method_map, options_map = parse_mapping_cfg(fh, str(mapping_file))  # type: ignore[no-untyped-call]
    template = Catalog(project=PROJECT, charset="utf-8", fuzzy=False)
    # Keywords come from babel.cfg alone (like pybabel's --no-default-keywords).
    for filename, lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map, keywords={}, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _serialise(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    # No line numbers: moving code does not touch the catalogs. No obsolete (#~) entries.
    write_po(
        buffer,
        catalog,
        width=76,
        include_lineno=False,
        ignore_obsolete=True,
        include_previous=True,
    )
    return buffer.getvalue()


def _write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` unless only the date headers differ from what is on disk."""
    if path.exists() and _DATE_HEADERS.sub(b"", path.read_bytes()) == _DATE_HEADERS.sub(
        b"", content
    ):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def _is_blank(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not strings or not all(strings)


def fill_source_locale(catalog: Catalog) -> None:
    """English: an empty or fuzzy msgstr becomes the msgid itself."""
    for message in catalog:
        if not message.id or not (message.fuzzy or _is_blank(message)):
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id[0], message.id[1]
            message.string = tuple(
                singular if index == 0 else plural for index in range(catalog.num_plurals)
            )
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
        message.previous_id = []


def update(
    root: Path = PROJECT_ROOT,
    locale_dir: Path = LOCALE_DIR,
    locales: Sequence[str] = LOCALES,
) -> list[Path]:
    """Extract, write the .pot, merge it into each .po; return the files that changed."""
    template = extract(root)
    changed: list[Path] = []
    if _write_if_changed(locale_dir / POT_FILE.name, _serialise(template)):
        changed.append(locale_dir / POT_FILE.name)
    for locale in locales:
        path = po_file(locale, locale_dir)
        if path.exists():
            catalog = read_catalog(path, locale)
        else:
            catalog = Catalog(locale=locale, project=PROJECT, charset="utf-8", fuzzy=False)
        catalog.update(template, update_creation_date=False)
        catalog.obsolete.clear()
        if locale == SOURCE_LOCALE:
            fill_source_locale(catalog)
        if _write_if_changed(path, _serialise(catalog)):
            changed.append(path)
    return changed


# --- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    locale: str
    kind: str  # "missing", "untranslated", "fuzzy", "placeholders", "format"
    # locale is "source" for a problem with the msgid itself
    msgid: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"[{self.locale}] {self.kind}: {self.msgid!r}{extra}"


def _strings(value: str | tuple[str, ...] | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def placeholders(text: str) -> list[str]:
    """The named fields of ``text`` (``%(name)s``, ``%(count)d``), in order of appearance."""
    return [m.group(0) for m in PLACEHOLDER.finditer(text) if m.group("name") is not None]


class _AnyValue(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return 1


def formats_cleanly(text: str) -> bool:
    """Whether ``text % {...}`` gives the text meant, as newstyle gettext and ExamError do it.

    Every "%" must be part of a named field or of "%%": "50% or" raises at render time, and
    "50% and" silently renders "50{}nd" (``% a`` is a conversion).
    """
    if "%" in PLACEHOLDER.sub("", text):
        return False
    try:
        text % _AnyValue()
    except (TypeError, ValueError, KeyError):
        return False
    return True


def is_formatted(message: Message) -> bool:
    """Newstyle template gettext always %-formats; Python code formats when it has fields."""
    from_template = any(filename.endswith(".html") for filename, _line in message.locations)
    return from_template or any(placeholders(text) for text in _strings(message.id))


def translation_problems(message: Message, locale: str) -> list[Finding]:
    """Placeholders and %-formatting of one translated message."""
    msgid = _strings(message.id)[0]
    expected = sorted(set().union(*(placeholders(text) for text in _strings(message.id))))
    findings: list[Finding] = []
    for text in _strings(message.string):
        if not text:
            continue
        found = sorted(set(placeholders(text)))
        if found != expected:
            findings.append(
                Finding(locale, "placeholders", msgid, f"msgstr has {found}, msgid has {expected}")
            )
        if is_formatted(message) and not formats_cleanly(text):
            findings.append(
                Finding(locale, "format", msgid, "a literal % in a formatted message is written %%")
            )
        elif not is_formatted(message) and "%%" in text and "%%" not in msgid:
            findings.append(
                Finding(locale, "format", msgid, "this message is not %-formatted: write % not %%")
            )
    return findings


def check_catalog(template: Catalog, catalog: Catalog, locale: str) -> list[Finding]:
    findings: list[Finding] = []
    for wanted in template:
        if not wanted.id:
            continue
        msgid = _strings(wanted.id)[0]
        message = catalog.get(wanted.id, context=wanted.context)
        if message is None:
            findings.append(Finding(locale, "missing", msgid))
        elif message.fuzzy:
            findings.append(Finding(locale, "fuzzy", msgid))
        elif _is_blank(message):
            findings.append(Finding(locale, "untranslated", msgid))
        else:
            # The template's locations tell whether the message is formatted.
            message_here = Message(
                wanted.id, message.string, locations=wanted.locations, context=wanted.context
            )
            findings.extend(translation_problems(message_here, locale))
    return findings


def stale_msgids(template: Catalog, catalog: Catalog) -> list[str]:
    """Entries of ``catalog`` no longer in the source (harmless; ``update`` drops them)."""
    return [
        _strings(message.id)[0]
        for message in catalog
        if message.id and template.get(message.id, context=message.context) is None
    ]


def source_problems(template: Catalog) -> list[Finding]:
    """Msgids that break when %-formatted: in a template's _(), a literal % is written %%."""
    return [
        Finding(
            "source",
            "format",
            _strings(message.id)[0],
            "in "
            + ", ".join(sorted({f for f, _line in message.locations}))
            + ": write a literal percent sign as %% inside _() in templates",
        )
        for message in template
        if message.id
        and is_formatted(message)
        and not all(formats_cleanly(text) for text in _strings(message.id))
    ]


def check(
    root: Path = PROJECT_ROOT,
    locale_dir: Path = LOCALE_DIR,
    locales: Iterable[str] = LOCALES,
    template: Catalog | None = None,
) -> list[Finding]:
    """Every problem with the catalogs, against a fresh extraction of the source."""
    template = template if template is not None else extract(root)
    findings = source_problems(template)
    for locale in locales:
        path = po_file(locale, locale_dir)
        if not path.exists():
            findings.append(Finding(locale, "missing", "*", f"no catalog at {path}"))
            continue
        findings.extend(check_catalog(template, read_catalog(path, locale), locale))
    return findings


# --- command line ---------------------------------------------------------------------------


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.i18n.catalog",
        description="Extract msgids into the kk/ru/en catalogs and check they are translated.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract msgids; update messages.pot and every .po")
    commands.add_parser("check", help="exit 1 when a msgid is missing or untranslated")
    args = parser.parse_args(argv)

    if args.command == "update":
        changed = update()
        for path in changed:
            print(f"updated {_relative(path)}")
        if not changed:
            print("catalogs already up to date")
        findings = check()
        if findings:
            print(f"\n{len(findings)} entries still need a translator:")
            for finding in findings:
                print(f"  {finding}")
            print("\nTranslate them in kk and ru, then run `python -m server.i18n.catalog check`.")
        return 0

    template = extract()
    findings = check(template=template)
    for locale in LOCALES:
        path = po_file(locale)
        if path.exists():
            stale = stale_msgids(template, read_catalog(path, locale))
            if stale:
                print(
                    f"note: {len(stale)} entries of {_relative(path)} are no longer used; "
                    f"`{UPDATE_COMMAND}` removes them."
                )
    if not findings:
        count = sum(1 for message in template if message.id)
        print(f"catalogs complete: {count} msgids in {', '.join(LOCALES)}")
        return 0
    print(f"{len(findings)} problems with the translation catalogs:", file=sys.stderr)
    for finding in findings:
        print(f"  {finding}", file=sys.stderr)
    print(f"\n{INSTRUCTIONS}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
