"""Whether uv.lock still matches the pyproject.toml beside it, as ``uv lock --check`` decides, read without uv.

uv records what it locked from in the root package's ``[package.metadata]``: ``requires-dist`` (the
dependencies and optional dependencies, each with the source ``[tool.uv.sources]`` gave it: an index URL, a URL,
a git repository, a path), ``requires-dev`` (the dependency groups, ``include-group`` expanded, uv's legacy
``[tool.uv] dev-dependencies`` as the ``dev`` group), and in ``[manifest]`` the ``constraint-dependencies`` and
``override-dependencies``. Each is compared with pyproject.toml; a difference names the table that changed.

Not compared (one line each in docs/lock-files.md): the markers of the requirements (the closure check holds the
shipped distributions to pyproject.toml's markers on the target), ``requires-python`` (uv rewrites it, ``~=3.10``
as ``>=3.10, <4``; the target is checked against the lock's instead), a git source's branch, tag or commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .locks import uv_root
from .project import _norm, dependency_groups, group_lines, read_toml

#: where a requires-dist entry of uv.lock says the requirement comes from, in the order uv writes them
_LOCKED_SOURCES = ("index", "url", "git", "path", "directory", "editable")


def uv_lock_staleness(lock: Path, pyproject: Path) -> str | None:
    """Which table of pyproject.toml changed since uv.lock was made (None when none did)."""
    if not pyproject.is_file():
        return None
    project = read_toml(pyproject)
    data = read_toml(lock)
    meta = uv_root(data, lock).get("metadata", {})
    uv = project.get("tool", {}).get("uv", {})
    sources = _declared_sources(uv)
    table = project.get("project", {})
    now = _wanted(table.get("dependencies", []), None, sources)
    for extra, lines in table.get("optional-dependencies", {}).items():
        now |= _wanted(lines, _norm(extra), sources)
    locked = _locked(meta.get("requires-dist", []), True)
    if now != locked:
        same_but_sources = {key[:-1] for key in now} == {key[:-1] for key in locked}
        return "[project] dependencies" + (" ([tool.uv.sources])" if same_but_sources else "")
    groups = dependency_groups(project)
    recorded = {_norm(k): v for k, v in meta.get("requires-dev", {}).items()}
    for group in sorted(set(groups) | set(recorded)):
        lines = group_lines(groups, group, pyproject, ()) if group in groups else []
        if _wanted(lines, None, sources) != _locked(recorded.get(group, []), False):
            return f"[dependency-groups] {group}"
    manifest = data.get("manifest", {})
    for key, setting in (("constraints", "constraint-dependencies"), ("overrides", "override-dependencies")):
        if _pins(uv.get(setting, [])) != _locked_pins(manifest.get(key, [])):
            return f"[tool.uv] {setting}"
    return None


def _key(name: str, extras: Sequence[str], specifier: str, extra: str | None, source: str) -> tuple[str, ...]:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.specifiers import SpecifierSet

    return (_norm(name), ",".join(sorted(_norm(x) for x in extras)), str(SpecifierSet(specifier)), extra or "",
            source)


def _wanted(lines: Sequence[Any], extra: str | None, sources: Mapping[str, str]) -> set[tuple[str, ...]]:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import Requirement

    out = set()
    for line in lines:
        if not isinstance(line, str):
            continue
        requirement = Requirement(line)
        url = requirement.url
        source = sources.get(_norm(requirement.name), "") if url is None else _source("url", url)
        out.add(_key(requirement.name, sorted(requirement.extras), str(requirement.specifier), extra, source))
    return out


def _locked(entries: Sequence[Mapping[str, Any]], by_extra: bool) -> set[tuple[str, ...]]:
    out = set()
    for entry in entries:
        marker = str(entry.get("marker", ""))
        extra = marker.split("extra == '", 1)[1].split("'", 1)[0] if by_extra and "extra == '" in marker else None
        out.add(_key(entry["name"], entry.get("extras", []), str(entry.get("specifier", "")), extra,
                     _locked_source(entry)))
    return out


def _locked_source(entry: Mapping[str, Any]) -> str:
    """A requires-dist entry's source as :func:`_declared_sources` spells it ("" for the default index)."""
    for key in _LOCKED_SOURCES:
        if key in entry:
            return _source(key, str(entry[key]))
    return ""


def _declared_sources(uv: Mapping[str, Any]) -> dict[str, str]:
    """``[tool.uv.sources]``: name -> where it comes from (several, with markers, joined)."""
    indexes = {str(index.get("name")): str(index.get("url", "")) for index in uv.get("index", [])}
    found = {}
    for name, spec in uv.get("sources", {}).items():
        tables = spec if isinstance(spec, list) else [spec]
        kinds = set()
        for table in tables:
            if not isinstance(table, Mapping):
                continue
            if "index" in table:
                kinds.add(_source("index", indexes.get(str(table["index"]), str(table["index"]))))
            elif "workspace" in table:
                kinds.add(_source("path", ""))
            else:
                key = next((k for k in ("url", "git", "path") if k in table), "")
                kinds.add(_source(key, str(table.get(key, ""))) if key else "")
        found[_norm(name)] = " | ".join(sorted(kinds))
    return found


def _source(key: str, value: str) -> str:
    """One source, comparable between the lock and pyproject.toml: the index's or file's URL, the git repository
    (without its reference), or "path" (uv writes a path, a directory or an editable one, relative or not)."""
    if key in {"path", "directory", "editable"}:
        return "path"
    if key == "url" and value.startswith("file:"):
        return "path"
    if key == "index" and (value.startswith("file:") or "://" not in value):
        return "index (local)"  # uv writes a local index as an absolute file: URL, pyproject.toml as it likes
    if key == "url" and value.startswith("git+"):
        key = "git"
    if key == "git":  # the repository alone: uv writes ``?rev=main``, a PEP 508 URL ``@main``
        value = value.removeprefix("git+").split("?", 1)[0].split("#", 1)[0]
        head, _, tail = value.rpartition("/")
        value = f"{head}/{tail.split('@', 1)[0]}".removesuffix(".git")
    return f"{key} {value.rstrip('/')}"


def _pins(lines: Sequence[Any]) -> set[tuple[str, ...]]:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import Requirement

    return {_key(r.name, (), str(r.specifier), None, "") for r in (Requirement(line) for line in lines
                                                                     if isinstance(line, str))}


def _locked_pins(entries: Sequence[Mapping[str, Any]]) -> set[tuple[str, ...]]:
    return {_key(str(entry["name"]), (), str(entry.get("specifier", "")), None, "") for entry in entries}
