"""Paths in a zip must stay inside it: no absolute path, no ``..``, no drive letter or backslash, no duplicate.

Wheels (vendored or from an index) are archives made by others: a member named ``../../evil.py`` would land
outside ``/opt/python`` when Lambda unpacks the layer (zip-slip). Every entry of every artifact is checked here,
before anything is written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..entries import Entry, FileSource, WheelMember
from ..errors import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")
_LISTED = 5


def problem(arcname: str) -> str | None:
    """Why ``arcname`` is not a safe path inside a zip, or None."""
    if not arcname or "\0" in arcname:
        return "is empty or holds a NUL character"
    if "\\" in arcname:
        return "holds a backslash"
    if arcname.startswith("/") or _DRIVE.match(arcname):
        return "is absolute"
    parts = arcname.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "holds an empty, '.' or '..' part"
    return None


def _origin(entry: Entry) -> str:
    source = entry.source
    if isinstance(source, WheelMember):
        return f"{source.wheel.name} ({source.info.filename})"
    if isinstance(source, FileSource):
        return str(source.path)
    return entry.unit


def check_paths(entries: Sequence[Entry], artifact: str) -> None:
    """Raise UnsafePathError naming every entry whose path would escape ``artifact`` or appear twice in it."""
    found = [f"{entry.arcname!r} {why}, from {_origin(entry)}" for entry in entries
             if (why := problem(entry.arcname))]
    counts = Counter(entry.arcname for entry in entries)
    found += [f"{name!r} appears {count} times" for name, count in sorted(counts.items()) if count > 1]
    if not found:
        return
    detail = "\n".join(f"  {line}" for line in found[:_LISTED])
    more = f"\n  ... and {len(found) - _LISTED} more" if len(found) > _LISTED else ""
    raise UnsafePathError(
        f"refusing {len(found)} unsafe path{'s' if len(found) > 1 else ''} in {artifact}\n{detail}{more}\n"
        "  a path in a zip must stay inside it: remove or rebuild the wheel or file that carries it"
    )
