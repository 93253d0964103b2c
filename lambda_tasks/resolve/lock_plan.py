"""A lock's target lock, decided before anything is fetched: the files the build will fetch and nothing else.

From the packages ``sources`` read for the target (markers evaluated for its full version, a uv.lock or
poetry.lock walked from the project's requirements, so every dependency edge that holds on the target leads to a
locked package), :func:`plan_lock` decides per package what the build fetches: the wheel the target ranks best
among the locked files, with its location, sha256 and size as the lock gives them; or, where the lock names no
wheel for the target, the sdist, directory or VCS checkout it is built from; or (Pipfile.lock) the files known
only by their hashes. Each locked Requires-Python is checked here, both bounds. The result is a
:class:`~lambda_tasks.target_lock.TargetLock` of the distributions whose file is known now (version, file,
sha256, origin, reasons), and the ones whose file is only known once fetched or built (``pending``).

:func:`check_fetched` then holds the fetch to it: every planned file was fetched with its planned sha256, and
nothing was fetched that the plan does not name; :func:`check_agrees` holds the target lock read from the
fetched wheels' metadata to the planned versions. Pure: no I/O here.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import ResolveError
from ..sources.declaration import Declaration
from ..sources.locks import LockedPackage
from ..target_lock import LockedDistribution, Reason, TargetLock, WheelOrigin, environment_marker
from ..targets import Target
from .failures import Failure, failures_error
from .picks import Pick, best_wheel
from .process import redact


@dataclass(frozen=True)
class LockPlan:
    """What the build fetches for a lock, decided before fetching."""

    lock: TargetLock  # the distributions whose file the lock names for the target
    picks: tuple[Pick, ...]  # fetched by URL or path, size and sha256 checked
    by_name: Mapping[str | None, tuple[Pick, ...]]  # poetry.lock: named files from an index, by pip with --hash
    by_hash: tuple[LockedPackage, ...]  # Pipfile.lock: the target's file among the locked hashes, by pip
    builds: tuple[LockedPackage, ...]  # built from a locked sdist, directory or VCS checkout
    origins: Mapping[str, WheelOrigin]  # by wheel file name, for the picks

    @property
    def pending(self) -> list[str]:
        """``name version`` of the distributions whose wheel is known only once fetched or built."""
        return [f"{package.name} {package.version}" for package in (*self.by_hash, *self.builds)]

    def describe(self, lock_name: str) -> str:
        known = len(self.lock.distributions)
        more = f", {len(self.pending)} known once fetched by hash or built" if self.pending else ""
        return f"resolve: {lock_name} for {self.lock.target}: {known} wheels named with their sha256{more}, " \
               "before fetching"


def plan_lock(declaration: Declaration, target: Target, project_dir: Path) -> LockPlan:
    """The plan for the lock ``declaration`` on ``target``; a package no file of which fits, or whose locked
    Requires-Python excludes the target, is an error naming it (all of them at once)."""
    assert declaration.source is not None and declaration.is_lock
    lock_name = declaration.source.path.name
    full = target.marker_environment()["python_full_version"]
    sorted_ = _Sorted()
    for package in declaration.locked:
        if package.requires_python and not _allows(package.requires_python, full):
            sorted_.failures.append(_python_failure(package, full, lock_name, target))
        else:
            _place(package, target, sorted_)
    if sorted_.failures:
        raise failures_error(sorted_.failures, target)
    origins = _origins(sorted_.picks, sorted_.by_name, project_dir)
    named_picks = [*sorted_.picks, *(pick for group in sorted_.by_name.values() for pick in group)]
    distributions = _distributions(declaration, named_picks, origins, lock_name)
    lock = TargetLock(str(target), full, environment_marker(target), lock_name, distributions)
    return LockPlan(lock, tuple(sorted_.picks), {index: tuple(named) for index, named in sorted_.by_name.items()},
                    tuple(sorted_.by_hash), tuple(sorted_.builds), origins)


@dataclass
class _Sorted:
    """The locked packages sorted by how the build fetches them, and the ones that cannot be (while planning)."""

    picks: list[Pick] = field(default_factory=list)
    by_name: dict[str | None, list[Pick]] = field(default_factory=dict)
    by_hash: list[LockedPackage] = field(default_factory=list)
    builds: list[LockedPackage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def _place(package: LockedPackage, target: Target, sorted_: _Sorted) -> None:
    """Put ``package`` (its Requires-Python allowing the target) where the build fetches it from."""
    chosen = best_wheel([(file.filename, file) for file in package.wheels], target)
    wheel = chosen[1] if chosen is not None else None
    if package.requirement is not None or (package.directory is not None and not package.wheels):
        sorted_.builds.append(package)
    elif package.hashes:
        sorted_.by_hash.append(package)
    elif wheel is not None and not wheel.location:
        sorted_.by_name.setdefault(package.index, []).append(
            _pick(package, wheel.filename, "", wheel.sha256, wheel.size))
    elif wheel is not None and not wheel.sha256 and "://" in wheel.location:
        sorted_.failures.append(Failure(f"{package.name}=={package.version}", "the lock records no sha256 for "
                                        f"{wheel.filename}", ("a file fetched by URL must be hash-checked; "
                                                              "lock it again with its hashes",)))
    elif wheel is not None:
        sorted_.picks.append(_pick(package, wheel.filename, _uri(wheel.location), wheel.sha256, wheel.size))
    elif package.sdist is not None:
        sorted_.builds.append(package)
    else:
        sorted_.failures.append(_no_wheel_failure(package, target))


def _python_failure(package: LockedPackage, full: str, lock_name: str, target: Target) -> Failure:
    return Failure(f"{package.name}=={package.version}", f"it requires Python {package.requires_python}; "
                   f"the target has {full}", (f"{lock_name} was locked for another Python; lock it for {target}",))


def _no_wheel_failure(package: LockedPackage, target: Target) -> Failure:
    tags = sorted({str(tag) for file in package.wheels for tag in _tags(file.filename)})
    return Failure(f"{package.name}=={package.version}", "no wheel in the lock fits", (
        f"its locked wheels are for: {', '.join(tags) or 'none (no wheels, no sdist)'}",
        f"{target} takes cp{target.version_nodot}/abi3/py3 wheels for manylinux {target.machine}",
        "lock a version that has one (or its sdist), or put a wheel for the target in vendor/"))


def _origins(picks: Sequence[Pick], by_name: Mapping[str | None, Sequence[Pick]],
             project_dir: Path) -> dict[str, WheelOrigin]:
    """Where each named wheel comes from, by file name: a lock entry's URL, a path, or an index."""
    origins: dict[str, WheelOrigin] = {}
    for pick in picks:
        origins[pick.filename] = WheelOrigin(shown_location(pick.url, project_dir),
                                             "lock entry" if "://" in pick.url and not pick.url.startswith("file:")
                                             else "path")
    for index, named in by_name.items():
        for pick in named:
            origins[pick.filename] = WheelOrigin(index or "", "index")
    return origins


def _distributions(declaration: Declaration, named_picks: Sequence[Pick], origins: Mapping[str, WheelOrigin],
                   lock_name: str) -> tuple[LockedDistribution, ...]:
    """The target lock's distributions for the wheels the lock names, with why each is there."""
    reasons = _reasons(declaration)
    requires = {package.name: package.requires_python for package in declaration.locked}
    return tuple(
        LockedDistribution(_canonical(pick.name), pick.version, pick.filename, origins[pick.filename].location,
                           pick.sha256 or "", pick.size or 0, origins[pick.filename].origin,
                           reasons.get(_canonical(pick.name), (Reason(lock_name, "locked"),)), requires.get(pick.name))
        for pick in named_picks)


def check_fetched(plan: LockPlan, wheels: Sequence[tuple[Path, str]], lock_name: str) -> None:
    """The fetch kept to the plan: each planned wheel is among ``wheels`` (path, sha256) with the planned
    sha256 (where the lock gives one), and there is one wheel per planned or pending distribution."""
    fetched = {path.name: digest for path, digest in wheels}
    for dist in plan.lock.distributions:
        got = fetched.get(dist.filename)
        if got is None:
            raise ResolveError(f"{dist.filename}, which {lock_name} names for {plan.lock.target}, was not fetched; "
                               "report this as a bug")
        if dist.sha256 and got != dist.sha256:
            raise ResolveError(f"{dist.filename} does not match the sha256 in {lock_name}\n"
                               f"    fetched {got}, locked {dist.sha256}")
    expected = len(plan.lock.distributions) + len(plan.pending)
    if len(fetched) != expected:
        raise ResolveError(f"fetching what {lock_name} locks gave {len(fetched)} wheels, not {expected}; "
                           "report this as a bug")


def check_agrees(plan: LockPlan, final: TargetLock) -> None:
    """The target lock read from the fetched wheels' metadata agrees with the plan: each planned distribution
    it holds has the locked version (a wheel whose metadata says otherwise is not the locked release)."""
    for dist in final.distributions:
        planned = plan.lock.get(dist.name)
        if planned is not None and _version(planned.version) != _version(dist.version):
            raise ResolveError(f"{dist.filename} holds {dist.name} {dist.version}, but {plan.lock.source} locks "
                               f"{planned.version}\n    the file and the lock disagree: lock it again")


def _version(text: str) -> object:

    try:
        return Version(text)
    except InvalidVersion:
        return text


def _reasons(declaration: Declaration) -> dict[str, tuple[Reason, ...]]:
    """Why each locked distribution is there, as the lock says before anything is fetched: the project's
    requirement that names it, or the locked packages whose dependencies name it (uv.lock records them)."""
    found: dict[str, list[Reason]] = {}
    if declaration.roots is not None:
        for line in declaration.roots.lines:
            name = _requirement_name(line)
            if name:
                found.setdefault(name, []).append(Reason(declaration.roots.shown, line))
    for package in declaration.locked:
        for dependency in package.dependencies:
            found.setdefault(_canonical(dependency), []).append(
                Reason(f"{_canonical(package.name)} {package.version}", dependency))
    return {name: tuple(reasons) for name, reasons in found.items()}


def _requirement_name(line: str) -> str:

    try:
        return _canonical(Requirement(line).name)
    except InvalidRequirement:
        return ""


def _canonical(name: str) -> str:

    return str(canonicalize_name(name))


def _pick(package: LockedPackage, filename: str, url: str, sha256: str | None, size: int | None) -> Pick:
    return Pick(package.name, package.version, filename, url, sha256, size)


def _uri(location: str) -> str:
    return location if "://" in location or not location else Path(location).as_uri()


def _allows(specifier: str, version: str) -> bool:

    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip and uv do with a Requires-Python they cannot read


def _tags(filename: str) -> list[object]:

    try:
        return list(parse_wheel_filename(filename)[3])
    except ValueError:
        return []


def shown_location(location: str, project_dir: Path) -> str:
    """A URL as it is; a local file relative to the project when it is inside it (the same on every machine)."""
    if location.startswith("file:"):

        location = urllib.request.url2pathname(urllib.parse.urlsplit(location).path)
    if "://" in location:
        return redact(location)
    try:
        return Path(location).resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return Path(location).as_posix()
