"""Which file the layer's dependencies come from, and pyproject.toml's dependencies as requirement lines.

Named by the ``requirements`` setting, or searched in this order: ``requirements.txt``, ``pylock.toml``,
``uv.lock``, ``poetry.lock``, ``Pipfile.lock``, ``pyproject.toml`` (when its ``[project]`` table lists
``dependencies``, or, without poetry.lock, when ``[tool.poetry.dependencies]`` names more than ``python``),
``Pipfile``. The locks are read into the target lock as locked; the others are declarations, resolved.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ResolveError, SettingsError
from ..project_paths import regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEARCH_ORDER = ("requirements.txt", "pylock.toml", "uv.lock", "poetry.lock", "Pipfile.lock", "pyproject.toml",
                "Pipfile")
LOCK_KINDS = frozenset({"pylock", "uv.lock", "poetry.lock", "Pipfile.lock"})
_PYLOCK = re.compile(r"^pylock\.(?:[^.]+\.)?toml$")


@dataclass(frozen=True)
class Source:
    """The file the dependencies come from; ``kind`` is "requirements", "pyproject", "poetry" (pyproject.toml's
    [tool.poetry] dependencies), "pipfile" (declarations), "pylock", "uv.lock", "poetry.lock" or "Pipfile.lock"
    (locks)."""

    kind: str
    path: Path
    searched: bool

    @property
    def is_lock(self) -> bool:
        return self.kind in LOCK_KINDS

    def describe(self, project_dir: Path) -> str:
        try:
            shown = self.path.relative_to(project_dir).as_posix()
        except ValueError:
            shown = str(self.path)
        how = "found in the project" if self.searched else "the requirements setting"
        what = {"pyproject": " [project] dependencies", "pylock": " (PEP 751 lock: versions as locked)",
                "uv.lock": " (versions as locked)", "poetry.lock": " (versions as locked)",
                "Pipfile.lock": " (default section, versions as locked)",
                "poetry": " [tool.poetry] dependencies (no poetry.lock: resolved for the target)",
                "pipfile": " [packages] (no Pipfile.lock: resolved for the target)"}.get(self.kind, "")
        return f"dependencies: {shown}{what} ({how})"


#: locks lambda-tasks does not read, and how to turn each into one it does (PEP 751)
UNREAD_LOCKS = {"pdm.lock": "pdm export -f pylock -o pylock.toml"}


def unread_lock(source: Source) -> str | None:
    """A warning when a lock lies beside the declaration being resolved and is not read: one lambda-tasks
    does not read (pdm.lock), or one the search order put after the declaration found (requirements.txt)."""
    if source.is_lock:
        return None
    for name, export in UNREAD_LOCKS.items():
        if (source.path.parent / name).is_file():
            return (f"dependencies: {name} is not read: {source.path.name} is resolved anew, so versions may "
                    f"differ from {name}'s\n    to build as locked: {export}")
    if source.searched:
        for name in SEARCH_ORDER[SEARCH_ORDER.index(source.path.name) + 1:] if source.path.name in SEARCH_ORDER else ():
            if kind_of(Path(name)) in LOCK_KINDS and (source.path.parent / name).is_file():
                return (f"dependencies: {name} is not read: {source.path.name} comes first and is resolved anew, so "
                        f"versions may differ from {name}'s\n    to build as locked: requirements = \"{name}\"")
    return None


def kind_of(path: Path) -> str:
    if path.name == "pyproject.toml":
        return "pyproject"
    if path.name in {"uv.lock", "poetry.lock", "Pipfile.lock"}:
        return path.name
    if path.name == "Pipfile":
        return "pipfile"
    if _PYLOCK.match(path.name):
        return "pylock"
    return "requirements"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None


def find_source(project_dir: Path, requirements: str | None) -> Source | None:
    """The named file (which must exist), or the first of SEARCH_ORDER the project has; None: no dependencies."""
    if requirements:
        path = project_dir / requirements
        if not os.path.lexists(path) or not os.path.exists(path):
            raise ResolveError(f"requirements file {requirements} does not exist; check the requirements setting\n"
                               f"  looked for {path}")
        return Source(_declared_kind(regular_file(path, "requirements file")), path, searched=False)
    for name in SEARCH_ORDER:
        path = project_dir / name
        if not os.path.lexists(path):
            continue
        regular_file(path, "dependency file")  # a directory named requirements.txt is an error, not "none"
        kind = _declared_kind(path)
        if kind == "pyproject" and "dependencies" not in read_toml(path).get("project", {}):
            continue
        return Source(kind, path, searched=True)
    return None


def _declared_kind(path: Path) -> str:
    """pyproject.toml without [project] dependencies but with Poetry's: a Poetry declaration."""
    kind = kind_of(path)
    data = read_toml(path) if kind == "pyproject" else {}
    if kind == "pyproject" and "dependencies" not in data.get("project", {}) and poetry_dependencies(data):
        return "poetry"
    return kind


def poetry_dependencies(data: Mapping[str, Any]) -> dict[str, Any]:
    """``[tool.poetry.dependencies]`` without ``python`` (empty when the project declares none)."""
    table = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    return {name: spec for name, spec in table.items() if _norm(name) != "python"}


def _name(requirement: str) -> str:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return ""


def project_requirements(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> list[str]:
    """``[project] dependencies`` plus the optional-dependencies of ``extras`` and the ``[dependency-groups]``
    named in ``groups`` (PEP 735, include-group followed; uv's legacy ``[tool.uv] dev-dependencies`` are the ``dev``
    group, as uv reads them), as requirement lines. No other ``[tool.*]`` table is read."""
    data = read_toml(path)
    project = data.get("project", {})
    if "dependencies" in project.get("dynamic", []):
        raise SettingsError(f"{path} declares its dependencies dynamic; list them in [project] dependencies"
                            "\n    or name a requirements file or lock file with the requirements setting")
    own = _name(str(project.get("name", ""))) if project.get("name") else None
    optional: dict[str, list[str]] = {_norm(k): list(v) for k, v in project.get("optional-dependencies", {}).items()}
    lines: list[str] = []
    pending = list(project.get("dependencies", []))
    wanted = [_norm(extra) for extra in extras]
    done: set[str] = set()
    while wanted or pending:
        for line in pending:
            name = _name(line)
            if own and name == own:  # a self-reference: ``myapp[cli]`` adds that extra
                # lazy: packaging (~25 ms) is not loaded by a no-op build
                from packaging.requirements import Requirement

                wanted += [_norm(extra) for extra in Requirement(line).extras]
            elif line not in lines:
                lines.append(line)
        pending = []
        if wanted:
            extra = wanted.pop(0)
            if extra in done:
                continue
            done.add(extra)
            if extra not in optional:
                raise SettingsError(f"extra {extra!r} is not in {path} [project.optional-dependencies]"
                                    f"\n    it has: {', '.join(sorted(optional)) or 'none'}")
            pending = optional[extra]
    table = dependency_groups(data)
    for group in groups:
        lines += [line for line in group_lines(table, _norm(group), path, ()) if line not in lines]
    return lines


def dependency_groups(data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``[dependency-groups]`` by normalised name, with uv's legacy ``[tool.uv] dev-dependencies`` in ``dev``
    (uv merges them: ``uv sync --group dev`` and uv.lock's ``dev`` group hold both)."""
    table: dict[str, list[Any]] = {_norm(k): list(v) for k, v in data.get("dependency-groups", {}).items()}
    legacy = data.get("tool", {}).get("uv", {}).get("dev-dependencies")
    if isinstance(legacy, list) and legacy:
        table["dev"] = [*table.get("dev", []), *legacy]
    return table


def group_lines(table: dict[str, list[Any]], group: str, path: Path, seen: tuple[str, ...]) -> list[str]:
    if group not in table:
        raise SettingsError(f"dependency group {group!r} is not in {path} [dependency-groups]"
                            f"\n    it has: {', '.join(sorted(table)) or 'none'}")
    if group in seen:
        raise SettingsError(f"dependency group {group!r} in {path} includes itself")
    lines: list[str] = []
    for item in table[group]:
        if isinstance(item, dict) and "include-group" in item:
            lines += group_lines(table, _norm(str(item["include-group"])), path, (*seen, group))
        elif isinstance(item, str):
            lines.append(item)
    return lines


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
