"""Walking the project's own trees (chalicelib/, vendor/): junk left out, and nothing read from outside.

A symlink is followed only when it resolves inside the allowed roots (the project, or the tree itself): it is
then stored as the file it points to. One that points outside, a loop and a dangling link are errors naming
the link and its target, never a silent copy of ``/etc/passwd`` into a zip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import UnsafePathError

#: Names never shipped: caches, editor and OS litter.
JUNK_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode",
                       ".DS_Store", ".git"})
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


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _link_error(link: Path, why: str, fix: str) -> UnsafePathError:
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    return UnsafePathError(f"symbolic link {link} {why}\n  it points to {target}\n  {fix}")


def _check_link(path: Path, roots: Sequence[Path]) -> Path:
    """The real path a symlink stands for, when it may be followed; else UnsafePathError."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 on a loop
        raise _link_error(path, "is a loop", "remove the link or point it at a file") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise _link_error(path, "is a loop", "remove the link or point it at a file") from None
        raise _link_error(path, "is dangling (its target does not exist)",
                          "remove the link or create its target") from None
    if not _inside(real, roots):
        raise _link_error(path, "points outside the project",
                          "copy the file into the project if it is meant to ship, or remove the link")
    return real


def _check_name(path: Path) -> None:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafePathError(f"a file name is not valid UTF-8: {os.fsencode(path)!r}\n"
                              "  rename it: names in a zip for Lambda must be UTF-8") from None


def walk_files(root: Path, allowed: Sequence[Path] = ()) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file below ``root``, sorted, junk left out.

    Symlinks (to files or directories) are followed when they resolve inside ``root`` or one of ``allowed``.
    """
    roots = [root.resolve(), *(a.resolve() for a in allowed)]
    pending = [root]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as scan:
            children = sorted(scan, key=lambda e: e.name)
        subdirs = []
        for child in children:
            if is_junk(child.name):
                continue
            path = Path(child.path)
            _check_name(path)
            if child.is_symlink():
                real = _check_link(path, roots)
                if real.is_dir():
                    if directory.resolve().is_relative_to(real):  # a link to an enclosing directory
                        raise _link_error(path, "is a loop (it points to a directory that contains it)",
                                          "remove the link")
                    subdirs.append(path)
                else:
                    yield path.relative_to(root).as_posix(), path
            elif child.is_dir():
                subdirs.append(path)
            elif child.is_file():
                yield path.relative_to(root).as_posix(), path
        pending.extend(reversed(subdirs))
