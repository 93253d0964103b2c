"""The project's dependency source, read once per build into one value every stage takes.

``plan.py`` calls :func:`declare` once; what it returns is passed to the fingerprint, the resolver, the lock
reader, Chalice's runtime and the closure check, and none of them reads the source again. For a declaration
(requirements.txt with its -r/-c includes, pyproject.toml's ``[project]`` or ``[tool.poetry]``, a Pipfile) it
holds every line as pip reads it, each with where it comes from (``requirements.txt line 3``, ``pyproject.toml
[project]``); the constraints; the index options and ``--find-links`` locations (resolved paths); the ``--hash``
pins; the top-level requirements; the requirements named by path; and the content digest of the source and
of every local input (the files in the find-links locations, the local projects and archives). For a lock
(pylock.toml, uv.lock, poetry.lock, Pipfile.lock) it holds the locked packages for the target (markers
evaluated, staleness checked), the declaration beside it that gives its roots, and the digest of those files
and of the directories it builds from. Nothing here rewrites a source into another format: the installer
writes its own input file for pip or uv from these lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ResolveError
from ..files import tree_digest
from ..sections import SourceSettings
from .local_inputs import find_links_locations, local_inputs, not_source
from .locks import LockedPackage, read_pylock, read_uv_lock, uv_lock_staleness
from .project import Source, find_source, project_requirements
from .requirements import (
    DirectReference,
    Line,
    check_requirements,
    constraint_lines,
    flattened_lines,
    hash_pins,
    index_options,
    option,
    references_of,
    requirements_digest,
    top_level,
)
from .roots import Roots, declared_requirements, lock_inputs, lock_roots

#: where a derived declaration's lines come from, as messages name them
_LABELS = {"pyproject": "[project]", "poetry": "[tool.poetry]", "pipfile": "[packages]"}


@dataclass(frozen=True)
class Declaration:
    """What the project declares, read once: see the module's docstring. ``source`` None: it declares nothing."""

    source: Source | None
    shown: str  # the source's file name, as messages name it
    lines: tuple[Line, ...] = ()  # a declaration's lines as pip reads them (-r put in place, -c/-f paths absolute)
    constraints: tuple[Line, ...] = ()  # the lines of the -c files (their --hash pins count)
    references: tuple[DirectReference, ...] = ()  # the requirements named by location
    pins: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)  # name -> algorithm -> hex
    digest: str | None = None  # the source's content (with what it includes, or the lock and its declaration)
    find_links: tuple[Path, ...] = ()  # local --find-links locations (the lines, pip_args, PIP_FIND_LINKS)
    local_inputs: str = "{}"  # JSON: the local inputs' contents, named portably (sources/local_inputs.py)
    roots: Roots | None = None  # the closure check's roots (None: a lock that records none)
    app_roots: tuple[str, ...] | None = None  # the app's own top-level requirements (None: not known)
    locked: tuple[LockedPackage, ...] = ()  # a lock's packages for the target

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
        # lazy: packaging (~25 ms) is not loaded by a no-op build
        from packaging.utils import canonicalize_name

        match = re.match(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)", requirement)
        if match is None:
            return []
        wanted = self.pins.get(str(canonicalize_name(match.group(1))), {})
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
        found = find_links_locations((), pip_args, sources.project_dir)
        return Declaration(None, shown, find_links=tuple(found), roots=Roots((), shown), app_roots=(),
                           local_inputs=_json(local_inputs(found, (), sources.project_dir)))
    if source.is_lock:
        return _lock(source, sources, pip_args)
    environment = sources.target.marker_environment()
    if source.kind == "requirements":
        lines = flattened_lines(source.path)
        digest = requirements_digest(source.path)
    else:
        label = f"{source.path.name} {_LABELS[source.kind]}"
        texts = declared_requirements(source, environment, sources.extras, sources.groups)
        lines = [Line(source.path, number, text, label) for number, text in enumerate(texts, 1)]
        digest = hashlib.sha256("".join(f"{text}\n" for text in texts).encode()).hexdigest()
    check_requirements(lines)  # before pip, whose parser takes some lines the dependency check cannot
    constraints = constraint_lines(lines)
    references = references_of(lines)
    found = find_links_locations(lines, pip_args, sources.project_dir)
    top, unnamed = top_level(lines)
    return Declaration(
        source, source.path.name, tuple(lines), tuple(constraints), tuple(references),
        hash_pins([*lines, *constraints]), digest, tuple(found),
        _json(local_inputs(found, references, sources.project_dir)),
        Roots(tuple(top), source.path.name, unnamed), tuple(top))


def _lock(source: Source, sources: SourceSettings, pip_args: Sequence[str]) -> Declaration:
    """A lock: its packages for the target, its roots, the digest of its files and of what it builds from."""
    environment = sources.target.marker_environment()
    roots = lock_roots(source, environment, sources.extras, sources.groups)  # first: the declaration's errors
    packages = locked_packages(source, environment, sources.extras, sources.groups)
    files, directories = lock_inputs(source)
    digest = hashlib.sha256(json.dumps([(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
                                        for path in files]).encode()).hexdigest()
    found = find_links_locations((), pip_args, sources.project_dir)
    inputs = local_inputs(found, (), sources.project_dir)
    # a lock's local packages are built from their directories: their files are inputs too
    inputs["directories"] = [[Path(os.path.relpath(d, sources.project_dir)).as_posix(), tree_digest(d, skip=not_source)]
                             for d in directories if d.is_dir()]
    pyproject = source.path.parent / "pyproject.toml"
    app_roots = tuple(project_requirements(pyproject, sources.extras, sources.groups)) \
        if source.kind == "uv.lock" and pyproject.is_file() else None
    return Declaration(source, source.path.name, digest=digest, find_links=tuple(found), local_inputs=_json(inputs),
                       roots=roots, app_roots=app_roots, locked=tuple(packages))


def _json(data: object) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def locked_packages(source: Source, environment: Mapping[str, str], extras: Sequence[str] = (),
                    groups: Sequence[str] = ()) -> list[LockedPackage]:
    """What the lock installs on the target; a lock older than the declaration beside it is an error."""
    path, kind = source.path, source.kind
    if kind == "pylock":
        return read_pylock(path, environment, extras, groups)
    if kind == "poetry.lock":
        # lazy: read for a poetry.lock only
        from .poetry_lock import poetry_staleness, read_poetry_lock

        if poetry_staleness(path, path.parent / "pyproject.toml"):
            raise ResolveError(f"{path.name} is out of date: pyproject.toml changed since it was locked (its "
                               "content-hash differs); run `poetry lock` to update it")
        return read_poetry_lock(path, environment, extras, groups)
    if kind == "Pipfile.lock":
        # lazy: read for a Pipfile.lock only
        from .pipfile import pipfile_staleness, read_pipfile_lock

        if pipfile_staleness(path, path.parent / "Pipfile"):
            raise ResolveError(f"{path.name} is out of date: the Pipfile changed since it was locked (its hash "
                               "differs); run `pipenv lock` to update it")
        return read_pipfile_lock(path, environment, groups)
    stale = uv_lock_staleness(path, path.parent / "pyproject.toml")
    if stale:
        raise ResolveError(f"{path.name} is out of date: pyproject.toml's {stale} changed since it was locked; "
                           "run `uv lock` to update it")
    return read_uv_lock(path, environment, extras, groups)

