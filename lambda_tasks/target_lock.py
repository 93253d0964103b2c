"""The target lock: the exact distributions one build ships for one runtime and architecture, and why each is there.

Every dependency source ends here. A lock file (pylock.toml, uv.lock, poetry.lock, Pipfile.lock) is read in
``sources/`` into its locked packages for the target (markers evaluated for the target's full version) and
their files are fetched with their hashes checked; a declaration (requirements.txt, pyproject.toml, Poetry's
or Pipfile's dependencies) is resolved by ``resolve/``. Either way the result is a :class:`TargetLock`: one
entry per distribution with the file chosen, its sha256, where it came from and which requirement pulled it
in. The checks that hold whatever made the lock (closure, Requires-Python, hashes) take this value, and the
build's bill of materials, ``layers/pylock.toml`` (PEP 751), is its text (:func:`to_pylock`).

Pure: no I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .targets import Target

#: what ``origin`` says about a file: a lock's URL, index (by name or hash), local path or built sdist/directory/
#: VCS checkout; a resolution's wheel from a local --find-links directory, or fetched or built by the installer
ORIGINS = ("lock entry", "index", "path", "built from source", "find-links", "installer")


@dataclass(frozen=True)
class Reason:
    """One reason a distribution ships: ``by`` (a source file, or "name[extra] version") asks ``requirement``."""

    by: str
    requirement: str

    def describe(self) -> str:
        return f"{self.by}: {self.requirement}"


@dataclass(frozen=True)
class WheelOrigin:
    """Where a fetched wheel came from, as the stage that fetched it knows it."""

    location: str  # a URL, a path relative to the project, or "" when the installer did not report one
    origin: str  # one of ORIGINS


@dataclass(frozen=True)
class LockedDistribution:
    """One distribution the target gets: its version, the wheel chosen (file name, location, sha256, size)."""

    name: str  # canonical (PEP 503)
    version: str
    filename: str
    location: str
    sha256: str
    size: int
    origin: str
    reasons: tuple[Reason, ...] = ()
    requires_python: str | None = None

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"{self.name}: unknown origin {self.origin!r}")

    def why(self) -> str:
        return "; ".join(reason.describe() for reason in self.reasons) or "no recorded reason"


@dataclass(frozen=True)
class TargetLock:
    """The distributions for ``target`` (``python3.12/arm64``), sorted by name; ``source`` names what made it."""

    target: str
    python_full_version: str
    environment: str  # the PEP 508 marker that holds on this target only (pylock.toml's ``environments``)
    source: str
    distributions: tuple[LockedDistribution, ...]

    def __post_init__(self) -> None:
        names = [d.name for d in self.distributions]
        if len(set(names)) != len(names):
            twice = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(f"the target lock holds {', '.join(twice)} twice")
        object.__setattr__(self, "distributions", tuple(sorted(self.distributions, key=lambda d: d.name)))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.distributions)

    def only(self, names: Collection[str]) -> TargetLock:
        """The lock restricted to ``names`` (canonical): what the layers hold after exclusions."""
        return replace(self, distributions=tuple(d for d in self.distributions if d.name in names))

    def get(self, name: str) -> LockedDistribution | None:
        return next((d for d in self.distributions if d.name == name), None)


def requires_python_problems(lock: TargetLock) -> list[str]:
    """One line per distribution whose Requires-Python (both bounds) excludes the target's full version."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    problems = []
    for dist in lock.distributions:
        if not dist.requires_python:
            continue
        try:
            allowed = SpecifierSet(dist.requires_python).contains(lock.python_full_version, prereleases=True)
        except InvalidSpecifier:
            continue  # pip and uv ignore a Requires-Python they cannot read; so does this check
        if not allowed:
            problems.append(f"{dist.name} {dist.version} requires Python {dist.requires_python}; the target has "
                            f"{lock.python_full_version} ({dist.why()})")
    return problems


# ------------------------------------------------------------------------------- PEP 751 text (the BOM)


def environment_marker(target: Target) -> str:
    """The marker that holds on ``target`` only: pylock.toml's ``environments`` entry."""
    version = ".".join(map(str, target.python_version[:2]))
    return (f"sys_platform == 'linux' and platform_machine == '{target.machine}' and "
            f"implementation_name == 'cpython' and python_version == '{version}'")


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, ``ensure_ascii`` keeps it to ASCII)."""
    return json.dumps(value, ensure_ascii=True)


def _array(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def to_pylock(lock: TargetLock, header: Iterable[str] = ()) -> str:
    """``lock`` as a PEP 751 pylock.toml: sorted, no timestamps, the same text for the same lock on any machine.

    A wheel whose location no stage recorded (an index download by pip, a wheel built from source) is listed by
    ``path`` as its bare file name: the sha256 identifies it; there is no such file beside the lock."""
    version = lock.python_full_version
    lines = [f"# {line}" for line in header]
    lines += [
        'lock-version = "1.0"',
        f"environments = {_array([lock.environment])}",
        f"requires-python = {_string('==' + version)}",
        'created-by = "lambda-tasks"',
    ]
    for dist in lock.distributions:
        lines += ["", "[[packages]]", f"name = {_string(dist.name)}", f"version = {_string(dist.version)}"]
        if dist.requires_python:
            lines.append(f"requires-python = {_string(dist.requires_python)}")
        where = "url" if "://" in dist.location else "path"
        location = dist.location or dist.filename
        lines += [
            "",
            "[[packages.wheels]]",
            f"name = {_string(dist.filename)}",
            f"{where} = {_string(location)}",
            f"size = {dist.size}",
            f"hashes = {{ sha256 = {_string(dist.sha256)} }}",
        ]
        lines += ["", "[packages.tool.lambda-tasks]", f"origin = {_string(dist.origin)}",
                  f"reasons = {_array(r.describe() for r in dist.reasons)}"]
    return "\n".join(lines) + "\n"
