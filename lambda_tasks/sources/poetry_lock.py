"""poetry.lock as data, read as TOML (Poetry need not be installed).

A Poetry lock has no entry for the project itself: what ships is found by walking the lock from the project's
own requirements in pyproject.toml (``[project] dependencies``, or ``[tool.poetry.dependencies]`` for a
Poetry 1 project; the optional ones only for the chosen ``extras``; groups from ``[tool.poetry.group.<name>]``,
``[tool.poetry.dev-dependencies]`` or ``[dependency-groups]`` only when named by ``groups``) through each
package's ``[package.dependencies]``, with every marker evaluated for the target. This reads every lock
version alike (Poetry 1's ``category``, Poetry 2's ``groups``). Poetry lists files by name only: the wheel
is chosen from the names and fetched from the index with its hash checked (``resolve/lockfile.py``).

Staleness is Poetry's own test: ``[metadata] content-hash`` is the sha256 of the relevant keys of
pyproject.toml (``Locker._get_content_hash`` in Poetry 1.2+ and 2.x, the same function for both layouts).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from .locks import LockedFile, LockedPackage, evaluate_any, git_requirement
from .project import _norm, read_toml

_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_RELEVANT_KEYS = (*_LEGACY_KEYS, "group")
_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def content_hash(pyproject: Mapping[str, Any]) -> str:
    """Poetry's content-hash of a parsed pyproject.toml."""
    project = pyproject.get("project", {})
    poetry = pyproject.get("tool", {}).get("poetry", {})
    relevant_project = {key: project[key] for key in _PROJECT_KEYS if project.get(key) is not None}
    relevant_poetry = {}
    for key in _RELEVANT_KEYS:
        value = poetry.get(key)
        if value is None and (key not in _LEGACY_KEYS or relevant_project):
            continue
        relevant_poetry[key] = value
    content: Mapping[str, Any] = relevant_poetry
    if relevant_project:
        content = {"project": relevant_project, "tool": {"poetry": relevant_poetry}}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def poetry_staleness(lock: Path, pyproject: Path) -> bool:
    """True when pyproject.toml changed since poetry.lock was made (its content-hash no longer matches)."""
    recorded = read_toml(lock).get("metadata", {}).get("content-hash")
    return bool(recorded) and pyproject.is_file() and recorded != content_hash(read_toml(pyproject))


def python_allows(constraint: str, version: str) -> bool:
    """Whether a Poetry version constraint (``^3.8``, ``~3.9``, ``>=3.8,<4``, ``3.9.*``, ``a || b``) allows
    ``version``."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    for alternative in poetry_specifiers(constraint):
        try:
            if SpecifierSet(alternative).contains(version, prereleases=True):
                return True
        except InvalidSpecifier:
            return True  # not a constraint we can read: Poetry decided when it locked
    return False


def poetry_specifiers(constraint: str) -> list[str]:
    """A Poetry version constraint as PEP 440 specifier sets, one per ``||`` alternative. Carets and tildes are
    Poetry's: ``^1.2`` is ``>=1.2,<2``, ``^0.2`` is ``>=0.2,<0.3``, ``~1.2`` is ``>=1.2,<1.3``."""
    alternatives = []
    for alternative in re.split(r"\s*\|\|?\s*", constraint.strip()):
        specifiers: list[str] = []
        for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", alternative.strip()):
            part = part.replace(" ", "")
            if part in {"", "*"}:
                continue
            if part[0] in "^~" and not part.startswith("~="):
                numbers = [int(n) for n in re.findall(r"\d+", part)] or [0]
                if part[0] == "^":
                    index = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
                else:
                    index = 1 if len(numbers) > 1 else 0
                upper = [*numbers[:index], numbers[index] + 1]
                specifiers += [f">={'.'.join(map(str, numbers))}", f"<{'.'.join(map(str, upper))}"]
            else:
                specifiers.append(part if part[0] in "<>=!~" else f"=={part}")
        alternatives.append(",".join(specifiers))
    return alternatives


def _tables(spec: Any) -> list[Mapping[str, Any]]:
    """A Poetry dependency (``"^1.0"``, a table, or a list of tables for several markers) as tables."""
    if isinstance(spec, list):
        return [s if isinstance(s, Mapping) else {"version": s} for s in spec]
    return [spec if isinstance(spec, Mapping) else {"version": spec}]


def _holds(table: Mapping[str, Any], environment: Mapping[str, str], extras: Sequence[str] = ()) -> bool:
    """A Poetry dependency table's conditions (``markers``, ``python``, ``platform``) on the target."""
    if "python" in table and not python_allows(str(table["python"]), environment["python_full_version"]):
        return False
    if "platform" in table and str(table["platform"]) != environment["sys_platform"]:
        return False
    return evaluate_any(table.get("markers"), environment, extras)


def _roots(data: Mapping[str, Any], path: Path, environment: Mapping[str, str], extras: Sequence[str],
           groups: Sequence[str]) -> list[tuple[str, tuple[str, ...], Mapping[str, Any]]]:
    """The project's own requirements that hold on the target: (name, extras asked of it, the requirement)."""
    project = data.get("project", {})
    poetry = data.get("tool", {}).get("poetry", {})
    roots = _Roots(environment, extras, _norm(str(project.get("name") or poetry.get("name") or "")))
    if "dependencies" in project:
        roots.add_lines(project["dependencies"])
        optional = {_norm(k): v for k, v in project.get("optional-dependencies", {}).items()}
        for extra in extras:
            roots.add_lines(optional[_known(extra, optional, path, "[project.optional-dependencies]")])
    else:
        named = {_norm(k): v for k, v in poetry.get("extras", {}).items()}
        wanted = [_known(extra, named, path, "[tool.poetry.extras]") for extra in extras]
        roots.add_tables(poetry.get("dependencies", {}), frozenset(_norm(n) for e in wanted for n in named[e]))
    tables = {_norm(k): v.get("dependencies", {}) for k, v in poetry.get("group", {}).items()}
    if "dev-dependencies" in poetry:
        tables.setdefault("dev", poetry["dev-dependencies"])
    standard = {_norm(k): v for k, v in data.get("dependency-groups", {}).items()}
    for group in groups:
        if _norm(group) in tables:
            roots.add_tables(tables[_norm(group)], frozenset())
        elif _norm(group) in standard:
            roots.add_lines(standard[_norm(group)])
        else:
            known = sorted({*tables, *standard})
            raise SettingsError(f"dependency group {group!r} is not in {path}"
                                f"\n    it has: {', '.join(known) or 'none'} (the main dependencies always ship)")
    return roots.found


def _known(extra: str, declared: Mapping[str, Any], path: Path, table: str) -> str:
    """``extra``'s normalised name, or SettingsError when ``table`` of ``path`` does not declare it."""
    if _norm(extra) not in declared:
        raise SettingsError(f"extra {extra!r} is not in {path} {table}"
                            f"\n    it has: {', '.join(sorted(declared)) or 'none'}")
    return _norm(extra)


@dataclass
class _Roots:
    """The roots found so far, from PEP 508 lines or Poetry's tables, those that hold on the target."""

    environment: Mapping[str, str]
    extras: Sequence[str]
    own: str  # the project's own name: a requirement on it (an extra of itself) is not a root
    #: (name, extras asked of it, the requirement as an edge: its ``version`` picks among several locked entries)
    found: list[tuple[str, tuple[str, ...], Mapping[str, Any]]] = field(default_factory=list)

    def add_lines(self, lines: Sequence[Any]) -> None:
        # lazy: packaging (~25 ms) is not loaded by a no-op build
        from packaging.requirements import Requirement

        for line in lines:
            if isinstance(line, str):
                requirement = Requirement(line)
                holds = requirement.marker is None or evaluate_any(str(requirement.marker), self.environment,
                                                                   self.extras)
                if holds and _norm(requirement.name) != self.own:
                    edge = {"version": str(requirement.specifier)} if requirement.specifier else {}
                    self.found.append((requirement.name, tuple(sorted(requirement.extras)), edge))

    def add_tables(self, table: Mapping[str, Any], optional_ok: frozenset[str]) -> None:
        for name, spec in table.items():
            for item in _tables(spec) if name != "python" else []:
                if item.get("optional") and _norm(name) not in optional_ok:
                    continue
                if _holds(item, self.environment, self.extras):
                    self.found.append((name, tuple(item.get("extras", ())), item))


def poetry_root_lines(pyproject: Path, environment: Mapping[str, str], extras: Sequence[str] = (),
                      groups: Sequence[str] = ()) -> list[str]:
    """The project's requirements on the target as requirement lines (names and extras), for the closure check."""
    return [f"{name}[{','.join(asked)}]" if asked else name
            for name, asked, _ in _roots(read_toml(pyproject), pyproject, environment, extras, groups)]


def read_poetry_lock(path: Path, environment: Mapping[str, str], extras: Sequence[str] = (),
                     groups: Sequence[str] = ()) -> list[LockedPackage]:
    """The packages the project needs on the target, walking poetry.lock from pyproject.toml's requirements."""
    pyproject = path.parent / "pyproject.toml"
    if not pyproject.is_file():
        raise SettingsError(f"{path} has no pyproject.toml beside it; Poetry's lock records no project requirements"
                            "\n    put poetry.lock next to the pyproject.toml it was made from")
    data = read_toml(path)
    python = str(data.get("metadata", {}).get("python-versions", "*"))
    if not python_allows(python, environment["python_full_version"]):
        raise SettingsError(f"{path.name} was locked for Python {python}, which excludes the target's "
                            f"{environment['python_full_version']}"
                            "\n    widen the project's Python requirement and run `poetry lock`")
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for package in data.get("package", []):
        by_name.setdefault(_norm(package["name"]), []).append(package)
    chosen: dict[tuple[str, str], tuple[Mapping[str, Any], set[str]]] = {}
    queue: list[tuple[str, tuple[str, ...], Mapping[str, Any]]] = [
        # a root's own constraint is its edge: with one locked entry per Python (``networkx = [{version = "3.4.2",
        # python = "<3.11"}, {version = ">=3.5", python = ">=3.11"}]``) it picks the target's (Poetry 1 writes no
        # package markers to tell them apart)
        (name, asked, edge) for name, asked, edge in _roots(read_toml(pyproject), pyproject, environment, extras,
                                                            groups)]
    while queue:
        name, asked, edge = queue.pop(0)
        package = _find(by_name, name, edge, environment, extras, path)
        key = (_norm(package["name"]), str(package["version"]))
        first = key not in chosen
        seen = chosen.setdefault(key, (package, set()))[1]
        new = {_norm(x) for x in asked} - seen
        if not first and not new:
            continue
        seen.update(new)
        # an optional dependency is followed once one of the extras that names it is asked for
        enabled = {_norm(found.group(1)) for extra in new
                   for found in map(_NAME.match, _by_extra(package).get(extra, [])) if found}
        for dependency, spec in package.get("dependencies", {}).items():
            for item in _tables(spec):
                if (_norm(dependency) not in enabled) if item.get("optional") else not first:
                    continue
                if _holds(item, environment, sorted(seen)):
                    queue.append((dependency, tuple(item.get("extras", ())), item))
    return [_package(package, path.parent) for package, _ in sorted(chosen.values(), key=lambda p: p[0]["name"])]


def _by_extra(package: Mapping[str, Any]) -> dict[str, list[str]]:
    return {_norm(k): list(v) for k, v in package.get("extras", {}).items()}


def _find(by_name: Mapping[str, list[Mapping[str, Any]]], name: str, edge: Mapping[str, Any],
          environment: Mapping[str, str], extras: Sequence[str], path: Path) -> Mapping[str, Any]:
    """The lock's entry for ``name``; with several (one per marker or version), the one for the target."""
    candidates = by_name.get(_norm(name), [])
    if len(candidates) > 1:
        narrowed = [p for p in candidates if _package_marker_holds(p, environment, extras)]
        version = edge.get("version")
        if version and len(narrowed) > 1:
            narrowed = [p for p in narrowed if python_allows(str(version), str(p["version"]))] or narrowed
        candidates = narrowed or candidates
    if not candidates:
        raise SettingsError(f"{path.name} does not hold {name}, which the project needs; run `poetry lock`")
    return candidates[0]


def _package_marker_holds(package: Mapping[str, Any], environment: Mapping[str, str], extras: Sequence[str]) -> bool:
    markers = package.get("markers")  # Poetry 2: a string, or one per group
    values = list(markers.values()) if isinstance(markers, Mapping) else [markers]
    return any(evaluate_any(value, environment, extras) for value in values)


def _package(package: Mapping[str, Any], base: Path) -> LockedPackage:
    name, version = str(package["name"]), str(package["version"])
    source = package.get("source", {})
    kind, url = source.get("type"), str(source.get("url", ""))
    hashes = {str(f.get("file", "")): str(f.get("hash", "")).partition(":")[2]
              for f in package.get("files", []) if str(f.get("hash", "")).startswith("sha256:")}
    if kind == "directory":
        return LockedPackage(name, version, directory=(base / url).resolve())
    if kind == "git":
        reference = source.get("resolved_reference") or source.get("reference") or ""
        requirement = git_requirement(name, url, reference, source.get("subdirectory"))
        return LockedPackage(name, version, requirement=requirement)
    if kind in {"file", "url"}:
        return _file_package(name, version, url if kind == "url" else str((base / url).resolve()), hashes)
    index = url if kind == "legacy" and url else None  # files by name only: fetched from the index
    return _index_package(name, version, package.get("files", []), hashes, index)


def _file_package(name: str, version: str, location: str, hashes: Mapping[str, str]) -> LockedPackage:
    """A package locked as one file (a path or a URL): a wheel or an sdist."""
    filename = location.rsplit("/", 1)[-1].split("#", 1)[0]
    file = LockedFile(location, filename, hashes.get(filename) or next(iter(hashes.values()), None), None)
    if filename.endswith(".whl"):
        return LockedPackage(name, version, wheels=(file,))
    return LockedPackage(name, version, sdist=file)


def _index_package(name: str, version: str, listed: Sequence[Mapping[str, Any]], hashes: Mapping[str, str],
                   index: str | None) -> LockedPackage:
    """A package whose files the lock names only (with their sha256 where it has one): fetched from the index."""
    files = [LockedFile("", filename, digest or None, None) for filename, digest in hashes.items()]
    files += [LockedFile("", str(f["file"]), None, None) for f in listed if str(f.get("file", "")) not in hashes]
    wheels = tuple(f for f in files if f.filename.endswith(".whl"))
    sdist = next((f for f in files if not f.filename.endswith(".whl")), None)
    return LockedPackage(name, version, wheels, sdist, index=index)
