"""Project paths: a file or directory of the project, checked once where it enters.

A :class:`ProjectPath` can only be made for a regular file or a directory whose real path (every symbolic link
resolved, the root's own entries included: ``app.py``, ``chalicelib``, ``vendor``) lies inside the project root.
FIFOs, sockets and devices are refused before anything opens them (a FIFO would block a read forever, a
character device such as /dev/zero never ends). Reads are bounded (:func:`read_bytes`): a file over its limit is
an error naming it, not a build that eats the memory.

Files that are inputs but not shipped and may live outside the project (an event file for ``verify``, an
explicit requirements file) go through :func:`regular_file`, which checks the kind of file but not where it is.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import LambdaTasksError, ProjectError, UnsafePathError, file_system_error

#: What one parsed text input (app.py, a requirements file, config.json, an event) may weigh.
TEXT_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class ProjectPath:
    """A regular file or directory inside the project: ``rel`` is its name in the project (posix, as found: a link
    keeps its own name), ``path`` the real path its bytes are read from (inside ``root``)."""

    root: Path
    rel: str
    path: Path
    is_dir: bool

    def child(self, name: str, real: Path, is_dir: bool) -> ProjectPath:
        """An entry found while walking this directory (the walker checked its kind and where it points)."""
        return ProjectPath(self.root, f"{self.rel}/{name}" if self.rel else name, real, is_dir)

    def read_bytes(self, limit: int = TEXT_LIMIT) -> bytes:
        return read_bytes(self.path, limit, self.rel)


def kind_name(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _relative(rel: str, what: str) -> str:
    """``rel`` as a clean posix path inside the project; UnsafePathError for an absolute path or ``..``."""
    posix = PurePosixPath(rel.replace(os.sep, "/"))
    if posix.is_absolute() or ".." in posix.parts or not rel.strip() or "\0" in rel:
        raise UnsafePathError(f"{what} {rel!r} is not a path inside the project\n"
                              "  give a path relative to the project directory, without '..'")
    return posix.as_posix()


def _real(root: Path, rel: str, what: str) -> Path:
    """The real path of ``root/rel``; errors for loops, dangling links and anything outside ``root``."""
    path = root / rel
    try:
        real = path.resolve(strict=True)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
            raise file_system_error(exc) from None
        why = "is a symbolic link loop" if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP else \
            "is a dangling symbolic link (its target does not exist)"
        raise UnsafePathError(f"{what} {rel} {why}\n  in {root}\n  remove the link or point it at a file") from None
    base = root.resolve()  # a relative root, or one under a linked directory (macOS's /tmp), is the same place
    if real != base and not real.is_relative_to(base):
        raise UnsafePathError(f"{what} {rel} points outside the project\n  in {root}\n  it leads to {real}\n"
                              "  copy it into the project if it is meant to ship, or remove the link")
    return real


def find(root: Path, rel: str, what: str, want_dir: bool | None = None) -> ProjectPath | None:
    """``root/rel`` as a ProjectPath; None when nothing is there. ``want_dir``: True for a directory, False for a
    regular file, None for either. Anything else there (a FIFO, a device, the wrong kind) is an error."""
    clean = _relative(rel, what)
    if not os.path.lexists(root / clean):
        return None
    real = _real(root, clean, what)
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        raise file_system_error(exc) from None
    is_dir = stat.S_ISDIR(mode)
    if not (is_dir or stat.S_ISREG(mode)) or (want_dir is not None and is_dir != want_dir):
        wanted = "a directory" if want_dir else "a regular file" if want_dir is False else "a file or directory"
        raise ProjectError(f"{what} {clean} is {kind_name(mode)}, not {wanted}\n  in {root}\n"
                           f"  replace it with {wanted}")
    return ProjectPath(root, clean, real, is_dir)


def file(root: Path, rel: str, what: str) -> ProjectPath | None:
    return find(root, rel, what, want_dir=False)


def directory(root: Path, rel: str, what: str) -> ProjectPath | None:
    return find(root, rel, what, want_dir=True)


def regular_file(path: Path, what: str) -> Path:
    """``path`` (anywhere) when it is a regular file, links followed; else an error naming it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ProjectError(f"{what} {path.name} does not exist\n  looked for {path}") from None
    except OSError as exc:
        raise file_system_error(exc) from None
    if not stat.S_ISREG(mode):
        raise ProjectError(f"{what} {path.name} is {kind_name(mode)}, not a regular file\n  {path}\n"
                           "  give a regular file")
    return path


def read_bytes(path: Path, limit: int, shown: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file, at most ``limit``: opened without blocking (a FIFO swapped in after the check
    cannot hang us), its kind checked again on the open descriptor, read no further than ``limit`` + 1."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise file_system_error(exc) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ProjectError(f"{shown} is {kind_name(mode)}, not a regular file\n  give a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ProjectError(f"{shown} is over {limit // (1024 * 1024)} MB, more than a file of its kind can sensibly "
                           "be\n  check that it is the file you meant")
    return data


def read_text(path: Path, shown: str | os.PathLike[str], limit: int = TEXT_LIMIT, utf8_only: bool = False) -> str:
    """A text input: UTF-8, or UTF-16/UTF-32 with a byte order mark; anything else is refused naming the file.
    ``utf8_only``: a file other tools read too (pip, uv) must be UTF-8, and UTF-16/32 is refused naming it."""
    data = read_bytes(path, limit, shown)
    if utf8_only and data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise ProjectError(f"{shown} is UTF-16 or UTF-32 text, not UTF-8\n  in {path}\n"
                           "  save it as UTF-8: the installers (uv, pip's options) read requirements as UTF-8")
    return decode(data, shown)


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode(data: bytes, shown: str | os.PathLike[str]) -> str:
    encoding = "utf-8"
    for bom, name in _BOMS:  # UTF-32's marks first: UTF-16-LE's is a prefix of UTF-32-LE's
        if data.startswith(bom):
            encoding, data = name, data[len(bom):]
            break
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{shown} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})\n"
                           "  save it as UTF-8 (UTF-16 and UTF-32 are read when they start with a byte order mark)"
                           ) from None


def parse_json(text: str | bytes, shown: str | os.PathLike[str], error: type[LambdaTasksError] = ProjectError) -> Any:
    """JSON from an input, its nesting bounded by the interpreter's recursion limit: a one-line error, never a
    RecursionError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{shown} is nested too deeply to be read as JSON\n  check that it is the file you meant") \
            from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{shown} is not JSON: {str(exc)[:100]}") from None


def too_deep(shown: str | os.PathLike[str]) -> ProjectError:
    """Python's parser gave up (RecursionError, MemoryError): one line, not a traceback."""
    return ProjectError(f"{shown} is nested too deeply for Python to parse\n"
                        "  Lambda could not import it either: simplify the nested expression")
