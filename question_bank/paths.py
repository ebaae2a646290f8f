"""Category paths without Moodle's context markers.

Moodle writes `$course$/top/Physics/Optics` (or `$system$`, `$module$`, `$cat$`, an id number);
the bank only keeps `Physics/Optics`. A `/` inside a category name is written `//` by Moodle and
is kept that way, so the path still splits unambiguously.
"""

from __future__ import annotations

import re

_CONTEXT = re.compile(r"^\$[a-z]+\$(/|$)")


def category_path(raw: str) -> str:
    path = raw.strip()
    path = _CONTEXT.sub("", path)
    parts = [p.strip() for p in re.split(r"(?<!/)/(?!/)", path)]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return "/".join(p for p in parts if p)
