"""The dependency closure check: do the resolved distributions match what the target needs?

An installer that evaluates environment markers for the build host, not the target, builds a layer that
looks complete but is not: ``anyio`` for python3.10 built on 3.11 lacks ``exceptiongroup``. This check
recomputes, from the requirement lines and each chosen wheel's METADATA, the set of distributions the
target needs -- every marker evaluated in the target's environment, extras followed -- and compares:

* missing: needed, not resolved (names who needs it and the requirement that decided it);
* conflicting: resolved at a version a needing requirement does not allow;
* extra: resolved, but nothing needs it (with a requirement for it whose marker does not hold, if any).

Everything but :func:`read_metadata` is pure.
"""

from __future__ import annotations

import email.parser
import zipfile
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..entries import read_member
from ..errors import MAX_FIRST_LINE, ResolveError, WheelError


@dataclass(frozen=True)
class DistMetadata:
    """What the check needs of one chosen distribution's core metadata."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    provides_extra: tuple[str, ...] = ()
    requires_python: str | None = None

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass(frozen=True)
class Need:
    """One reason a distribution is needed: ``needed_by`` (a source or "dist[extra] version") asks ``requirement``."""

    needed_by: str
    requirement: str

    def describe(self) -> str:
        return f"needed by {self.needed_by} via {self.requirement!r}"


@dataclass(frozen=True)
class Missing:
    name: str
    needs: tuple[Need, ...]


@dataclass(frozen=True)
class Conflict:
    name: str
    version: str
    need: Need


@dataclass(frozen=True)
class Extra:
    name: str
    version: str
    skipped: Need | None = None  # a requirement of it whose marker does not hold for the target


@dataclass(frozen=True)
class ClosureResult:
    """The outcome; ``needed`` maps each needed (canonical) name to why, in the order found."""

    needed: dict[str, tuple[Need, ...]]
    missing: tuple[Missing, ...] = ()
    conflicting: tuple[Conflict, ...] = ()
    extra: tuple[Extra, ...] = ()
    ignored: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.conflicting or self.extra)

    def detail_lines(self) -> list[str]:
        """One line per problem, for the user."""
        lines = [f"missing {item.name}: {need.describe()}" for item in self.missing for need in item.needs]
        lines += [f"conflicting {item.name} {item.version}: {item.need.describe()}" for item in self.conflicting]
        for extra in self.extra:
            skipped = extra.skipped
            why = f" ({skipped.needed_by} asks for it by {skipped.requirement!r}, not on the target)" if skipped else ""
            lines.append(f"extra {extra.name} {extra.version}: nothing needs it on the target{why}")
        return lines


def parse_metadata(data: bytes | str) -> DistMetadata:
    """A METADATA (or PKG-INFO) file's name, version, Requires-Dist and Provides-Extra."""
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    message = email.parser.Parser().parsestr(text, headersonly=True)
    name, version = message.get("Name"), message.get("Version")
    if not name or not version:
        raise ValueError("metadata without Name or Version")
    return DistMetadata(
        name=str(name).strip(), version=str(version).strip(),
        requires=tuple(" ".join(str(value).split()) for value in message.get_all("Requires-Dist") or ()),
        provides_extra=tuple(str(value).strip() for value in message.get_all("Provides-Extra") or ()),
        requires_python=str(message["Requires-Python"]).strip() if message.get("Requires-Python") else None,
    )


def read_metadata(wheel_path: Path) -> DistMetadata:
    """The metadata in a wheel's ``*.dist-info/METADATA`` (the one named after the wheel when there are several)."""
    prefix = "-".join(wheel_path.name.split("-")[:2]).lower()

    def metadata(names: list[str]) -> str | None:
        found = [name for name in names if name.count("/") == 1 and name.endswith(".dist-info/METADATA")]
        found.sort(key=lambda name: not name.lower().startswith(prefix + "."))
        return found[0] if found else None

    try:
        data = read_member(wheel_path, metadata)  # the parsed archive is reused when the wheel is collected
        if data is None:
            raise WheelError(f"{wheel_path.name} has no .dist-info/METADATA; it is not a valid wheel")
        return parse_metadata(data)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise WheelError(f"cannot read the metadata of {wheel_path.name}: {error}") from None


def _parse(line: str, source: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as error:
        raise ResolveError(f"{source} has an invalid requirement {line!r}: {error}") from None


def _holds(requirement: Requirement, environment: Mapping[str, str], extra: str, source: str) -> bool:
    if requirement.marker is None:
        return True
    try:
        return bool(requirement.marker.evaluate({**environment, "extra": extra}))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as error:
        raise ResolveError(f"{source} has a marker that cannot be evaluated: {str(requirement)!r} ({error})") from None


def check_closure(
    requirements: Iterable[str],
    environment: Mapping[str, str],
    resolved: Iterable[DistMetadata],
    ignore: Collection[str] = (),
    source: str = "requirements.txt",
) -> ClosureResult:
    """Compare the ``resolved`` distributions with the closure the target needs.

    ``requirements`` are the top-level PEP 508 lines (``source`` names them in messages), ``environment`` the
    target's marker environment (``Target.marker_environment()``). ``ignore`` names distributions left out on
    purpose (runtime-provided, the ``exclude`` setting): they are not needed and their dependencies are not
    followed; a resolved distribution reached only through one of them is not reported as extra. Pass every
    resolved distribution, ignored ones included, so that this can be seen.
    """
    dists = _by_key(resolved)
    walk = _Walk(environment, frozenset(canonicalize_name(name) for name in ignore))
    walk.top_level(requirements, source)
    walk.follow(dists)
    covered = _covered(walk.reached_ignored, dists)
    missing = tuple(Missing(key, tuple(walk.needed[key])) for key in sorted(walk.needed) if key not in dists)
    conflicting = tuple(
        Conflict(key, dists[key].version, reason) for key, requirement, reason in walk.specifiers
        if key in dists and not _satisfies(dists[key].version, requirement)
    )
    unneeded = tuple(
        Extra(key, dists[key].version, walk.skipped.get(key)) for key in sorted(dists)
        if key not in walk.needed and key not in walk.ignored and key not in covered
    )
    return ClosureResult({key: tuple(reasons) for key, reasons in walk.needed.items()}, missing,
                         tuple(sorted(conflicting, key=lambda item: item.name)), unneeded, walk.ignored)


def _by_key(resolved: Iterable[DistMetadata]) -> dict[str, DistMetadata]:
    dists: dict[str, DistMetadata] = {}
    for dist in resolved:
        if dist.key in dists:
            raise ValueError(f"{dist.key} is resolved twice ({dists[dist.key].version} and {dist.version})")
        dists[dist.key] = dist
    return dists


@dataclass
class _Walk:
    """The walk from the top-level requirements through each distribution's requirements (and extras)."""

    environment: Mapping[str, str]
    ignored: frozenset[str]
    needed: dict[str, list[Need]] = field(default_factory=dict)
    specifiers: list[tuple[str, Requirement, Need]] = field(default_factory=list)
    skipped: dict[str, Need] = field(default_factory=dict)  # the first requirement of each name whose marker failed
    queue: deque[tuple[str, str]] = field(default_factory=deque)  # (name, extra) to follow; "" is the base
    reached_ignored: list[str] = field(default_factory=list)

    def need(self, requirement: Requirement, by: str) -> None:
        key = canonicalize_name(requirement.name)
        if key in self.ignored:
            self.reached_ignored.append(key)
            return
        reason = Need(by, str(requirement))
        reasons = self.needed.setdefault(key, [])
        if reason not in reasons:
            reasons.append(reason)
            self.specifiers.append((key, requirement, reason))
        self.queue.append((key, ""))
        self.queue.extend((key, canonicalize_name(extra)) for extra in requirement.extras)

    def top_level(self, requirements: Iterable[str], source: str) -> None:
        for line in requirements:
            requirement = _parse(line, source)
            if _holds(requirement, self.environment, "", source):
                self.need(requirement, source)
            else:
                self.skipped.setdefault(canonicalize_name(requirement.name), Need(source, str(requirement)))

    def follow(self, dists: Mapping[str, DistMetadata]) -> None:
        followed: set[tuple[str, str]] = set()
        while self.queue:
            key, extra = self.queue.popleft()
            if (key, extra) in followed or key not in dists:
                continue
            followed.add((key, extra))
            self.requirements_of(dists[key], extra)

    def requirements_of(self, dist: DistMetadata, extra: str) -> None:
        by = f"{dist.name}[{extra}] {dist.version}" if extra else f"{dist.name} {dist.version}"
        for line in dist.requires:
            requirement = _parse(line, f"{dist.name} {dist.version}")
            if not _holds(requirement, self.environment, extra, by):
                self.skipped.setdefault(canonicalize_name(requirement.name), Need(by, str(requirement)))
            elif not extra or not _holds(requirement, self.environment, "", by):
                self.need(requirement, by)  # an extra adds only what the base does not already ask for


def _covered(reached_ignored: Iterable[str], dists: Mapping[str, DistMetadata]) -> set[str]:
    """What the ignored distributions pull in: it may stay, whatever its markers say."""
    covered: set[str] = set()
    pending = list(reached_ignored)
    while pending:
        key = pending.pop()
        if key in covered:
            continue
        covered.add(key)
        if key in dists:
            pending.extend(canonicalize_name(_parse(line, key).name) for line in dists[key].requires)
    return covered


def _satisfies(version: str, requirement: Requirement) -> bool:
    if requirement.url or not requirement.specifier:
        return True
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False  # no specifier admits a version PEP 440 cannot read


def closure_message(result: ClosureResult, target: str) -> str | None:
    """The user's message for a failed check (a first line under 160 characters, detail indented), or None."""
    if result.ok:
        return None
    groups = [([item.name for item in result.missing], "missing"),
              ([item.name for item in result.conflicting], "conflicting"),
              ([item.name for item in result.extra], "extra")]
    present = [(sorted(set(names)), word) for names, word in groups if names]
    if len(present) == 1:
        names, word = present[0]
        noun = "distribution" if len(names) == 1 else "distributions"
        first = _fit(f"dependency check failed: {len(names)} {noun} {word} for {target}: ", names)
    else:
        head = f"dependency check failed for {target}: "
        first = head + ", ".join(f"{len(names)} {word}" for names, word in present)
        names = [name for names, _ in present for name in names]
        first = _fit(first + " (", names, ")")
    return "\n".join([first, *(f"  {line}" for line in result.detail_lines())])


def _fit(head: str, names: list[str], tail: str = "") -> str:
    """``head`` and as many ``names`` as fit in the first line, then "and N more"."""
    for shown in range(len(names), 0, -1):
        rest = f" and {len(names) - shown} more" if shown < len(names) else ""
        line = head + ", ".join(names[:shown]) + rest + tail
        if len(line) <= MAX_FIRST_LINE:
            return line
    return (head.rstrip(": (") + tail.rstrip(")"))[:MAX_FIRST_LINE]


def raise_for_closure(result: ClosureResult, target: str, allow_extra: bool = False) -> None:
    """Raise ResolveError when something is missing or conflicting (or extra, unless ``allow_extra``)."""
    if allow_extra and result.extra:
        result = ClosureResult(result.needed, result.missing, result.conflicting, (), result.ignored)
    message = closure_message(result, target)
    if message:
        raise ResolveError(message)
