"""IMS content packages: a zip with `imsmanifest.xml` listing QTI items and tests.

Items are read in the order of the package's tests (their sections become the category), then
any item no test refers to, in manifest order. LOM keywords in a resource's metadata become the
item's tags. Every href is resolved inside the package; nothing outside it is ever read.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from pathlib import Path

from question_bank import qti
from question_bank.i18n import _
from question_bank.limits import Limits, human_size
from question_bank.model import Parsed
from question_bank.safezip import SafeZip, UnsafeZip, open_zip
from question_bank.xmlsafe import line_of, local, parse_xml

MANIFEST = "imsmanifest.xml"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


class ZipResolver:
    def __init__(self, archive: SafeZip) -> None:
        self.archive = archive

    def read(self, href: str) -> bytes | str:
        if not self.archive.has(href):
            return _("'{href}' is not in the package").format(href=href)
        try:
            return self.archive.read(href)
        except UnsafeZip as exc:
            return str(exc)

    def exists(self, href: str) -> bool:
        return self.archive.has(href)


class DirectoryResolver:
    """Relative hrefs of a file on disk, confined to the folder the file is in."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root.resolve()
        self.limits = limits

    def _path(self, href: str) -> Path | None:
        if not href:
            return None
        path = (self.root / href).resolve()
        return path if path.is_relative_to(self.root) else None

    def read(self, href: str) -> bytes | str:
        path = self._path(href)
        if path is None or not path.is_file():
            return _("'{href}' cannot be found next to the file").format(href=href)
        size = path.stat().st_size
        if size > self.limits.max_bytes:
            return _("'{href}' is {size}; the limit is {limit}").format(
                href=href, size=human_size(size), limit=human_size(self.limits.max_bytes)
            )
        return path.read_bytes()

    def exists(self, href: str) -> bool:
        path = self._path(href)
        return path is not None and path.exists()


def _keywords(resource: ET.Element) -> tuple[str, ...]:
    words: list[str] = []
    for element in resource.iter():
        if local(element.tag) != "keyword":
            continue
        strings = [
            e for e in element.iter() if local(e.tag) == "langstring" or local(e.tag) == "string"
        ]
        for holder in strings or [element]:
            word = " ".join((holder.text or "").split())
            if word and word not in words:
                words.append(word)
    return tuple(words)


def _resource_kind(resource: ET.Element) -> str:
    kind = resource.get("type", "").lower()
    if "imsqti_item" in kind:
        return "item"
    if "imsqti_test" in kind or "imsqti_assessment" in kind:
        return "test"
    return ""


def parse_manifest(data: bytes, resolver: qti.Resolver, base: str = "") -> Parsed:
    """Read the items a manifest lists, through a resolver (a zip, or the manifest's folder)."""
    parsed = Parsed()
    result = parse_xml(data)
    if result.root is None:
        parsed.error(result.line, MANIFEST, result.error or _("unreadable manifest"))
        return parsed
    root = result.root
    if local(root.tag) != "manifest":
        parsed.error(line_of(root), MANIFEST, _("imsmanifest.xml has no <manifest> root"))
        return parsed
    root_base = posixpath.join(base, root.get(_XML_BASE, ""))
    items: list[tuple[str, tuple[str, ...], ET.Element]] = []
    tests: list[tuple[str, ET.Element]] = []
    tags_for: dict[str, tuple[str, ...]] = {}
    for resources in (e for e in root if local(e.tag) == "resources"):
        resources_base = posixpath.join(root_base, resources.get(_XML_BASE, ""))
        for resource in (e for e in resources if local(e.tag) == "resource"):
            kind = _resource_kind(resource)
            href = resource.get("href", "")
            if not kind or not href:
                continue
            target = qti.join(
                posixpath.join(resources_base, resource.get(_XML_BASE, ""), "x"), href
            )
            if not target:
                parsed.error(
                    line_of(resource),
                    href,
                    _("unsafe path in manifest: '{href}'").format(href=href),
                )
                continue
            if kind == "test":
                tests.append((target, resource))
            else:
                tags_for[target] = _keywords(resource)
                items.append((target, tags_for[target], resource))
    if not items and not tests:
        parsed.error(None, MANIFEST, _("the manifest lists no QTI items or tests"))
        return parsed
    done: set[str] = set()
    for target, resource in tests:
        data_or_error = resolver.read(target)
        if isinstance(data_or_error, str):
            parsed.error(line_of(resource), target, data_or_error)
            continue
        test = parse_xml(data_or_error)
        if test.root is None:
            parsed.error(test.line, target, f"{target}: {test.error}")
            continue
        qti.normalize(test.root)
        found, used = qti.parse_test(test.root, href=target, resolver=resolver, tags_for=tags_for)
        parsed.extend(found)
        done.update(used)
    for target, tags, resource in items:
        if target in done:
            continue
        done.add(target)
        data_or_error = resolver.read(target)
        if isinstance(data_or_error, str):
            parsed.error(line_of(resource), target, data_or_error)
            continue
        parsed.extend(
            qti.parse_item_document(data_or_error, href=target, resolver=resolver, tags=tags)[1]
        )
    return parsed


def parse_package(data: bytes, limits: Limits) -> Parsed:
    try:
        archive = open_zip(data, limits)
    except UnsafeZip as exc:
        parsed = Parsed()
        parsed.error(None, None, str(exc))
        return parsed
    try:
        manifest = (
            MANIFEST
            if archive.has(MANIFEST)
            else next((n for n in archive.names if posixpath.basename(n) == MANIFEST), None)
        )
        if manifest is None:
            parsed = Parsed()
            parsed.error(
                None, None, _("the zip has no imsmanifest.xml, so it is not a QTI package")
            )
            return parsed
        resolver = ZipResolver(archive)
        try:
            return parse_manifest(archive.read(manifest), resolver, posixpath.dirname(manifest))
        except UnsafeZip as exc:
            parsed = Parsed()
            parsed.error(None, None, str(exc))
            return parsed
    finally:
        archive.close()
