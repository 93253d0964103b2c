"""The local inputs of a resolution, by content: ``--find-links`` directories and requirements named by path.

A resolution depends on more than the requirements' text: ``--find-links wheels`` means whatever the directory
holds, ``./pkg`` whatever the project's files are. Two projects with the same requirements text and different
wheels in ``wheels/`` must not share a cached resolution, and a changed wheel there must make the layers stale.
So the resolution's key (``resolve.resolution_key``) and the layers' fingerprint (``assemble/fingerprint.py``)
both take :func:`local_inputs`: the sha256 of every file pip would read there.

Where ``--find-links`` comes from: the requirements files (a relative path counts from the file that names it
when it exists there, else from the project, as pip does), ``pip_args`` (from the project), ``PIP_FIND_LINKS``
and, for the resolution's key only, pip's configuration files (``configuration``; reading them needs pip's
location rules, which a no-op build does not import). A URL is not local: what the index serves is not hashed.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..files import content_sha256s, tree_digest
from .requirements import DirectReference, Line, expand, option

_FIND_LINKS = {"-f", "--find-links"}
#: What building a local project writes into its own directory, and tool caches: not inputs.
NOT_SOURCE = frozenset({"build", "dist", "__pycache__", ".git", ".hg", ".svn", ".tox", ".nox", ".venv",
                        ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def not_source(name: str) -> bool:
    """True for what a build or a tool writes into a project's directory (never an input)."""
    return name in NOT_SOURCE or name.endswith((".egg-info", ".pyc"))


def find_links_locations(lines: Sequence[Line], pip_args: Sequence[str], project_dir: Path,
                         configuration: Iterable[str] = (), absent: list[Path] | None = None) -> list[Path]:
    """The local ``--find-links`` locations (directories or files) a resolve reads, each once, in order: from
    the declaration's ``lines``, ``pip_args``, ``PIP_FIND_LINKS`` and pip's ``configuration``. Those named but
    not there are added to ``absent`` (one appearing later gives the resolve more wheels)."""
    values: list[tuple[str, Path]] = []
    for line in lines:  # relative ones that exist were made absolute (pip's rule)
        parsed = option(line.text)
        if parsed and parsed[0] in _FIND_LINKS:
            values.append((expand(parsed[1]), project_dir))
    items = list(pip_args)
    for index, item in enumerate(items):
        name, equals, inline = item.partition("=")
        if name in _FIND_LINKS:
            value = inline if equals else (items[index + 1] if index + 1 < len(items) else "")
            values.append((value, project_dir))
    values += [(value, project_dir) for value in os.environ.get("PIP_FIND_LINKS", "").split()]
    values += [(value, project_dir) for text in configuration for value in text.split()]
    found: list[Path] = []
    for value, base in values:
        path = _local_path(value, base)
        if path is not None and path.exists() and path not in found:
            found.append(path)
        elif path is not None and absent is not None and not path.exists() and path not in absent:
            absent.append(path)
    return found


def _local_path(value: str, base: Path) -> Path | None:
    if not value:
        return None
    if value.lower().startswith("file:"):
        # lazy: urllib.request (~3 ms with http.client), only for a file: URL
        from urllib.request import url2pathname

        return Path(url2pathname(urllib.parse.urlsplit(value).path))
    if "://" in value:
        return None
    path = Path(os.path.expanduser(value))
    return (path if path.is_absolute() else base / path).resolve()


def _files_of(location: Path, by_content: bool, stat_times: bool) -> list[list[object]]:
    """The files pip reads at a find-links location (a file, or a directory's own files): by name and sha256
    (``by_content``), else by name and size (and the stat's mtime and inode with ``stat_times``)."""
    try:
        files = [location] if location.is_file() else sorted(e for e in location.iterdir() if e.is_file())
    except OSError:
        return []
    if by_content:
        scope = None if location.is_file() else location
        return [[file.name, digest] for file, digest in zip(files, content_sha256s(files, scope=scope), strict=True)]
    rows: list[list[object]] = []
    for file in files:
        info = file.stat()
        rows.append([file.name, info.st_size, *([info.st_mtime_ns, info.st_ino] if stat_times else [])])
    return rows


def local_inputs(find_links: Sequence[Path], references: Sequence[DirectReference], project_dir: Path,
                 stat_times: bool = False) -> dict[str, list[object]]:
    """What the local inputs hold, named by their path relative to the project (or by name, outside it):
    each local requirement's files by sha256; each find-links location's files by sha256 when it is inside the
    project, else (a machine's wheel directory, which may hold gigabytes a cold cache would hash on every build)
    by name and size, and with ``stat_times`` (the resolution's key: this machine only) mtime and inode. The
    files a resolution took from such a location are checked by sha256 when it is reused
    (``resolve.wheelhouse.local_copies_match``)."""
    project = project_dir.resolve()
    rows = [[_shown(location, project_dir), _files_of(location, location.is_relative_to(project), stat_times)]
            for location in find_links]
    local: list[object] = []
    seen: set[str] = set()
    for reference in references:
        if not reference.is_local or reference.location in seen:
            continue
        seen.add(reference.location)
        path = Path(reference.location)
        if path.is_dir():
            local.append([_shown(path, project_dir), tree_digest(path, skip=not_source)])
        elif path.is_file():
            local.append([_shown(path, project_dir), content_sha256s([path])])
    return {"find_links": list(rows), "local": local}


def _shown(path: Path, project_dir: Path) -> str:
    """Inside the project: relative to it (posix); outside: the name alone (where it is differs by machine)."""
    project = project_dir.resolve()
    return path.relative_to(project).as_posix() if path.is_relative_to(project) else path.name
