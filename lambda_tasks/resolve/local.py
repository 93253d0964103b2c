"""Requirements named by location (``./pkg``, ``-e ../pkg``, ``file://``, ``name @ ...``, ``git+https://``): built
into wheels before pip resolves, because ``pip download`` for another platform builds nothing.

Each one is built with the compiler disabled (see ``sdists``) and its line becomes ``name @ file:///...whl``
with the same extras and marker, so pip resolves its dependencies for the target like any other requirement.
The requirements file pip gets is written from the declaration's lines (the files included with -r put in
place), so that every line can be rewritten, and each line remembers where it comes from.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.requirements import DirectReference, Line, direct_reference, option
from ..targets import Target
from .failures import Failure
from .process import redact
from .sdists import build_wheel

_TOOLS = {"git+": "git", "hg+": "hg", "svn+": "svn", "bzr+": "bzr"}


@dataclass(frozen=True)
class Entry:
    """A line of the requirements file pip gets: where it comes from, its text ("" when left out), its names."""

    line: Line
    text: str
    names: frozenset[str]
    #: built here from the project's own sources (a path, an archive, a VCS checkout): its files are the user's
    built: bool = False

    @property
    def shown(self) -> str:
        """The line as written, without its per-requirement options (``--hash``): what names it in messages."""
        return redact(re.split(r"\s+--[a-z]", self.line.text, maxsplit=1)[0].strip())


def prepare(settings: ResolveSettings, lines: Sequence[Line], options: list[str], built_dir: Path,
            reporter: Reporter) -> tuple[list[Entry], list[Failure]]:
    """The lines for pip (the declaration's ``lines``), with every requirement named by location built; the
    ones that could not be."""
    entries: list[Entry] = []
    failures: list[Failure] = []
    for line in lines:
        reference = direct_reference(line)
        if reference is None:
            entries.append(Entry(line, line.text, requirement_names(line.text)))
        elif reference.kind == "wheel" and not reference.is_local:
            entries.append(Entry(line, line.text, requirement_names(reference.name or "")))
        elif not marker_applies(reference.marker, settings.target):
            entries.append(Entry(line, "", frozenset()))
        else:
            outcome = _wheel_for(reference, settings, options, built_dir, reporter)
            if isinstance(outcome, Failure):
                failures.append(outcome)
                entries.append(Entry(line, "", frozenset()))
            else:
                entries.append(outcome)
    return entries, failures


def _wheel_for(reference: DirectReference, settings: ResolveSettings, options: list[str], built_dir: Path,
               reporter: Reporter) -> Entry | Failure:
    shown, target = redact(reference.line.text), settings.target
    if reference.kind == "missing":
        relative = os.path.relpath(reference.location, reference.line.path.parent)
        return Failure(shown, f"{relative} does not exist", (
            f"{reference.line.where}; a path counts from the directory of the requirements file",
            f"looked for {reference.location}"))
    if reference.editable:
        reporter.info(f"resolve: {shown} ({reference.line.where}) ships as a normal install: Lambda has no "
                      "editable installs")
    if reference.kind == "wheel":
        wheel: Path | Failure = Path(reference.location)
        if not target.accepts_wheel(Path(reference.location).name):
            return Failure(shown, "no distribution fits", (
                f"{Path(reference.location).name} is not for {target}",), "no-fit")
    else:
        tool = next((tool for prefix, tool in _TOOLS.items() if reference.location.lower().startswith(prefix)), None)
        if tool and not shutil.which(tool):
            return Failure(shown, f"cannot be fetched: {tool} is not installed here", (), "fetch")
        remote = reference.kind in {"vcs", "url"}
        if remote:
            spec = f"{reference.name} @ {reference.location}" if reference.named else reference.location
        else:
            spec = reference.location
        wheel = build_wheel(spec, shown, settings, options, built_dir, reporter, remote=remote,
                            where=reference.line.where)
    if isinstance(wheel, Failure):
        return wheel
    name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    if reference.name and canonicalize_name(reference.name) != name:
        return Failure(shown, f"its metadata names it {name}, not {reference.name}", (), "")
    marker = f" ; {reference.marker}" if reference.marker else ""
    return Entry(reference.line, f"{name}{reference.extras} @ {wheel.as_uri()}{marker}", frozenset({name}), True)


def requirement_names(text: str) -> frozenset[str]:
    """The canonical name of a requirement line (none for an option or a line that does not parse)."""
    if not text or option(text):
        return frozenset()
    try:
        return frozenset({canonicalize_name(Requirement(text.split(" --", 1)[0].strip()).name)})
    except InvalidRequirement:
        return frozenset()


def marker_applies(marker: str, target: Target) -> bool:
    """True when ``marker`` holds on the target (or cannot be read: pip decides)."""
    if not marker:
        return True

    try:
        return Marker(marker).evaluate({**target.marker_environment(), "extra": ""})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return True
