"""The host's shared libraries that Lambda lacks, kept out of the runtime's sight in the namespace.

A compiled module that needs ``libpq.so.5`` loads on a developer's machine that has PostgreSQL's client and
fails on Lambda, whose base image has none. In the private mount namespace each such library (a ``DT_NEEDED``
of the artifacts' ELF files that neither the artifacts nor the runtime's base image provide) is hidden from
the loader by an overlay over the directory the host keeps it in, whose top layer holds a whiteout of its
name, so the import fails as on Lambda: ``libpq.so.5: cannot open shared object file``. Libraries the host's
interpreter needs itself stay (Lambda's Python brings its own). Which libraries the base image provides is
``lambda_tasks.base_libraries``' table (one per runtime family); without it nothing is hidden, said in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Set
from pathlib import Path

from ..base_libraries import base_libraries
from ..deadlines import capture
from ..errors import DeadlineError

_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                 "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")


def base_table(runtime: str, version: tuple[int, int]) -> frozenset[str] | None:
    """The library names the runtime's base image provides (base_libraries.py: the audit's table)."""
    return base_libraries(runtime, version)


def needed(paths: Iterable[Path]) -> set[str]:
    """The ``DT_NEEDED`` names of the ELF files among ``paths`` (others are skipped)."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    names: set[str] = set()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                if handle.read(4) != b"\x7fELF":
                    continue
                handle.seek(0)
                for section in ELFFile(handle).iter_sections():
                    if isinstance(section, DynamicSection):
                        names.update(str(getattr(tag, "needed", "")) for tag in section.iter_tags()
                                     if tag.entry.d_tag == "DT_NEEDED")
        except (OSError, ELFError, ValueError):
            continue
    return names


def _files(*roots: Path) -> list[Path]:
    return [Path(directory) / name for root in roots for directory, _, names in os.walk(root) for name in names]


def to_hide(task: Path, opt: Path, base: Set[str], interpreter_files: Iterable[Path]) -> list[str]:
    """The names the artifacts need that neither they nor the base image provide, less the interpreter's own."""
    files = _files(task, opt)
    shipped = {path.name for path in files}
    return sorted(needed(files) - shipped - set(base) - needed(interpreter_files))


def interpreter_files(executable: Path, prefix: Path, version: tuple[int, int]) -> list[Path]:
    """The host interpreter and its standard library's extension modules (what it loads itself)."""
    dynload = prefix / "lib" / f"python{version[0]}.{version[1]}" / "lib-dynload"
    libraries = sorted((prefix / "lib").glob("libpython*.so*"))
    return [executable, *libraries, *(sorted(dynload.glob("*.so")) if dynload.is_dir() else [])]


def host_places(names: Iterable[str]) -> dict[str, list[str]]:
    """Where this host's loader finds each name: real directory -> the names in it (``ldconfig -p`` and the
    default directories)."""
    wanted = set(names)
    places: dict[str, set[str]] = {}
    try:
        listed = capture(["/sbin/ldconfig", "-p"], "verify: ldconfig -p", deadline=30).stdout
    except (OSError, DeadlineError):
        listed = ""
    for line in listed.splitlines():
        name, _, path = line.strip().partition(" => ")
        name = name.split(" ", 1)[0]
        if name in wanted and path:
            places.setdefault(os.path.realpath(os.path.dirname(path)), set()).add(name)
    for directory in _DEFAULT_DIRS:
        for name in wanted:
            if os.path.lexists(os.path.join(directory, name)):
                places.setdefault(os.path.realpath(directory), set()).add(name)
    return {directory: sorted(found) for directory, found in sorted(places.items())}


def overlay_available() -> bool:
    try:
        return "overlay" in Path("/proc/filesystems").read_text()
    except OSError:
        return False
