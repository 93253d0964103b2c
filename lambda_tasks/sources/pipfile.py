"""Pipenv's files as data: Pipfile (a declaration) and Pipfile.lock (a lock), read without pipenv.

Pipfile.lock's ``default`` section ships, ``develop`` only with ``groups = ["dev"]``
(serverless-python-requirements' ``pipenv requirements`` ships ``default`` alone). Each entry's ``markers``
is evaluated for the target; its files are named only by their sha256 (``hashes``), so a locked package is
fetched by name and exact version from its index with only those hashes allowed (``resolve/lockfile.py``).
``git``/``ref``, ``path`` and ``file`` entries build like the same lines in a requirements file. Staleness
is pipenv's own test: ``_meta.hash.sha256`` is the sha256 of the Pipfile's sections as canonical JSON
(plette's ``Pipfile.get_hash``).

A Pipfile without a lock is a declaration: :func:`pipfile_requirements` gives its ``[packages]`` as
requirement lines (``"*"`` is any version; a table's ``version``, ``extras``, ``markers`` and the
``sys_platform``-style keys become PEP 508), resolved like requirements.txt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from .locks import LockedPackage, evaluate_any, git_requirement
from .project import _norm, read_toml

#: Pipfile keys that are PEP 508 marker variables (pipenv accepts them beside ``markers``)
_MARKER_KEYS = ("os_name", "sys_platform", "platform_machine", "platform_python_implementation",
                "platform_release", "platform_system", "platform_version", "python_version",
                "python_full_version", "implementation_name", "implementation_version")
_DEFAULT_SOURCE = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise SettingsError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} is not a Pipfile.lock (not a JSON object)")
    return data


def pipfile_hash(pipfile: Mapping[str, Any], canonical: bool = False) -> str:
    """pipenv's hash of a parsed Pipfile (what Pipfile.lock records in ``_meta.hash.sha256``): plette's
    ``Pipfile.get_hash``, or with ``canonical`` pipenv 2026's, whose package names are PEP 503 canonical."""
    def names(section: Any) -> Any:
        return {_norm(k): v for k, v in section.items()} if canonical and isinstance(section, Mapping) else section

    data: dict[str, Any] = {
        "_meta": {"sources": pipfile.get("source", [dict(_DEFAULT_SOURCE)]), "requires": pipfile.get("requires", {})},
        "default": names(pipfile.get("packages", {})),
        "develop": names(pipfile.get("dev-packages", {})),
    }
    sections = {"source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv", "default", "develop"}
    data.update({key: names(value) for key, value in pipfile.items() if key not in sections})
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def pipfile_staleness(lock: Path, pipfile: Path) -> bool:
    """True when the Pipfile changed since Pipfile.lock was made (by an older pipenv or a newer one)."""
    recorded = read_json(lock).get("_meta", {}).get("hash", {}).get("sha256")
    if not recorded or not pipfile.is_file():
        return False
    data = read_toml(pipfile)
    return recorded not in {pipfile_hash(data), pipfile_hash(data, canonical=True)}


def _marker(spec: Mapping[str, Any]) -> str | None:
    parts = [f"({spec['markers']})"] if spec.get("markers") else []
    parts += [f"{key} {value}" for key in _MARKER_KEYS if isinstance(value := spec.get(key), str)]
    return " and ".join(parts) or None


def _version(spec: Any) -> str:
    version = spec if isinstance(spec, str) else spec.get("version", "*")
    return "" if str(version).strip() in {"", "*"} else str(version).strip()


def _dev(groups: Sequence[str], path: Path) -> bool:
    """Whether ``groups`` asks for the dev packages (Pipfile's only group: ``dev``, or ``develop`` as the lock
    names it)."""
    unknown = sorted({g for g in groups if g not in {"dev", "develop", "dev-packages"}})
    if unknown:
        raise SettingsError(f"dependency group {unknown[0]!r} is not in {path.name}; a Pipfile has one group, "
                            "its dev packages (groups = [\"dev\"])")
    return bool(groups)


def pipfile_requirements(path: Path, environment: Mapping[str, str] | None = None,
                         groups: Sequence[str] = ()) -> list[str]:
    """The Pipfile's ``[packages]`` (and ``[dev-packages]`` when ``groups`` names dev) as requirement lines
    (index options first); with ``environment``, only the names and extras of those whose markers hold on it
    (the roots of the closure check)."""
    data = read_toml(path)
    declared = {**data.get("packages", {}), **(data.get("dev-packages", {}) if _dev(groups, path) else {})}
    lines: list[str] = []
    sources = data.get("source", [])
    if environment is None:
        for number, source in enumerate(sources):
            lines.append(f"{'--index-url' if number == 0 else '--extra-index-url'} {source['url']}")
    for name, spec in declared.items():
        table = spec if isinstance(spec, Mapping) else {}
        extras = f"[{','.join(table['extras'])}]" if table.get("extras") else ""
        marker = _marker(table)
        if environment is not None:
            if evaluate_any(marker, environment):
                lines.append(f"{name}{extras}")
            continue
        if "git" in table:
            lines.append(git_requirement(name, str(table["git"]), str(table.get("ref", "HEAD")),
                                         table.get("subdirectory")) + (f" ; {marker}" if marker else ""))
        elif "path" in table or "file" in table:
            where = str(table.get("path") or table.get("file"))
            location = (path.parent / where).resolve().as_uri() if "://" not in where else where
            lines.append(f"{name}{extras} @ {location}" + (f" ; {marker}" if marker else ""))
        else:
            lines.append(f"{name}{extras}{_version(spec)}" + (f" ; {marker}" if marker else ""))
    return lines


def read_pipfile_lock(path: Path, environment: Mapping[str, str], groups: Sequence[str] = ()) -> list[LockedPackage]:
    """The packages of Pipfile.lock's ``default`` section (and ``develop`` when ``groups`` names dev) whose
    markers hold on the target."""
    data = read_json(path)
    sources = {str(s.get("name")): str(s.get("url")) for s in data.get("_meta", {}).get("sources", [])}
    default = data.get("default")
    if not isinstance(default, dict):
        raise SettingsError(f"{path} has no \"default\" section; it is not a Pipfile.lock (run `pipenv lock`)")
    if _dev(groups, path):
        default = {**default, **data.get("develop", {})}
    declared = _declared(path.parent / "Pipfile")
    packages = []
    for name, entry in sorted(default.items()):
        if not evaluate_any(_marker(entry), environment):
            continue
        version = str(entry.get("version", "")).removeprefix("==")
        if not _locked(entry, version):
            # pipenv leaves a package whose markers did not hold where it ran unlocked ("*", no hashes), and
            # drops the sys_platform-style keys of its Pipfile entry: the Pipfile's markers say whether it applies
            if evaluate_any(_marker(declared.get(_norm(name), {})), environment):
                raise SettingsError(f"{path.name} does not lock {name}, which the target needs (version "
                                    f"{entry.get('version', 'none')!r}, no hashes)\n    pipenv locks only what "
                                    "the machine running `pipenv lock` needs; run it on Linux with the target's "
                                    "Python and architecture")
            continue
        if "git" in entry:
            requirement = git_requirement(name, str(entry["git"]), str(entry.get("ref", "")), entry.get("subdirectory"))
            packages.append(LockedPackage(name, version, requirement=requirement))
        elif "path" in entry or "file" in entry:
            where = str(entry.get("path") or entry.get("file"))
            if "://" in where:
                packages.append(LockedPackage(name, version, requirement=f"{name} @ {where}"))
            else:
                packages.append(LockedPackage(name, version, directory=(path.parent / where).resolve()))
        else:
            hashes = tuple(sorted(h.partition(":")[2] for h in entry.get("hashes", []) if h.startswith("sha256:")))
            if not hashes:
                raise SettingsError(f"{path.name} records no sha256 for {name} {version}, so its file cannot be "
                                    "checked\n    lock it again with its hashes (`pipenv lock`)")
            index = sources.get(str(entry.get("index", "")))
            packages.append(LockedPackage(name, version, index=index, hashes=hashes))
    return packages


def _locked(entry: Mapping[str, Any], version: str) -> bool:
    """Whether pipenv locked this entry: a VCS or local one, or an exact version (``*`` with no hashes: not)."""
    return any(key in entry for key in ("git", "path", "file")) or bool(version and version != "*")


def _declared(pipfile: Path) -> dict[str, Mapping[str, Any]]:
    """The Pipfile's entries (packages and dev-packages) as tables by canonical name ({} without a Pipfile)."""
    if not pipfile.is_file():
        return {}
    data = read_toml(pipfile)
    entries = {**data.get("dev-packages", {}), **data.get("packages", {})}
    return {_norm(name): spec if isinstance(spec, Mapping) else {} for name, spec in entries.items()}


def pipfile_root_lines(pipfile: Path, environment: Mapping[str, str], groups: Sequence[str] = ()) -> list[str]:
    """The Pipfile's packages that hold on the target, as names with extras (the closure check's roots)."""
    return pipfile_requirements(pipfile, environment, groups)


def pipfile_directories(path: Path) -> list[Path]:
    """The local directories Pipfile.lock builds packages from."""
    entries = read_json(path).get("default", {}).values()
    found = {(path.parent / str(e.get("path") or e.get("file"))).resolve() for e in entries
             if (e.get("path") or e.get("file")) and "://" not in str(e.get("path") or e.get("file"))}
    return sorted(p for p in found if p.is_dir())
