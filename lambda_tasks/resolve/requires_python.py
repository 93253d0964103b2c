"""A chosen wheel's Requires-Python, checked against the target's full version: both bounds.

uv resolves for a range of Pythons (``--python-version 3.10`` means 3.10 and later) and ignores the upper
bounds of Requires-Python (``dataclasses 0.8``: ``>=3.6, <3.7``), where pip, resolving for one version, takes
them: the wheels uv chooses are checked here, so that both installers give the same answer.
"""

from __future__ import annotations

import email.parser
import zipfile
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..targets import Target


def requires_python(wheel: Path) -> str | None:
    """The wheel's Requires-Python (None when it has none, or no readable METADATA: the later checks say so)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next((n for n in archive.namelist()
                         if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            if name is None:
                return None
            text = archive.read(name).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return None
    header, _, _ = text.partition("\n\n")
    value = email.parser.HeaderParser().parsestr(header + "\n\n").get("Requires-Python")
    return str(value).strip() if value else None


def refused_by(wheel: Path, target: Target) -> str | None:
    """The Requires-Python of ``wheel`` when it excludes the target's Python (its full version), else None."""
    spec = requires_python(wheel)
    if not spec:
        return None
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        return None  # pip ignores one it cannot read, too
    full = target.marker_environment()["python_full_version"]
    return None if allowed.contains(full, prereleases=True) else spec
