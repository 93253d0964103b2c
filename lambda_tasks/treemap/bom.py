"""The build's bill of materials read back (``layers/pylock.toml``): each distribution's version and the chain of
requirements that pulled it in. Pure but for :func:`read_bom`; nothing is resolved again.

The build writes each distribution's reasons as ``"<by>: <requirement>"`` (``target_lock.Reason.describe``):
``by`` is a source (``requirements.txt``, ``uv.lock (pyproject.toml's requirements)``) or another distribution
(``sqlalchemy[postgresql] 2.0.1``). A chain follows the second kind up to the first, shortest path first.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..entries import unit_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib
from ..manifest import BillOfMaterials
from ..target_lock import Reason

#: ``by`` naming a distribution: "name version" or "name[extra] version"
_BY_DISTRIBUTION = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extra>[^\]]+)\])? (?P<version>\S+)$")


@dataclass(frozen=True)
class Shipped:
    """One distribution the layers hold, as the BOM lists it."""

    name: str  # canonical
    version: str
    reasons: tuple[Reason, ...]


def parse_bom(text: str) -> dict[str, Shipped]:
    """name -> what the BOM says of it (a reason without ``": "`` is kept whole as its requirement)."""
    shipped: dict[str, Shipped] = {}
    for package in tomllib.loads(text).get("packages", []):
        tool = package.get("tool", {}).get("lambda-tasks", {})
        reasons = []
        for line in tool.get("reasons", []):
            by, colon, requirement = str(line).partition(": ")
            reasons.append(Reason(by, requirement) if colon else Reason("", by))
        name = unit_key(str(package["name"]))
        shipped[name] = Shipped(name, str(package.get("version", "")), tuple(reasons))
    return shipped


def bom_bytes(output_dir: Path, record: BillOfMaterials | None) -> bytes | None:
    """The BOM the manifest names, or None when there is none or it is not the file the manifest records."""
    if record is None:
        return None
    try:
        data = (output_dir / record.path).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == record.sha256 else None


def read_bom(data: bytes | None) -> dict[str, Shipped] | None:
    """:func:`parse_bom` of ``data`` (from :func:`bom_bytes`); None when there is none or it cannot be read."""
    if data is None:
        return None
    try:
        return parse_bom(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError):
        return None


def parent_of(reason: Reason, shipped: Mapping[str, Shipped]) -> str | None:
    """The shipped distribution ``reason`` comes from, or None when it comes from a source (a root)."""
    match = _BY_DISTRIBUTION.match(reason.by)
    if match is None:
        return None
    name = unit_key(match.group("name"))
    return name if name in shipped and shipped[name].version == match.group("version") else None


def chain(name: str, shipped: Mapping[str, Shipped]) -> tuple[Reason, ...]:
    """The shortest chain of reasons from a source down to ``name``: root first, ``name``'s own reason last.
    Empty when the BOM records no reason. A chain whose top is a distribution not in the layers (one left out
    by ``exclude``) ends there."""
    if name not in shipped or not shipped[name].reasons:
        return ()
    queue: deque[tuple[str, tuple[Reason, ...]]] = deque([(name, ())])
    seen = {name}
    fallback: tuple[Reason, ...] | None = None
    while queue:
        current, below = queue.popleft()
        for reason in shipped[current].reasons:
            path = (reason, *below)
            parent = parent_of(reason, shipped)
            if parent is None:
                if not _BY_DISTRIBUTION.match(reason.by):
                    return path  # a source: the root
                fallback = fallback or path  # a distribution not in the layers
            elif parent not in seen:
                seen.add(parent)
                queue.append((parent, path))
    return fallback or (shipped[name].reasons[0],)


def requirement_text(requirement: str) -> str:
    """A requirement as a chain shows it: an ``extra == "x"`` marker left out (the asking side names the
    extra), another marker in parentheses, not after a stray ``;``."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement
    marker = str(parsed.marker) if parsed.marker is not None else ""
    marker = re.sub(r'^extra == "[^"]*"$', "", marker)
    parsed.marker = None
    return f"{parsed} (when {marker})" if marker else str(parsed)


def step_text(reason: Reason) -> str:
    if reason.requirement == "locked":
        return f"locked in {reason.by}"
    requirement = requirement_text(reason.requirement)
    return f"{reason.by} asks {requirement}" if reason.by else requirement


def chain_text(steps: Sequence[Reason]) -> str:
    """``requirements.txt asks web[pg]>=2 -> web[pg] 2.0 asks pgdriver>=1`` (or "no recorded reason")."""
    return " -> ".join(step_text(step) for step in steps) or "no recorded reason"
