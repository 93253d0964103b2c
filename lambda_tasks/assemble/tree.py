"""Walking the project's own trees (chalicelib/, vendor/): junk left out, and nothing read from outside.

The tree's own root is a :class:`~lambda_tasks.project_paths.ProjectPath` (checked: inside the project, links
resolved). Below it, a symlink is followed only when it resolves inside the project: it is then stored as the
file it points to. One that points outside, a loop and a dangling link are errors naming the link and its
target, never a silent copy of ``/etc/passwd`` into a zip; a FIFO, socket or device is an error before any read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import ProjectError, UnsafePathError
from ..project_paths import ProjectPath, kind_name

#: Names never shipped: caches, editor and OS litter, and tools' environments (a sub-project's .venv or .tox in
#: app_paths: SAM leaves them out too; their links to the host's Python would stop the build).
JUNK_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode",
                       ".DS_Store", ".git", ".venv", ".tox", ".nox", ".hypothesis", ".eggs"})
_JUNK_SUFFIXES = (".pyc", ".pyo", ".swp", ".swo", ".swx", "~", ".orig", ".rej")
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def is_junk(name: str) -> bool:
    """True for files no artifact should carry (checked on each path part)."""
    return (
        name in _JUNK_NAMES
        or name in JUNK_DIRS
        or name.endswith(_JUNK_SUFFIXES)
        or (name.startswith(".#") or (name.startswith("#") and name.endswith("#")))
    )


def _shown(path: Path, root: Path | None) -> str:
    """A path as the project names it (the first line of an error stays short), else as it is."""
    return path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)


def _link_error(link: Path, why: str, fix: str, root: Path | None = None) -> UnsafePathError:
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    where = f"\n  in {root}" if root is not None else ""
    return UnsafePathError(f"symbolic link {_shown(link, root)} {why}\n  it points to {target}{where}\n  {fix}")


def _check_link(path: Path, root: Path) -> Path:
    """The real path a symlink stands for, when it may be followed; else UnsafePathError."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 on a loop
        raise _link_error(path, "is a loop", "remove the link or point it at a file", root) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(path, "is a loop", "remove the link or point it at a file", root) from None
        raise _link_error(path, "is dangling (its target does not exist)",
                          "remove the link or create its target", root) from None
    if real != root and not real.is_relative_to(root):
        raise _link_error(path, "points outside the project",
                          "copy the file into the project if it is meant to ship, or remove the link", root)
    return real


def _check_name(path: Path) -> None:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafePathError(f"a file name is not valid UTF-8: {os.fsencode(path)!r}\n"
                              "  rename it: names in a zip for Lambda must be UTF-8") from None


def _special(path: Path, mode: int, root: Path) -> ProjectError:
    return ProjectError(f"{_shown(path, root)} is {kind_name(mode)}: only regular files and directories can ship\n"
                        f"  in {root}\n  remove it from the project tree (or move it out of the directories that ship)")


def walk_files(top: ProjectPath, sourceless: list[str] | None = None) -> Iterator[tuple[str, ProjectPath]]:
    """(path relative to ``top``, posix; the file) of every regular file below ``top``, sorted, junk left out.
    ``sourceless`` is given the ``*.pyc`` left out without their ``.py`` beside them (modules Python would import).

    A symlink (to a file or a directory) is followed when its real path is inside the project; it ships under its
    own name. FIFOs, sockets and devices (found directly or through a link) are errors, before anything reads them.
    """
    root = top.root
    # each directory with the real paths of the directories above it: a link back to one of them is a loop
    pending: list[tuple[str, Path, ProjectPath, tuple[Path, ...]]] = [("", root / top.rel, top, ())]
    while pending:
        prefix, directory, node, above = pending.pop()
        above = (*above, node.path)
        with os.scandir(directory) as scan:
            children = sorted(scan, key=lambda e: e.name)
        subdirs = []
        for child in children:
            if is_junk(child.name):
                if sourceless is not None and child.name.endswith(".pyc") and \
                        not any(other.name == child.name[:-1] for other in children):
                    sourceless.append(prefix + child.name)
                continue
            path = Path(child.path)
            _check_name(path)
            rel = prefix + child.name
            if child.is_symlink():
                real = _check_link(path, root)
                mode = real.stat().st_mode
                if stat.S_ISDIR(mode):
                    if node.path.is_relative_to(real) or real in above:  # a link to an enclosing directory
                        raise _link_error(path, "is a loop (it points to a directory that contains it)",
                                          "remove the link", root)
                    subdirs.append((rel + "/", path, node.child(child.name, real, True), above))
                elif stat.S_ISREG(mode):
                    yield rel, node.child(child.name, real, False)
                else:
                    raise _special(path, mode, root)
            elif child.is_dir(follow_symlinks=False):
                subdirs.append((rel + "/", path, node.child(child.name, node.path / child.name, True), above))
            elif child.is_file(follow_symlinks=False):
                yield rel, node.child(child.name, node.path / child.name, False)
            else:
                raise _special(path, child.stat(follow_symlinks=False).st_mode, root)
        pending.extend(reversed(subdirs))
