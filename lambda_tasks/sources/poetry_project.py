"""A Poetry project without poetry.lock: ``[tool.poetry.dependencies]`` as a declaration, resolved like
requirements.txt.

Each dependency's conditions (``python``, ``platform``, ``markers``) are evaluated for the target here, so
the lines carry none; Poetry's constraints become PEP 440 (``^1.2`` is ``>=1.2,<2``); optional dependencies
come only with the extras that name them, groups only when named by ``groups``. ``git``, ``path`` and
``url`` dependencies are direct references; ``[[tool.poetry.source]]`` entries are index options (the
primary one, or PyPI, first). A constraint with ``||`` cannot be one requirement line: refused in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from .locks import git_requirement
from .poetry_lock import _holds, _tables, poetry_specifiers
from .project import _norm, poetry_dependencies, read_toml


def _line(name: str, item: Mapping[str, Any], base: Path, path: Path) -> str:
    extras = f"[{','.join(item['extras'])}]" if item.get("extras") else ""
    if "git" in item:
        reference = item.get("rev") or item.get("tag") or item.get("branch") or "HEAD"
        return git_requirement(name, str(item["git"]), str(reference), item.get("subdirectory"))
    if "path" in item:
        return f"{name}{extras} @ {(base / str(item['path'])).resolve().as_uri()}"
    if "url" in item:
        return f"{name}{extras} @ {item['url']}"
    alternatives = poetry_specifiers(str(item.get("version", "*")))
    if len(alternatives) > 1:
        raise SettingsError(f"{path.name}: {name} = {item.get('version')!r} has alternatives (||), which a "
                            "requirement cannot say\n    run `poetry lock` and build from poetry.lock")
    return f"{name}{extras}{alternatives[0]}"


def poetry_requirements(path: Path, environment: Mapping[str, str], extras: Sequence[str] = (),
                        groups: Sequence[str] = ()) -> list[str]:
    """The requirement lines (index options first) the project declares for the target."""
    data = read_toml(path)
    poetry = data.get("tool", {}).get("poetry", {})
    named = {_norm(k): [_norm(n) for n in v] for k, v in poetry.get("extras", {}).items()}
    for extra in extras:
        if _norm(extra) not in named:
            raise SettingsError(f"extra {extra!r} is not in {path} [tool.poetry.extras]"
                                f"\n    it has: {', '.join(sorted(named)) or 'none'}")
    optional_ok = {name for extra in extras for name in named[_norm(extra)]}
    tables: list[Mapping[str, Any]] = [poetry_dependencies(data)]
    groups_table = {_norm(k): v.get("dependencies", {}) for k, v in poetry.get("group", {}).items()}
    if "dev-dependencies" in poetry:
        groups_table.setdefault("dev", poetry["dev-dependencies"])
    for group in groups:
        if _norm(group) not in groups_table:
            raise SettingsError(f"dependency group {group!r} is not in {path} [tool.poetry.group]"
                                f"\n    it has: {', '.join(sorted(groups_table)) or 'none'}")
        tables.append(groups_table[_norm(group)])
    lines = _index_options(poetry.get("source", []))
    for table in tables:
        for name, spec in table.items():
            for item in _tables(spec):
                if item.get("optional") and _norm(name) not in optional_ok:
                    continue
                if _holds(item, environment, extras):
                    line = _line(name, item, path.parent, path)
                    if line not in lines:
                        lines.append(line)
    return lines


def _index_options(sources: Sequence[Mapping[str, Any]]) -> list[str]:
    primary = [s for s in sources if s.get("priority", "primary") in {"primary", "default"} or s.get("default")]
    others = [s for s in sources if s not in primary and s.get("priority") != "explicit"]
    lines = [f"--index-url {primary[0]['url']}"] if primary else []
    lines += [f"--extra-index-url {s['url']}" for s in [*primary[1:], *others] if s.get("url")]
    return lines
