"""The project's dependency source, read once per build into one value every stage takes.

``plan.py`` calls :func:`declare` once; what it returns is passed to the fingerprint, the resolver, the lock
reader, Chalice's runtime and the closure check, and none of them reads the source again. For a declaration
(requirements.txt with its -r/-c includes, pyproject.toml's ``[project]`` or ``[tool.poetry]``, a Pipfile) it
holds every line as pip reads it, each with where it comes from (``requirements.txt line 3``, ``pyproject.toml
[project]``); the constraints; the index options and ``--find-links`` locations (resolved paths); the ``--hash``
pins; the top-level requirements; the requirements named by path; and the content digest of the source and
of every local input (the files in the find-links locations, the local projects and archives). For a lock
(pylock.toml, uv.lock, poetry.lock, Pipfile.lock) it holds the digest of the lock, of the declaration beside
it and of the directories it builds from; its locked packages for the target (markers evaluated, staleness
checked) and its roots are parsed once, when a stage first asks (a build whose layers are up to date never
does: a no-op build stays near start-up time). Nothing here rewrites a source into another format: the installer
writes its own input file for pip or uv from these lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import ResolveError
from ..files import file_sha256, tree_digest
from ..sections import SourceSettings
from .local_inputs import find_links_locations, local_inputs, not_source
from .locks import LockedPackage, read_pylock, read_uv_lock, unhashed_local_files
from .project import Source, find_source, project_requirements, unread_lock
from .requirements import (
    DirectReference,
    Line,
    canonical_name,
    constraint_lines,
    flattened_lines,
    hash_pins,
    included_files,
    index_options,
    option,
    references_of,
    requirements_digest,
    top_level,
)
from .roots import Roots, declared_requirements, lock_declarations, lock_inputs, lock_roots
from .uv_staleness import uv_lock_staleness

#: where a derived declaration's lines come from, as messages name them
_LABELS = {"pyproject": "[project]", "poetry": "[tool.poetry]", "pipfile": "[packages]"}


@dataclass(frozen=True)
class Declaration:
    """What the project declares, read once: see the module's docstring. ``source`` None: it declares nothing."""

    source: Source | None
    shown: str  # the source's path relative to the project, as messages name it
    lines: tuple[Line, ...] = ()  # a declaration's lines as pip reads them (-r put in place, -c/-f paths absolute)
    constraints: tuple[Line, ...] = ()  # the lines of the -c files (their --hash pins count)
    references: tuple[DirectReference, ...] = ()  # the requirements named by location
    pins: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)  # name -> algorithm -> hex
    digest: str | None = None  # the source's content (with what it includes, or the lock and its declaration)
    find_links: tuple[Path, ...] = ()  # local --find-links locations (the lines, pip_args, PIP_FIND_LINKS)
    local_inputs: str = "{}"  # JSON: the local inputs' contents, named portably (sources/local_inputs.py)
    declared_roots: Roots | None = None  # a declaration's top-level requirements
    #: a lock: the sections it is read for (target, extras, groups). Its packages and the declaration beside it
    #: are parsed once, when a stage first asks (a build whose layers are up to date never does)
    lock_for: SourceSettings | None = None
    #: every file read or looked for to make this value, there or not (the source, what it includes, the
    #: declaration beside a lock, the local find-links locations named but absent): the no-op stamp's inputs
    watched: tuple[Path, ...] = ()

    @cached_property
    def roots(self) -> Roots | None:
        """The closure check's roots (None: a lock that records none)."""
        if self.lock_for is None or self.source is None:
            return self.declared_roots
        settings = self.lock_for
        return lock_roots(self.source, settings.target.marker_environment(), settings.extras, settings.groups)

    @cached_property
    def app_roots(self) -> tuple[str, ...] | None:
        """The app's own top-level requirements (None: the lock does not say)."""
        if self.lock_for is None or self.source is None:
            return self.declared_roots.lines if self.declared_roots is not None else ()
        pyproject = self.source.path.parent / "pyproject.toml"
        if self.source.kind == "uv.lock" and pyproject.is_file():
            return tuple(project_requirements(pyproject, self.lock_for.extras, self.lock_for.groups))
        return None

    @cached_property
    def locked(self) -> tuple[LockedPackage, ...]:
        """A lock's packages for the target (markers evaluated, the lock's staleness checked); () otherwise."""
        if self.lock_for is None or self.source is None:
            return ()
        _ = self.roots  # first: the declaration's own errors (an unknown group) name the declaration
        settings = self.lock_for
        return tuple(locked_packages(self.source, settings.target.marker_environment(), settings.extras,
                                     settings.groups, settings.project_dir))

    @cached_property
    def unread_lock(self) -> str | None:
        """A warning: a lock lambda-tasks does not read (pdm.lock) lies beside the declaration it resolves."""
        return unread_lock(self.source) if self.source is not None else None

    @property
    def is_lock(self) -> bool:
        return self.source is not None and self.source.is_lock

    @property
    def texts(self) -> list[str]:
        """The lines' text, as a requirements file for pip or uv holds them."""
        return [line.text for line in self.lines]

    @property
    def index_options(self) -> list[str]:
        return index_options(self.lines)

    @property
    def has_requirements(self) -> bool:
        """True when some line asks for a package (not only options)."""
        return any(not line.text.startswith("-") or (option(line.text) or ("", ""))[0] in {"-e", "--editable"}
                   for line in self.lines)

    def pins_of(self, requirement: str) -> list[str]:
        """The ``--hash`` pins (``sha256:<hex>``) of the distribution ``requirement`` names."""
        match = re.match(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)", requirement)
        if match is None:
            return []
        wanted = self.pins.get(canonical_name(match.group(1)), {})
        return [f"{algorithm}:{digest}" for algorithm in sorted(wanted) for digest in sorted(wanted[algorithm])]

    def describe(self, project_dir: Path) -> str:
        return self.source.describe(project_dir) if self.source is not None else "dependencies: none declared"


def declare(sources: SourceSettings, pip_args: Sequence[str]) -> Declaration:
    """Read the project's dependency source (the ``requirements`` setting, else the first found) once."""
    return declare_source(find_source(sources.project_dir, sources.requirements), sources, pip_args)


def declare_source(source: Source | None, sources: SourceSettings, pip_args: Sequence[str]) -> Declaration:
    """:func:`declare` for the source already found (``sources/project.find_source``)."""
    if source is None:
        shown = sources.requirements or "requirements.txt"
        absent: list[Path] = []
        found = find_links_locations((), pip_args, sources.project_dir, absent=absent)
        return Declaration(None, shown, find_links=tuple(found), declared_roots=Roots((), shown),
                           local_inputs=_json(local_inputs(found, (), sources.project_dir)), watched=tuple(absent))
    if source.is_lock:
        return _lock(source, sources, pip_args)
    environment = sources.target.marker_environment()
    watched = [source.path]
    if source.kind == "requirements":
        lines = flattened_lines(source.path)
        missing: list[Path] = []
        files = included_files(source.path, missing)
        digest = requirements_digest(source.path, files)
        watched = [*files, *missing]
    else:
        label = f"{source.path.name} {_LABELS[source.kind]}"
        texts = declared_requirements(source, environment, sources.extras, sources.groups)
        lines = [Line(source.path, number, text, label) for number, text in enumerate(texts, 1)]
        digest = hashlib.sha256("".join(f"{text}\n" for text in texts).encode()).hexdigest()
    constraints = constraint_lines(lines)
    references = references_of(lines)
    absent = []
    found = find_links_locations(lines, pip_args, sources.project_dir, absent=absent)
    top, unnamed = top_level(lines)
    return Declaration(
        source, _shown(source, sources.project_dir), tuple(lines), tuple(constraints), tuple(references),
        hash_pins([*lines, *constraints]), digest, tuple(found),
        _json(local_inputs(found, references, sources.project_dir)),
        Roots(tuple(top), source.path.name, unnamed), watched=(*watched, *absent))


def _lock(source: Source, sources: SourceSettings, pip_args: Sequence[str]) -> Declaration:
    """A lock: the digest of its files and of what it builds from; its packages and roots when first asked."""
    files, directories = lock_inputs(source)
    digest = hashlib.sha256(json.dumps([(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
                                        for path in files]).encode()).hexdigest()
    absent: list[Path] = []
    found = find_links_locations((), pip_args, sources.project_dir, absent=absent)
    inputs = local_inputs(found, (), sources.project_dir)
    # a lock's local packages are built from their directories: their files are inputs too
    inputs["directories"] = [[Path(os.path.relpath(d, sources.project_dir)).as_posix(), tree_digest(d, skip=not_source)]
                             for d in directories if d.is_dir()]
    # a local wheel the lock names without a hash: the lock does not change when it does
    unhashed = [path for path in unhashed_local_files(source.path) if path.is_file()] if source.kind in {
        "uv.lock", "pylock"} else []
    if unhashed:
        inputs["unhashed_files"] = [[Path(os.path.relpath(path, sources.project_dir)).as_posix(), file_sha256(path)]
                                    for path in unhashed]
    return Declaration(source, _shown(source, sources.project_dir), digest=digest, find_links=tuple(found),
                       local_inputs=_json(inputs), lock_for=sources,
                       watched=(*lock_declarations(source), *unhashed, *absent))


def _shown(source: Source, project_dir: Path) -> str:
    """The source as messages name it: relative to the project when inside it (``reqs/prod.txt``)."""
    path = source.path.resolve()
    project = project_dir.resolve()
    return path.relative_to(project).as_posix() if path.is_relative_to(project) else str(source.path)


def _json(data: object) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def locked_packages(source: Source, environment: Mapping[str, str], extras: Sequence[str] = (),
                    groups: Sequence[str] = (), project_dir: Path | None = None) -> list[LockedPackage]:
    """What the lock installs on the target; a lock older than the declaration beside it, or one that gives
    the target two versions of a distribution, is an error."""
    packages = _locked_packages(source, environment, extras, groups, project_dir)
    versions: dict[str, list[str]] = {}
    for package in packages:
        versions.setdefault(canonical_name(package.name), []).append(package.version)
    twice = {name: found for name, found in versions.items() if len(found) > 1}
    if twice:
        name, found = sorted(twice.items())[0]
        raise ResolveError(f"{source.path.name} gives the target {name} twice ({', '.join(found)}): the markers of "
                           "its entries overlap\n    one version per distribution installs; lock it again with "
                           "the tool that made it")
    return packages


def _locked_packages(source: Source, environment: Mapping[str, str], extras: Sequence[str],
                     groups: Sequence[str], project_dir: Path | None) -> list[LockedPackage]:
    path, kind = source.path, source.kind
    if kind == "pylock":
        return read_pylock(path, environment, extras, groups)
    if kind == "poetry.lock":
        # lazy: only the reader of the project's own kind of lock loads (a no-op build's start-up time)
        from .poetry_lock import poetry_staleness, read_poetry_lock

        if poetry_staleness(path, path.parent / "pyproject.toml"):
            raise ResolveError(f"{path.name} is out of date: pyproject.toml changed since it was locked (its "
                               "content-hash differs); run `poetry lock` to update it")
        return read_poetry_lock(path, environment, extras, groups)
    if kind == "Pipfile.lock":
        # lazy: only the reader of the project's own kind of lock loads (a no-op build's start-up time)
        from .pipfile import pipfile_staleness, read_pipfile_lock

        if pipfile_staleness(path, path.parent / "Pipfile"):
            raise ResolveError(f"{path.name} is out of date: the Pipfile changed since it was locked (its hash "
                               "differs); run `pipenv lock` to update it")
        return read_pipfile_lock(path, environment, groups)
    stale = uv_lock_staleness(path, path.parent / "pyproject.toml")
    if stale:
        raise ResolveError(f"{path.name} is out of date: pyproject.toml's {stale} changed since it was locked; "
                           "run `uv lock` to update it")
    return read_uv_lock(path, environment, extras, groups, project_dir)

