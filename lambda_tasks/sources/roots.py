"""What a project declares it needs: the roots of the closure check, for any source.

A declaration's roots are its own lines. A lock's are the declaration beside it: pyproject.toml for uv.lock
(``[project]``) and poetry.lock (``[project]`` or ``[tool.poetry]``), the Pipfile for Pipfile.lock. A
pylock.toml records no roots (PEP 751 has no place for them), so its are, in this order, pyproject.toml's
``[project]`` or ``[tool.poetry]`` dependencies or the Pipfile's ``[packages]``; with none of these,
``None``: the lock can then only be checked against itself (every locked distribution's needs on the target
present), not for what it holds beyond the project's needs. A requirements.txt beside it is not taken for its
roots: nothing says the lock was made from it (the build would have used it, had it not named the lock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .project import Source, poetry_dependencies, project_requirements, read_toml


@dataclass(frozen=True)
class Roots:
    """The requirement lines (PEP 508, no options) and the file they come from, as messages name it."""

    lines: tuple[str, ...]
    shown: str
    unnamed: int = 0  # requirements named only by location: known by name once built


def declared_requirements(source: Source, environment: Mapping[str, str], extras: Sequence[str] = (),
                          groups: Sequence[str] = ()) -> list[str]:
    """A declaration's requirement lines (pyproject.toml's [project] or [tool.poetry], or a Pipfile)."""
    if source.kind == "poetry":
        # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
        from .poetry_project import poetry_requirements

        return poetry_requirements(source.path, environment, extras, groups)
    if source.kind == "pipfile":
        # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
        from .pipfile import pipfile_requirements

        return pipfile_requirements(source.path, groups=groups)
    return project_requirements(source.path, extras, groups)


def _requirements(lines: Sequence[str]) -> tuple[str, ...]:
    return tuple(line for line in lines if not line.startswith("-"))


def lock_roots(source: Source, environment: Mapping[str, str], extras: Sequence[str] = (),
               groups: Sequence[str] = ()) -> Roots | None:
    """The roots of the lock ``source`` on the target (a declaration's are its own top-level lines)."""
    base = source.path.parent
    pyproject, pipfile = base / "pyproject.toml", base / "Pipfile"
    label = f"{source.path.name} ({{}})"
    if source.kind == "Pipfile.lock":
        return _pipfile(pipfile, environment, label, groups) if pipfile.is_file() else None
    if source.kind == "pylock":  # made by `invoke lock` with extras or groups: it says which
        made_for = read_toml(source.path).get("tool", {}).get("lambda-tasks", {})
        extras = [*extras, *(x for x in made_for.get("extras", []) if x not in extras)]
        groups = [*groups, *(x for x in made_for.get("groups", []) if x not in groups)]
    if source.kind in {"uv.lock", "poetry.lock", "pylock"} and pyproject.is_file():
        data = read_toml(pyproject)
        if "dependencies" in data.get("project", {}) and source.kind != "poetry.lock":
            lines = project_requirements(pyproject, extras, groups)
            return Roots(_requirements(lines), label.format("pyproject.toml's requirements"))
        if source.kind == "poetry.lock" or poetry_dependencies(data):
            # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
            from .poetry_lock import poetry_root_lines

            lines = poetry_root_lines(pyproject, environment, extras, groups)
            return Roots(_requirements(lines), label.format("pyproject.toml's requirements"))
    if source.kind != "pylock":
        return None
    return _pipfile(pipfile, environment, label, groups) if pipfile.is_file() else None


def _pipfile(pipfile: Path, environment: Mapping[str, str], label: str, groups: Sequence[str]) -> Roots:
    # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
    from .pipfile import pipfile_root_lines

    lines = pipfile_root_lines(pipfile, environment, groups)
    return Roots(_requirements(lines), label.format("the Pipfile's packages"))


def lock_declarations(source: Source) -> list[Path]:
    """The lock and the files beside it that may give its roots, whether there or not (one appearing later
    changes the roots)."""
    beside = {"uv.lock": ["pyproject.toml"], "poetry.lock": ["pyproject.toml"], "Pipfile.lock": ["Pipfile"],
              "pylock": ["pyproject.toml", "Pipfile"]}.get(source.kind, [])
    return [source.path, *(source.path.parent / name for name in beside)]


def lock_inputs(source: Source) -> tuple[list[Path], list[Path]]:
    """The files a lock's build depends on (the lock, the declaration beside it that gives its roots) and the
    local directories it builds packages from: inputs of the layers' fingerprint."""
    files = [path for path in lock_declarations(source) if path.is_file()]
    if source.kind == "Pipfile.lock":
        # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
        from .pipfile import pipfile_directories

        return files, pipfile_directories(source.path)
    # lazy: only the reader of the project's own source loads (a no-op build's start-up time)
    from .locks import lock_directories

    return files, lock_directories(source.path)
