"""Opening uploaded zips (QTI packages, XLSX workbooks) without trusting them.

Refused before anything is extracted: member names that are absolute or climb out with `..`,
encrypted members, too many members, a declared total above the limit, and members that
decompress more than `max_zip_ratio` times their stored size (a zip bomb). Reads are capped
too, because the sizes in a zip's directory are the attacker's to write.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from question_bank.i18n import _
from question_bank.limits import Limits, human_size


class UnsafeZip(Exception):
    """The zip is refused; the message says why, for the report."""


@dataclass(slots=True)
class SafeZip:
    archive: zipfile.ZipFile
    limits: Limits
    read_total: int = 0

    @property
    def names(self) -> list[str]:
        return [info.filename for info in self.archive.infolist() if not info.is_dir()]

    def has(self, name: str) -> bool:
        try:
            self.archive.getinfo(name)
        except KeyError:
            return False
        return True

    def read(self, name: str) -> bytes:
        """A member's bytes, stopping at the declared size and at the overall cap."""
        info = self.archive.getinfo(name)
        budget = min(info.file_size, self.limits.max_unzipped_bytes - self.read_total)
        try:
            with self.archive.open(info) as stream:
                data = stream.read(budget + 1)
        except Exception as exc:
            # zipfile and zlib raise a dozen types for damaged members (CRC, method, EOF...).
            raise UnsafeZip(
                _("zip member '{name}' cannot be read: {detail}").format(name=name, detail=exc)
            ) from exc
        if len(data) > budget:
            raise UnsafeZip(
                _(
                    "zip member '{name}' is larger than its directory says, or the "
                    "package is over {limit} unpacked"
                ).format(name=name, limit=human_size(self.limits.max_unzipped_bytes))
            )
        self.read_total += len(data)
        return data

    def close(self) -> None:
        self.archive.close()


def unsafe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    return ".." in re.split(r"[\\/]", name)


def open_zip(data: bytes, limits: Limits) -> SafeZip:
    """Open and vet a zip; raises UnsafeZip with a human message."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        # A damaged directory raises BadZipFile, NotImplementedError, struct errors and more.
        raise UnsafeZip(_("not a readable zip file: {detail}").format(detail=exc)) from exc
    try:
        _vet(archive, limits)
    except UnsafeZip:
        archive.close()
        raise
    return SafeZip(archive, limits)


def _vet(archive: zipfile.ZipFile, limits: Limits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_members:
        raise UnsafeZip(
            _("the zip has {count} members; at most {limit} are accepted").format(
                count=len(infos), limit=limits.max_zip_members
            )
        )
    total = 0
    for info in infos:
        if unsafe_name(info.filename):
            raise UnsafeZip(
                _("unsafe path in zip: '{name}' points outside the package").format(
                    name=info.filename
                )
            )
        if info.flag_bits & 0x1:
            raise UnsafeZip(_("zip member '{name}' is encrypted").format(name=info.filename))
        total += info.file_size
        stored = max(info.compress_size, 1)
        if (
            info.file_size > limits.ratio_exempt_bytes
            and info.file_size / stored > limits.max_zip_ratio
        ):
            raise UnsafeZip(
                _(
                    "zip member '{name}' would expand {ratio:.0f} times ({size}); refused as a "
                    "zip bomb"
                ).format(
                    name=info.filename,
                    ratio=info.file_size / stored,
                    size=human_size(info.file_size),
                )
            )
    if total > limits.max_unzipped_bytes:
        raise UnsafeZip(
            _("the zip would unpack to {size}; the limit is {limit}").format(
                size=human_size(total), limit=human_size(limits.max_unzipped_bytes)
            )
        )
