"""Binary audit: every ELF file and extension module must be loadable by the target Lambda runtime.

Checks, per file: the ELF machine (x86-64 / AArch64), the newest ``GLIBC_x.y`` symbol version it needs
against the runtime's glibc, that it does not need musl, and that an extension module's file-name tag
(``cpython-312-x86_64-linux-gnu``) names the runtime's Python and machine. ELF is read with pyelftools.
Then, across the files: every library each one needs is found where Lambda's loader looks
(``shared_libraries.py``). Extension modules for another Python beside the target's are not audited.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import __version__
from ..base_libraries import base_libraries
from ..entries import LAYER_PREFIX, VENDOR_PREFIX, Entry, WheelMember
from ..errors import AuditError
from ..files import cache_dir, write_atomic
from ..package_index import PackageIndex
from ..report import Reporter
from ..shared_libraries import Dynamic, accepted, describe, dynamic_of, other_abi_files, resolve, way_out
from ..targets import Target

ELF_MAGIC = b"\x7fELF"
#: Magic numbers of shared libraries Lambda (Linux) can never load.
FOREIGN_MAGIC = {
    b"\xcf\xfa\xed\xfe": "a macOS Mach-O file",
    b"\xce\xfa\xed\xfe": "a macOS Mach-O file",
    b"\xca\xfe\xba\xbe": "a macOS universal (fat) binary",
    b"MZ": "a Windows PE file",
}
#: pyelftools' e_machine name -> the target's machine (``Target.machine``).
MACHINES = {"EM_X86_64": "x86_64", "EM_AARCH64": "aarch64"}
MACHINE_LABELS = {
    "x86_64": "x86-64",
    "aarch64": "AArch64",
    "EM_386": "x86 (32-bit)",
    "EM_ARM": "ARM (32-bit)",
    "EM_PPC64": "POWER (ppc64)",
    "EM_S390": "s390x",
    "EM_RISCV": "RISC-V",
}
_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")
#: ``mod.<tag>.so`` where tag is e.g. ``cpython-311-x86_64-linux-gnu``, ``cpython-312``, ``pypy39-pp73-...``
_EXT_TAG = re.compile(r"^[^.]+\.(?P<tag>(?:cpython|pypy)[^.]*)\.(?:so|pyd)$")
_CPYTHON_TAG = re.compile(r"^cpython-(?P<ver>\d+)(?P<flags>[a-z]*)(?:-(?P<platform>.+))?$")
#: ELF files bigger than this are spooled to a temporary file instead of memory while parsed.
_SPOOL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One file that cannot load on the target."""

    entry: Entry
    problem: str

    def describe(self) -> str:
        return f"{self.entry.arcname} ({_unit_label(self.entry.unit)}) {self.problem}"


#: A file's verdict: its problems, whether it is ELF, and its dynamic facts (``Dynamic.to_json``) when it has any.
Verdict = tuple[list[str], bool, list[Any] | None]
#: Earlier verdicts on wheel members: member key -> verdict. See :func:`member_key`.
Memo = MutableMapping[str, Verdict]


def member_key(entry: Entry) -> str | None:
    """Names a wheel member's exact bytes (wheel file, member, CRC, size); None for other sources."""
    source = entry.source
    if not isinstance(source, WheelMember):
        return None
    return wheel_member_key(source.wheel.name, source.info)


def wheel_member_key(wheel_name: str, info: zipfile.ZipInfo) -> str:
    return f"{wheel_name}|{info.filename}|{info.CRC:08x}|{info.file_size}"


def audit(
    entries: Iterable[Entry], target: Target, allow: Sequence[str] = (), memo: Memo | None = None, *,
    mount: str | None = None, extra_layers: Sequence[str] = (), reporter: Reporter | None = None,
    shipped: Iterable[str] = (), index: PackageIndex | None = None,
) -> list[Entry]:
    """Check every ELF file and extension module name against ``target``.

    Raise :class:`AuditError` listing each bad file (arcname, its distribution or ``vendor/``, what it
    needs and what the runtime has), unless the file matches an ``allow`` glob. Return the ELF entries
    that passed: these are verified for the target and safe to strip. ``memo`` (for this target) keeps
    the verdicts on wheel members between builds, so a rebuild does not inflate the same binaries again.
    With ``mount`` (where the entries land on Lambda: /var/task or /opt), the libraries each ELF file needs
    must be found too (:func:`check_libraries`), in the entries or in ``shipped`` (absolute paths of what the
    other artifacts put on Lambda's library path); ``index`` is asked for a ``-binary``/``-headless`` variant of
    a distribution missing one.
    """
    entries = _without_other_abi(list(entries), target, reporter)
    findings, verified, dynamics = _sort_verdicts(entries, _verdicts(entries, target, memo), allow)
    try:  # with findings, the libraries the other files need are said too: one round of fixes is enough
        if mount is not None:
            check_libraries(entries, dynamics, mount, target, allow, extra_layers, reporter, shipped, index)
    except AuditError as more:
        if not findings:
            raise
        raise AuditError(format_findings(findings, target) + "\n  and "
                         + str(more).removeprefix("binary audit failed: ")) from None
    if findings:
        raise AuditError(format_findings(findings, target))
    return verified


def _without_other_abi(entries: list[Entry], target: Target, reporter: Reporter | None) -> list[Entry]:
    """The entries less the extension files built for other Pythons (said once: the target never loads them)."""
    other = other_abi_files((e.arcname for e in entries), target)
    if other:
        _say_other_abi([e for e in entries if e.arcname in other], target, reporter)
    return [e for e in entries if e.arcname not in other]


def _verdicts(entries: Sequence[Entry], target: Target, memo: Memo | None) -> list[Verdict]:
    """Each entry's verdict, from ``memo`` where it has the member, else checked (and remembered there)."""
    memo = memo if memo is not None else {}
    keys = [member_key(entry) for entry in entries]
    results: list[Verdict | None] = [None if key is None or key not in memo else memo[key] for key in keys]
    todo = [number for number, result in enumerate(results) if result is None]
    if todo:  # threads: most of the time is inflating the ELF files, and zlib releases the GIL while it does
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            for number, result in zip(todo, pool.map(lambda i: check_entry(entries[i], target), todo), strict=True):
                results[number] = result
                key = keys[number]
                if key is not None:
                    memo[key] = result
    return [result for result in results if result is not None]


def _sort_verdicts(entries: Sequence[Entry], verdicts: Sequence[Verdict], allow: Sequence[str]
                   ) -> tuple[list[Finding], list[Entry], dict[str, tuple[Entry, Dynamic]]]:
    """The findings (less what ``allow`` accepts), the ELF entries that passed, and their dynamic facts."""
    findings: list[Finding] = []
    verified: list[Entry] = []
    dynamics: dict[str, tuple[Entry, Dynamic]] = {}
    for entry, (problems, is_elf, dynamic) in zip(entries, verdicts, strict=True):
        if problems:
            if not _allowed(entry.arcname, allow):
                findings.extend(Finding(entry, problem) for problem in problems)
        elif is_elf:
            verified.append(entry)
        if dynamic is not None and not problems:
            dynamics[entry.arcname] = (entry, Dynamic.from_json(dynamic))
    return findings, verified, dynamics


def check_libraries(entries: Sequence[Entry], dynamics: dict[str, tuple[Entry, Dynamic]], mount: str,
                    target: Target, allow: Sequence[str], extra_layers: Sequence[str],
                    reporter: Reporter | None, shipped: Iterable[str] = (),
                    index: PackageIndex | None = None) -> None:
    """Every library the ELF files need must be in the entries (as they land at ``mount``) or the runtime.

    Raise :class:`AuditError` naming each file, library and way out, unless ``allow`` accepts it; with
    ``extra_layers`` (which may provide it, unseen) each is a warning instead."""
    def on_lambda(arcname: str) -> str:
        return f"{mount.rstrip('/')}/{arcname}"

    by_path = {on_lambda(arcname): entry for arcname, (entry, _) in dynamics.items()}
    objects = {on_lambda(arcname): dynamic for arcname, (_, dynamic) in dynamics.items()}
    files = {on_lambda(entry.arcname) for entry in entries} | set(shipped)
    problems = [p for p in resolve(objects, files, base_libraries(target.runtime, target.python_version))
                if not accepted(by_path[p.path].arcname, p.library, allow, LAYER_PREFIX)]
    if not problems:
        return
    label = {path: f"{entry.arcname} ({_unit_label(entry.unit)})" for path, entry in by_path.items()}
    if extra_layers:
        for problem in problems:
            if reporter is not None:
                reporter.warn(f"{label[problem.path]} needs {problem.library}, which is not in the artifacts nor "
                              f"in {target.runtime}'s base image: not checked, expected from an extra layer")
        return
    lines = [describe(problems, target, label)]
    needs: dict[str, list[str]] = {}
    for problem in problems:
        needs.setdefault(by_path[problem.path].unit, []).append(problem.library)
    for number, (unit, libraries) in enumerate(needs.items()):
        name = f"{unit.removeprefix(VENDOR_PREFIX)} (vendor/)" if unit.startswith(VENDOR_PREFIX) else unit
        asked = index if number < 3 else None  # a few seconds at most for advice
        lines.append(f"  way out for {name}: {way_out(unit, ', '.join(dict.fromkeys(libraries)), asked)}")
    first = problems[0]
    lines.append(f"  or accept one on purpose (GLOB:LIBRARY): audit_allow = "
                 f"[\"{by_path[first.path].arcname.removeprefix(LAYER_PREFIX)}:{first.library}\"]")
    raise AuditError("\n".join(lines))


def _say_other_abi(entries: Sequence[Entry], target: Target, reporter: Reporter | None) -> None:
    if reporter is None:
        return
    size = sum(entry.size for entry in entries)
    units = sorted({_unit_label(entry.unit) for entry in entries})
    reporter.info(f"audit: {len(entries)} extension files built for other Pythons ({', '.join(units)}; {size:,} "
                  f"bytes) not audited: {target.runtime} never loads them (they ship; the slim setting leaves "
                  "them out)")


def format_findings(findings: Sequence[Finding], target: Target) -> str:
    count = len({f.entry.arcname for f in findings})
    files = "1 file" if count == 1 else f"{count} files"
    details = "; ".join(f.describe() for f in findings)
    return (
        f"binary audit failed: {files} cannot load on {target.runtime} ({target.arch}, glibc "
        f"{_version(target.glibc)}): {details}. Use wheels built for the target, rebuild the vendored "
        f"library, or list the file in the audit_allow setting to ship it anyway"
    )


def check_entry(entry: Entry, target: Target) -> Verdict:
    """The problems of one entry, and whether it is an ELF file. Reads only the magic of non-ELF files."""
    if entry.size < 4:
        return verdict(entry.arcname, entry.size, b"", None, target)
    with entry.open() as handle:
        magic = handle.read(4)
        if magic != ELF_MAGIC:
            return verdict(entry.arcname, entry.size, magic, None, target)
        with _seekable(handle, magic) as stream:
            return verdict(entry.arcname, entry.size, magic, stream, target)


def verdict(path: str, size: int, head: bytes, elf: BinaryIO | None, target: Target) -> Verdict:
    """The problems of the file at ``path`` (only its name is read) of ``size`` bytes starting with ``head``,
    whether it is an ELF file, and its dynamic facts; ``elf``: the whole file, seekable, when ``head`` is ELF's
    magic."""
    problems: list[str] = []
    name_problem = check_extension_name(posixpath.basename(path), target)
    if name_problem:
        problems.append(name_problem)
    if size < 4:
        return problems, False, None
    if head != ELF_MAGIC:
        if _is_library_name(path):
            for prefix, kind in FOREIGN_MAGIC.items():
                if head.startswith(prefix):
                    problems.append(f"is {kind}, not a Linux ELF library")
                    break
        return problems, False, None
    if elf is None:
        raise ValueError(f"{path}: an ELF file's verdict needs its bytes")
    elf_problems, dynamic = check_elf(elf, target)
    problems.extend(elf_problems)
    return problems, True, dynamic.to_json() if dynamic is not None else None


def check_extension_name(filename: str, target: Target) -> str | None:
    """A problem when an extension module's file-name tag names another Python, machine or libc."""
    match = _EXT_TAG.match(filename)
    if not match:
        return None
    tag = match.group("tag")
    runtime_has = f"{target.runtime} needs cpython-{target.version_nodot} or abi3"
    if tag.startswith("pypy"):
        return f"is an extension module built for PyPy ({tag}); {runtime_has}"
    cpython = _CPYTHON_TAG.match(tag)
    if not cpython:
        return None
    if cpython.group("ver") != target.version_nodot:
        return f"is an extension module built for cpython-{cpython.group('ver')} ({tag}); {runtime_has}"
    if cpython.group("flags"):
        return (
            f"is an extension module built for a '{cpython.group('flags')}' build of CPython ({tag}); "
            f"{runtime_has} (a regular build)"
        )
    platform = cpython.group("platform")
    expected = f"{target.machine}-linux-gnu"
    if platform and platform != expected:
        return (f"is an extension module built for {platform} ({tag}); "
                f"{target.runtime} on {target.arch} needs {expected}")
    return None


def check_elf(stream: BinaryIO, target: Target) -> tuple[list[str], Dynamic | None]:
    """Machine, libc and glibc symbol-version problems of one seekable ELF stream, and its dynamic facts."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(stream)
        machine = elf["e_machine"]
        found = MACHINES.get(machine)
        if found != target.machine:
            label = MACHINE_LABELS.get(found or machine, machine)
            return [f"is built for {label}; {target.arch} runs {MACHINE_LABELS[target.machine]}"], None
        sections = list(elf.iter_sections())  # parsed once for both
        newest = _newest_glibc(sections)
        dynamic = dynamic_of(elf, sections)
        needed = dynamic.needed if dynamic is not None else ()
    except (ELFError, ValueError, KeyError, AssertionError) as exc:  # pyelftools' ways of saying "malformed"
        return [f"is not a readable ELF file ({exc})"], None
    problems = [
        f"needs musl libc ({name}); Lambda has glibc {_version(target.glibc)}" for name in needed if "musl" in name
    ]
    if newest is not None and newest[:2] > target.glibc:
        problems.append(f"needs GLIBC_{_version(newest)}; {target.runtime} has glibc {_version(target.glibc)}")
    return problems, dynamic


def _newest_glibc(sections: Iterable[Any]) -> tuple[int, ...] | None:
    """The newest GLIBC_x.y symbol version an ELF file (its sections) needs."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.elf.gnuversions import GNUVerNeedSection

    newest: tuple[int, ...] | None = None
    for section in sections:
        if isinstance(section, GNUVerNeedSection):
            for _verneed, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    version = glibc_version(aux.name)
                    if version and (newest is None or version > newest):
                        newest = version
    return newest


def glibc_version(name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.34`` -> (2, 34); other version names (GLIBC_PRIVATE, GLIBCXX_3.4) -> None."""
    match = _GLIBC.match(name)
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _allowed(arcname: str, allow: Sequence[str]) -> bool:
    """``audit_allow`` globs match the arcname, with or without the layer's ``python/`` prefix (``GLOB:LIBRARY``
    patterns accept one library only: see :func:`check_libraries`)."""
    return accepted(arcname, None, allow, LAYER_PREFIX)


def _unit_label(unit: str) -> str:
    return VENDOR_PREFIX if unit.startswith(VENDOR_PREFIX) else unit


def _is_library_name(arcname: str) -> bool:
    name = posixpath.basename(arcname)
    return name.endswith((".so", ".pyd", ".dylib")) or ".so." in name


def _version(version: Sequence[int]) -> str:
    return ".".join(map(str, version))


class _seekable:
    """A seekable copy of the rest of ``handle`` (wheel members are not cheaply seekable)."""

    def __init__(self, handle: BinaryIO, head: bytes) -> None:
        self._handle, self._head = handle, head
        self._copy: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        copy.write(self._head)
        shutil.copyfileobj(self._handle, copy, 1024 * 1024)
        copy.seek(0)
        self._copy = copy  # type: ignore[assignment]
        return copy  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._copy is not None:
            self._copy.close()


@contextmanager
def remembered_verdicts(target: Target) -> Iterator[Memo]:
    """The audit's verdicts on wheel members for ``target``, kept in lambda-tasks' cache between builds.

    Keyed by this version of lambda-tasks too: a newer audit looks at every file again.
    """
    path = cache_dir() / "audit" / f"{target.runtime}-{target.arch}-{__version__}-v2.json"
    try:
        memo: Memo = {key: (list(value[0]), bool(value[1]), value[2])
                      for key, value in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        memo = {}
    before = len(memo)
    yield memo
    if len(memo) != before:
        write_atomic(path, json.dumps(memo, sort_keys=True).encode())
