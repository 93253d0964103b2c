"""Lock files as pure data: pylock.toml (PEP 751) and uv.lock, read without uv.

``locked_packages`` gives the packages the target installs, with their markers already evaluated for it:
for pylock.toml each package's ``marker`` (and the lock's extras / dependency groups); for uv.lock a walk
from the root project's dependencies (plus the chosen extras and groups) through each package's
``dependencies``. The root project (``source = { editable = "." }`` or ``virtual``) is the app: never listed.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ResolveError, SettingsError
from .project import _norm, dependency_groups, read_toml


@dataclass(frozen=True)
class LockedFile:
    """A wheel or sdist of a locked package: where it is (URL, or a path made absolute), its name and hash."""

    location: str
    filename: str
    sha256: str | None
    size: int | None


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    wheels: tuple[LockedFile, ...] = ()
    sdist: LockedFile | None = None
    directory: Path | None = None  # a path dependency: built like a local requirement
    dependencies: tuple[str, ...] = field(default=(), compare=False)
    requirement: str | None = None  # a VCS or archive URL (``name @ git+...@commit``): built like one in requirements
    index: str | None = None  # poetry.lock's files come by name from the index: this one, or the project's
    hashes: tuple[str, ...] = ()  # Pipfile.lock: no file names, any file of name==version with one of these sha256
    requires_python: str | None = None  # as the lock records it (pylock.toml), checked before anything is fetched


def _file(entry: Mapping[str, Any], base: Path, hashes: Mapping[str, str] | None = None) -> LockedFile:
    url = str(entry.get("url") or "")
    location = url or str((base / str(entry.get("path", ""))).resolve())
    filename = str(entry.get("name") or entry.get("filename")
                   or urllib.parse.unquote(location.rsplit("/", 1)[-1].split("#", 1)[0]))
    if hashes is None:
        algorithm, _, digest = str(entry.get("hash", "")).partition(":")
        hashes = {algorithm: digest} if digest else {}
    size = entry.get("size")
    return LockedFile(location, filename, hashes.get("sha256"), int(size) if size is not None else None)


def _evaluate(marker: str | None, environment: Mapping[str, str], **extra: Any) -> bool:
    if not marker:
        return True
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.markers import Marker

    return Marker(marker).evaluate({**environment, **extra})


def evaluate_any(marker: str | None, environment: Mapping[str, str], extras: Sequence[str] = ()) -> bool:
    """``marker`` on the target with no extra or with any one of ``extras`` (``extra == "x"`` for each asked)."""
    return any(_evaluate(marker, environment, extra=extra) for extra in ("", *extras))


def git_requirement(name: str, url: str, commit: str, subdirectory: str | None) -> str:
    """A pip requirement for a locked commit (the commit, not a branch: the lock's exact revision)."""
    scheme = url if url.startswith("git+") else f"git+{url}"
    return _direct(name, f"{scheme}@{commit}", subdirectory)


def _direct(name: str, url: str, subdirectory: str | None) -> str:
    """``name @ url`` (PEP 508); for a file: URL pip's older form ``url#egg=name``, which older pips need."""
    if url.split("+", 1)[-1].startswith("file:"):
        return f"{url}#egg={name}" + (f"&subdirectory={subdirectory}" if subdirectory else "")
    return f"{name} @ {url}" + (f"#subdirectory={subdirectory}" if subdirectory else "")


# -------------------------------------------------------------------------------------------- pylock.toml


def read_pylock(path: Path, environment: Mapping[str, str], extras: Sequence[str] = (),
                groups: Sequence[str] = ()) -> list[LockedPackage]:
    """The packages of a PEP 751 lock whose marker holds on the target (with these extras and groups)."""
    data = read_toml(path)
    _check_pylock(data, path, environment, extras, groups)
    chosen = {**environment, "extras": frozenset(_norm(x) for x in extras),
              "dependency_groups": frozenset(_norm(x) for x in groups) | _synthetic_defaults(data, path)}
    packages = (_pylock_package(package, path, chosen) for package in data.get("packages", []))
    return [package for package in packages if package is not None]


def _synthetic_defaults(data: Mapping[str, Any], path: Path) -> frozenset[str]:
    """The lock's default-groups that stand for the project's own dependencies (PEP 751's "synthetic" groups:
    pdm marks every main package "'default' in dependency_groups"): they always ship. A real dependency group
    (pyproject.toml's, or ``dev``) ships only when the ``groups`` setting names it: never dev by default."""
    defaults = {_norm(str(x)) for x in data.get("default-groups", [])} - {"dev"}
    pyproject = path.parent / "pyproject.toml"
    if defaults and pyproject.is_file():
        project = read_toml(pyproject)
        defaults -= {*dependency_groups(project), *map(_norm, project.get("tool", {}).get("pdm", {})
                                                       .get("dev-dependencies", {}))}
    return frozenset(defaults)


def _check_pylock(data: dict[str, Any], path: Path, environment: Mapping[str, str], extras: Sequence[str],
                  groups: Sequence[str]) -> None:
    """The lock is valid PEP 751, for the target's Python and environment, and locks the extras and groups asked."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.pylock import Pylock, PylockValidationError  # packaging >= 26.0

    try:
        Pylock.from_dict(data)
    except PylockValidationError as error:
        raise SettingsError(f"{path} is not a valid pylock.toml: {error}") from None
    _check_requires_python(data.get("requires-python"), environment["python_full_version"], path.name)
    environments = [str(marker) for marker in data.get("environments", [])]
    if environments and not any(_evaluate(marker, environment) for marker in environments):
        raise SettingsError(f"{path.name} is not locked for this target: none of its environments holds"
                            f"\n    it is for: {' | '.join(environments)}"
                            "\n    lock it for the target (invoke lock --runtime R --arch A), or build for that one")
    for wanted, key in ((extras, "extras"), (groups, "dependency-groups")):
        unknown = sorted({_norm(x) for x in wanted} - {_norm(x) for x in data.get(key, [])})
        if unknown and not data.get(key) and (path.parent / "pyproject.toml").is_file():
            continue  # a lock without markers for them (uv export): pyproject.toml's declaration decides
        if unknown:
            raise SettingsError(f"{path} does not lock the {key} {', '.join(unknown)}"
                                f"\n    it locks: {', '.join(data.get(key, [])) or 'none'}")


def _pylock_package(package: dict[str, Any], path: Path, chosen: dict[str, Any]) -> LockedPackage | None:
    """One [[packages]] entry, None when its marker does not hold for ``chosen`` (the target, extras, groups)."""
    marker = package.get("marker")
    if marker:
        # lazy: packaging (~25 ms) is not loaded by a no-op build
        from packaging.markers import Marker

        if not bool(Marker(marker).evaluate(chosen, context="lock_file")):  # type: ignore[arg-type,unused-ignore]
            return None
    base = path.parent
    wheels = tuple(_file(w, base, w.get("hashes", {})) for w in package.get("wheels", []))
    sdist = _file(package["sdist"], base, package["sdist"].get("hashes", {})) if "sdist" in package else None
    directory = (base / package["directory"]["path"]).resolve() if "directory" in package else None
    name, version = str(package["name"]), str(package.get("version", ""))
    requirement = None
    if "vcs" in package:
        requirement = _pylock_vcs(name, package["vcs"], base, path)
    elif "archive" in package:
        archive = _file(package["archive"], base, package["archive"].get("hashes", {}))
        if archive.filename.endswith(".whl"):
            wheels = (archive,)
        elif package["archive"].get("subdirectory"):
            requirement = _direct(name, _uri(archive.location), package["archive"]["subdirectory"])
        else:
            sdist = archive  # fetched with its hash checked, then built like a locked sdist
    requires_python = package.get("requires-python")
    return LockedPackage(name, version, wheels, sdist, directory, requirement=requirement,
                         requires_python=str(requires_python) if requires_python else None)


def _check_requires_python(specifier: object, version: str, lock: str,
                           way_out: str = "lock it for the target (invoke lock --runtime R)") -> None:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not specifier:
        return
    try:
        allowed = SpecifierSet(str(specifier)).contains(version, prereleases=True)
    except InvalidSpecifier:
        raise SettingsError(f"{lock} has an invalid requires-python {specifier!r}") from None
    if not allowed:
        raise SettingsError(f"{lock} requires Python {specifier}; the target has {version}"
                            f"\n    {way_out}, or build for a runtime it allows")


def _uri(location: str) -> str:
    return location if "://" in location else Path(location).as_uri()


def _pylock_vcs(name: str, vcs: Mapping[str, Any], base: Path, path: Path) -> str:
    if vcs.get("type") != "git":
        raise ResolveError(f"{path.name}: {name} is locked from {vcs.get('type')}, which lambda-tasks cannot fetch"
                           "\n    only git checkouts are built; lock it from an index, an archive or a directory")
    url = str(vcs.get("url") or (base / str(vcs.get("path", ""))).resolve().as_uri())
    return git_requirement(name, url, str(vcs["commit-id"]), vcs.get("subdirectory"))


# ------------------------------------------------------------------------------------------------ uv.lock


def _is_root(package: Mapping[str, Any]) -> bool:
    source = package.get("source", {})
    return bool(source.get("editable") == "." or source.get("virtual") == ".")


def uv_root(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    roots = [p for p in data.get("package", []) if _is_root(p)]
    if not roots:
        raise SettingsError(f"{path} has no root project (source = {{ editable = \".\" }} or virtual); "
                            "run `uv lock` in the project")
    root: dict[str, Any] = roots[0]
    return root


def read_uv_lock(path: Path, environment: Mapping[str, str], extras: Sequence[str] = (),
                 groups: Sequence[str] = (), project_dir: Path | None = None) -> list[LockedPackage]:
    """The packages the root project needs on the target, walking the lock's dependency graph; a workspace's
    lock read from one of its members (``project_dir``) is refused: its root is another project."""
    data = read_toml(path)
    _check_uv_lock(data, path, environment)
    if project_dir is not None:
        _check_not_a_member(data, path, project_dir)
    packages = data.get("package", [])
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(_norm(package["name"]), []).append(package)
    root = uv_root(data, path)
    optional = {_norm(k): v for k, v in root.get("optional-dependencies", {}).items()}
    dev = {_norm(k): v for k, v in root.get("dev-dependencies", {}).items()}
    edges = list(root.get("dependencies", []))
    for wanted, table, what in ((extras, optional, "extra"), (groups, dev, "dependency group")):
        for name in wanted:
            if _norm(name) not in table:
                raise SettingsError(f"{path} locks no {what} {name!r} for {root['name']}"
                                    f"\n    it has: {', '.join(sorted(table)) or 'none'}")
            edges += table[_norm(name)]
    chosen: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
    queue = [(edge, root) for edge in edges]
    while queue:
        edge, parent = queue.pop(0)
        if not _evaluate(edge.get("marker"), environment, extra=""):
            continue
        package = _find(by_name, edge, path, parent)
        if _is_root(package):
            continue
        key = (_norm(package["name"]), str(package.get("version", "")))
        follow: list[dict[str, Any]] = []
        if key not in chosen:
            chosen[key] = (package, set())
            follow += package.get("dependencies", [])
        seen_extras = chosen[key][1]
        for extra in sorted({_norm(x) for x in edge.get("extra", [])} - seen_extras):
            seen_extras.add(extra)
            optional_of = {_norm(k): v for k, v in package.get("optional-dependencies", {}).items()}
            follow += optional_of.get(extra, [])
        queue += [(dependency, package) for dependency in follow]
    return [_uv_package(package, path.parent) for package, _ in sorted(chosen.values(), key=lambda p: p[0]["name"])]


def _check_uv_lock(data: Mapping[str, Any], path: Path, environment: Mapping[str, str]) -> None:
    """The lock was made for the target: its requires-python and its supported-markers hold there."""
    # uv locks for its requires-python only: a marker that excludes those versions is dropped, with its packages
    _check_requires_python(data.get("requires-python"), environment["python_full_version"], path.name,
                           "widen requires-python in pyproject.toml and run `uv lock`")
    # [tool.uv] environments: the lock was resolved for these only, its markers simplified under them
    supported = [str(marker) for marker in data.get("supported-markers", [])]
    if supported and not any(_evaluate(marker, environment) for marker in supported):
        raise SettingsError(f"{path.name} is not locked for this target: none of its supported-markers holds"
                            f"\n    it is for: {' | '.join(supported)}"
                            "\n    add the target to [tool.uv] environments (sys_platform == 'linux'), then `uv lock`")


def _check_not_a_member(data: Mapping[str, Any], path: Path, project_dir: Path) -> None:
    """The project is not a member of the workspace whose lock this is (its root's dependencies would ship)."""
    member = os.path.relpath(project_dir.resolve(), path.parent.resolve()).replace(os.sep, "/")
    for package in data.get("package", []):
        source = package.get("source", {})
        if member != "." and member in (source.get("editable"), source.get("virtual")):
            raise SettingsError(f"{path.name} is a uv workspace's lock and this project its member "
                                f"{package.get('name')}: the workspace root's dependencies would ship"
                                f"\n    the lock: {path}"
                                f"\n    in the project: uv export --package {package.get('name')} --format "
                                "pylock.toml -o pylock.toml, and build from that")


def _find(by_name: Mapping[str, list[dict[str, Any]]], edge: Mapping[str, Any], path: Path,
          parent: Mapping[str, Any]) -> dict[str, Any]:
    candidates = by_name.get(_norm(edge["name"]), [])
    if "version" in edge:
        candidates = [p for p in candidates if str(p.get("version")) == str(edge["version"])]
    if "source" in edge:
        candidates = [p for p in candidates if p.get("source") == edge["source"]] or candidates
    if not candidates:
        raise SettingsError(f"{path}: {parent['name']} depends on {edge['name']}, which the lock does not hold; "
                            "run `uv lock`")
    return candidates[0]


def _uv_package(package: Mapping[str, Any], base: Path) -> LockedPackage:
    source = package.get("source", {})
    name, version = str(package["name"]), str(package.get("version", ""))
    if "git" in source:  # git = "https://host/repo?rev=main&subdirectory=x#<commit>"
        parsed = urllib.parse.urlsplit(str(source["git"]))
        query = urllib.parse.parse_qs(parsed.query)
        url = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path, "", ""))
        return LockedPackage(name, version, requirement=git_requirement(
            name, url, parsed.fragment, next(iter(query.get("subdirectory", [])), None)))
    if "url" in source and "subdirectory" in source:
        return LockedPackage(name, version, requirement=_direct(name, source["url"], source["subdirectory"]))
    directory = None
    for key in ("directory", "editable", "path"):
        if key in source and not str(source[key]).endswith((".whl", ".tar.gz", ".zip")):
            directory = (base / str(source[key])).resolve()
    # a URL or path archive: its file entries may carry only a hash (the location is the source's)
    where = {"url": source["url"]} if "url" in source else {"path": source["path"]} if "path" in source else {}
    registry = str(source.get("registry", ""))
    if registry and "://" not in registry:  # a local (flat) index: its files' paths are relative to it
        base = (base / registry).resolve()
    wheels = tuple(_file({**where, **w}, base) for w in package.get("wheels", []))
    if not wheels and "path" in source and str(source["path"]).endswith(".whl"):
        wheels = (_file({"path": source["path"], "hash": package.get("hash", "")}, base),)
    sdist = _file({**where, **package["sdist"]}, base) if "sdist" in package else None
    return LockedPackage(name, version, wheels, sdist, directory,
                         tuple(_norm(d["name"]) for d in package.get("dependencies", [])))


def lock_directories(path: Path) -> list[Path]:
    """The local directories a lock builds packages from (their files are inputs of the layers)."""
    data = read_toml(path)
    found: list[Path] = []
    if "package" in data:  # uv.lock
        for package in data["package"]:
            source = package.get("source", {})
            if _is_root(package):
                continue
            for key in ("directory", "editable"):
                if key in source:
                    found.append((path.parent / str(source[key])).resolve())
            if source.get("type") == "directory":  # poetry.lock
                found.append((path.parent / str(source.get("url", ""))).resolve())
    for package in data.get("packages", []):  # pylock.toml
        if "directory" in package:
            found.append((path.parent / str(package["directory"].get("path", ""))).resolve())
    return sorted(set(found))


def unhashed_local_files(path: Path) -> list[Path]:
    """The local wheels and sdists a uv.lock or pylock.toml names by path without a sha256 (a flat index of
    wheels beside the project): nothing in the lock changes when they do, so their bytes are inputs of the
    layers."""
    data = read_toml(path)
    files: list[LockedFile] = []
    for package in data.get("package", []):  # uv.lock
        if not _is_root(package):
            locked = _uv_package(package, path.parent)
            files += [*locked.wheels, *([locked.sdist] if locked.sdist else [])]
    for package in data.get("packages", []):  # pylock.toml
        entries = [*package.get("wheels", []), *(package[k] for k in ("sdist", "archive") if k in package)]
        files += [_file(entry, path.parent, entry.get("hashes", {})) for entry in entries]
    return sorted({Path(f.location) for f in files if not f.sha256 and f.location and "://" not in f.location})
