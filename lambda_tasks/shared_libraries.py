"""Shared-library closure: every ``DT_NEEDED`` of every ELF file that ships, resolved as Lambda's loader would.

glibc's ``ld.so`` looks a needed name up (``elf/dl-load.c``, ``_dl_map_object``), in this order:

1. an object already loaded under that name or ``DT_SONAME``;
2. when the object that needs it has no ``DT_RUNPATH``: its ``DT_RPATH``, then its loader's, up the chain;
3. ``LD_LIBRARY_PATH``: on Lambda :data:`LAMBDA_LIBRARY_PATH`;
4. the needing object's own ``DT_RUNPATH``;
5. ``ld.so.cache`` and the default directories: the base image's libraries (``base_libraries.py``).

``$ORIGIN`` is the directory of the object whose path entry it is. Files are named by where they are on Lambda
(``/var/task/...``, ``/opt/...``). The resolver (:func:`resolve`) is pure; :func:`read_dynamic` reads one ELF
file; :func:`check_laid_out` checks artifacts unpacked as Lambda lays them out (verify).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .base_libraries import FAMILY_NAMES, base_libraries, family
from .errors import VerifyError
from .package_index import PackageIndex
from .targets import Target

#: Lambda's LD_LIBRARY_PATH for the Python runtimes, in order.
LAMBDA_LIBRARY_PATH: tuple[str, ...] = (
    "/var/lang/lib", "/lib64", "/usr/lib64", "/var/runtime", "/var/runtime/lib", "/var/task", "/var/task/lib",
    "/opt/lib",
)
#: The working directory of a Lambda function: where a relative path entry points.
TASK_ROOT = "/var/task"
#: A needed name found in the runtime's base image, not in the artifacts.
IN_BASE = "(base image)"

#: Known ways out: a distribution (or, for vendor/, the top-level module) -> what to use instead.
WAYS_OUT: dict[str, str] = {
    "psycopg2": "psycopg2-binary (its wheel ships libpq)",
    "psycopg": "psycopg[binary] (its wheel ships libpq)",
    "opencv-python": "opencv-python-headless (no GUI: no libGL or X11)",
    "opencv-contrib-python": "opencv-contrib-python-headless (no GUI: no libGL or X11)",
    "cv2": "opencv-python-headless (no GUI: no libGL or X11)",
    "mysqlclient": "PyMySQL (pure Python; needs no libmysqlclient)",
    "MySQLdb": "PyMySQL (pure Python; needs no libmysqlclient)",
}

_EXT_TAG = re.compile(r"^(?P<module>[^.]+)\.(?P<tag>(?:cpython|pypy)[^.]*)\.so$")


@dataclass(frozen=True)
class Dynamic:
    """What the loader reads of an ELF file: its soname, needed names and search paths (split on ``:``)."""

    soname: str | None
    needed: tuple[str, ...]
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()

    def to_json(self) -> list[Any]:
        return [self.soname, list(self.needed), list(self.rpath), list(self.runpath)]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> Dynamic:
        soname, needed, rpath, runpath = value
        return cls(soname, tuple(needed), tuple(rpath), tuple(runpath))


@dataclass(frozen=True)
class Unresolved:
    """``library``, needed by the file at ``path``, is found nowhere Lambda's loader looks."""

    path: str
    library: str
    root: str  # the file Python (or the process) loads whose dependencies lead to ``path``


def dynamic_of(elf: Any, sections: Iterable[Any] | None = None) -> Dynamic | None:
    """The dynamic facts of a parsed ``ELFFile`` (``sections``: its sections, when already listed); None for a
    file without a dynamic section (static, object)."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.elf.dynamic import DynamicSection

    soname: str | None = None
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    found = False
    for section in elf.iter_sections() if sections is None else sections:
        if not isinstance(section, DynamicSection):
            continue
        found = True
        for tag in section.iter_tags():
            kind = tag.entry.d_tag
            if kind == "DT_NEEDED":
                needed.append(str(getattr(tag, "needed", "")))
            elif kind == "DT_SONAME":
                soname = str(getattr(tag, "soname", ""))
            elif kind == "DT_RPATH":
                rpath += [part for part in str(getattr(tag, "rpath", "")).split(":") if part]
            elif kind == "DT_RUNPATH":
                runpath += [part for part in str(getattr(tag, "runpath", "")).split(":") if part]
    if not found:
        return None
    # glibc ignores DT_RPATH when DT_RUNPATH is there (elf/get-dynamic-info.h)
    return Dynamic(soname, tuple(needed), () if runpath else tuple(rpath), tuple(runpath))


def read_dynamic(stream: BinaryIO) -> Dynamic | None:
    """The dynamic facts of one seekable ELF stream."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.elf.elffile import ELFFile

    return dynamic_of(ELFFile(stream))


def expand(entry: str, origin: str) -> str | None:
    """A path entry with ``$ORIGIN`` (the object's directory) and ``$LIB`` filled in, normalised; None when it
    names ``$PLATFORM`` (which we cannot know)."""
    if "$PLATFORM" in entry or "${PLATFORM}" in entry:
        return None
    path = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
    path = path.replace("${LIB}", "lib64").replace("$LIB", "lib64")
    if not path.startswith("/"):
        path = posixpath.join(TASK_ROOT, path)
    return posixpath.normpath(path)


def resolve(objects: Mapping[str, Dynamic], files: Set[str], base: Set[str]) -> list[Unresolved]:
    """Every needed name no search finds, for each root: an ELF file nothing else needs by name (an extension
    module, a plugin, an executable); then each file no root reached, as its own root.

    ``objects``: the ELF files (absolute path on Lambda -> their dynamic facts); ``files``: every shipped file's
    absolute path; ``base``: the names the runtime's base image provides.
    """
    wanted = {name for dynamic in objects.values() for name in dynamic.needed}
    roots = [path for path in sorted(objects) if not ({posixpath.basename(path), objects[path].soname} & wanted)]
    reached: set[str] = set()
    problems: list[Unresolved] = []
    for root in roots:
        problems += _load(root, objects, files, base, reached)
    for path in sorted(objects):
        if path not in reached:
            problems += _load(path, objects, files, base, reached)
    return list(dict.fromkeys(problems))


def _load(root: str, objects: Mapping[str, Dynamic], files: Set[str], base: Set[str],
          reached: set[str]) -> list[Unresolved]:
    """Load ``root`` and its dependencies breadth first, as ``_dl_map_object_deps`` does."""
    loaded: dict[str, str] = {}
    problems: list[Unresolved] = []

    def mark(path: str) -> None:
        loaded[posixpath.basename(path)] = path
        soname = objects[path].soname if path in objects else None
        if soname:
            loaded[soname] = path

    mark(root)
    queue: list[tuple[str, tuple[str, ...]]] = [(root, (root,))]
    seen = {root}
    reached.add(root)
    while queue:
        path, chain = queue.pop(0)
        for name in objects[path].needed:
            if name in loaded:
                continue
            found = _search(name, path, chain, objects, files, base)
            if found is None:
                problems.append(Unresolved(path, name, root))
                continue
            loaded[name] = found
            if found == IN_BASE:
                continue
            mark(found)
            if found in objects and found not in seen:
                seen.add(found)
                reached.add(found)
                queue.append((found, (*chain, found)))
    return problems


def _search(name: str, path: str, chain: tuple[str, ...], objects: Mapping[str, Dynamic], files: Set[str],
            base: Set[str]) -> str | None:
    if "/" in name:  # a path: taken as it is (relative to the working directory)
        direct = posixpath.normpath(name if name.startswith("/") else posixpath.join(TASK_ROOT, name))
        return direct if direct in files else None
    directories: list[str | None] = []
    if not objects[path].runpath:
        for loader in reversed(chain):  # the needing object first, then what loaded it, up to the root
            origin = posixpath.dirname(loader)
            directories += [expand(entry, origin) for entry in objects[loader].rpath]
    directories += LAMBDA_LIBRARY_PATH
    directories += [expand(entry, posixpath.dirname(path)) for entry in objects[path].runpath]
    for directory in directories:
        if directory is not None and posixpath.join(directory, name) in files:
            return posixpath.join(directory, name)
    return IN_BASE if name in base else None


def other_abi_files(paths: Iterable[str], target: Target) -> set[str]:
    """Extension modules built for another Python (version, ABI, implementation or platform) that sit next to
    one the target loads (``_cbson.cpython-39-...so`` beside ``_cbson.cpython-311-...so``): the target's
    interpreter never loads them."""
    loadable = {f"cpython-{target.version_nodot}-{target.machine}-linux-gnu", f"cpython-{target.version_nodot}",
                "abi3"}
    paths = list(paths)
    present: set[tuple[str, str]] = set()  # (directory, module) of a file the target loads
    tagged: list[tuple[str, str, str]] = []
    for path in paths:
        directory, name = posixpath.split(path)
        match = _EXT_TAG.match(name) or re.match(r"^(?P<module>[^.]+)\.(?P<tag>abi3)\.so$", name)
        if match is None:
            if name.endswith(".so") and name.count(".") == 1:
                present.add((directory, name[:-3]))
            continue
        if match.group("tag") in loadable:
            present.add((directory, match.group("module")))
        else:
            tagged.append((path, directory, match.group("module")))
    return {path for path, directory, module in tagged if (directory, module) in present}


def accepted(arcname: str, library: str | None, allow: Sequence[str], prefix: str = "") -> bool:
    """Whether an ``audit_allow`` pattern accepts the file (``GLOB``), or this library of it (``GLOB:LIBRARY``).

    Globs match the file's path in its archive, with or without ``prefix`` (the layer's ``python/``)."""
    bare = arcname.removeprefix(prefix) if prefix else arcname
    for pattern in allow:
        file_glob, _, library_glob = pattern.partition(":")
        if library_glob and (library is None or not fnmatch.fnmatchcase(library, library_glob)):
            continue
        if fnmatch.fnmatchcase(arcname, file_glob) or fnmatch.fnmatchcase(bare, file_glob):
            return True
    return False


def way_out(unit: str, library: str, index: PackageIndex | None = None) -> str:
    """What to do about ``library`` missing for a file of ``unit`` (a distribution or ``vendor/<top>``); without a
    known way out, ``index`` is asked whether ``<name>-binary`` or ``<name>-headless`` exists."""
    name = unit.removeprefix("vendor/")
    known = WAYS_OUT.get(name) or WAYS_OUT.get(name.lower())
    ship = f"ship {library} (and what it needs) under vendor/lib/, which lands in /opt/lib"
    if known:
        return f"use {known} instead of {name}, or {ship}"
    variants = [f"{name}-binary", f"{name}-headless"]
    answers = {variant: index.has(variant) for variant in variants} if index is not None else {}
    found = [variant for variant, has in answers.items() if has]
    if found:
        return f"use {' or '.join(found)} (on the package index) instead of {name}, or {ship}"
    if not answers:
        said = ""
    elif None in answers.values():
        said = f" (whether {' or '.join(variants)} exists could not be asked: {index.why_not or 'no answer'})" \
            if index is not None else ""
    else:
        said = f" (the package index has no {' or '.join(variants)})"
    return f"use a build of {name} that bundles {library} (a wheel made with auditwheel), or {ship}{said}"


def describe(problems: Sequence[Unresolved], target: Target, label: Mapping[str, str], shown: int = 12) -> str:
    """The error for libraries Lambda will not find: a short first line, then one line per file (``shown`` at
    most). ``label``: absolute path -> how to name the file (its path in the archive and its unit)."""
    libraries = sorted({p.library for p in problems})
    by_file: dict[str, tuple[str, list[str]]] = {}
    for problem in problems:
        root, needed = by_file.setdefault(problem.path, (problem.root, []))
        if problem.library not in needed:
            needed.append(problem.library)
    files = len(by_file)
    where = f"{target.runtime} ({FAMILY_NAMES[family(target.runtime)]})"
    named = ", ".join(libraries) if len(libraries) <= 3 else f"{', '.join(libraries[:3])} and {len(libraries) - 3} more"
    head = (f"binary audit failed: {files} file{'s' if files > 1 else ''} need{'s' if files == 1 else ''} "
            f"{named}, which {where} does not have")
    lines = [head, "  not found where Lambda's loader looks (RPATH/RUNPATH, /var/task, /var/task/lib, /opt/lib) "
                   "nor in the base image:"]
    for path, (root, needed) in list(by_file.items())[:shown]:
        via = "" if root == path else f", loaded by {label.get(root, root)}"
        lines.append(f"  {label.get(path, path)} needs {', '.join(needed)}{via}")
    if len(by_file) > shown:
        lines.append(f"  ... and {len(by_file) - shown} more")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- verify


def check_laid_out(task: Path, opt: Path, target: Target, allow: Sequence[str] = (),
                   extra_layers: Sequence[str] = ()) -> list[str]:
    """Check the closure of artifacts unpacked as ``task`` (/var/task) and ``opt`` (/opt).

    Raises :class:`VerifyError` when a library is found nowhere; with ``extra_layers`` (which may provide
    it) returns it as a note of what could not be checked instead."""
    files: set[str] = set()
    objects: dict[str, Dynamic] = {}
    for root, mount in ((task, TASK_ROOT), (opt, "/opt")):
        for directory, _, names in os.walk(root):
            for name in names:
                local = Path(directory) / name
                path = posixpath.join(mount, local.relative_to(root).as_posix())
                files.add(path)
                dynamic = _local_dynamic(local)
                if dynamic is not None:
                    objects[path] = dynamic
    for path in other_abi_files(objects, target):
        del objects[path]
    problems = [p for p in resolve(objects, files, base_libraries(target.runtime, target.python_version))
                if not accepted(p.path, p.library, allow) and not accepted(_archive_name(p.path), p.library,
                                                                           allow, "python/")]
    if not problems:
        return []
    if extra_layers:
        return [f"{p.library} for {p.path} (unless an extra layer provides it)" for p in problems]
    label = {p: p for p in files}
    raise VerifyError(describe(problems, target, label).replace("binary audit failed", "verify failed", 1))


def _archive_name(path: str) -> str:
    return path.removeprefix("/opt/").removeprefix(TASK_ROOT + "/")


def _local_dynamic(path: Path) -> Dynamic | None:
    if path.is_symlink() or not path.is_file():
        return None
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.common.exceptions import ELFError

    with open(path, "rb") as handle:
        if handle.read(4) != b"\x7fELF":
            return None
        handle.seek(0)
        try:
            return read_dynamic(handle)
        except (ELFError, ValueError, KeyError, AssertionError):
            return None  # the build's audit names unreadable files
