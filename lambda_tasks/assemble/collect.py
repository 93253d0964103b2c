"""Entries for the zips, read straight from the project, vendor/ and the wheels (never unpacked to disk)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import zipfile
import zlib
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..entries import (
    APP_MOUNT,
    EXEC_MODE,
    FILE_MODE,
    LAYER_MOUNT,
    LAYER_PREFIX,
    VENDOR_PREFIX,
    BytesSource,
    Entry,
    FileSource,
    WheelMember,
)
from ..errors import ProjectError, WheelError
from ..files import cache_dir, content_sha256s, write_atomic
from ..project_paths import ProjectPath
from ..report import Reporter
from ..targets import Target
from . import tree
from .wheel_checks import check_members, check_tree
from .wheel_checks import installed_path as _installed_path
from .wheel_checks import is_record as _is_record

if TYPE_CHECKING:
    from ..checks.audit import Memo
    from .crc import Inspect



# ------------------------------------------------------------------------------------------- vendor/


def file_entry(arcname: str, path: Path, unit: str) -> Entry:
    info = path.stat()
    mode = EXEC_MODE if info.st_mode & stat.S_IXUSR else FILE_MODE
    return Entry(arcname, unit, info.st_size, mode, FileSource(path))


def vendor_entries(vendor: ProjectPath | None, root: str = LAYER_PREFIX) -> tuple[list[Entry], list[Path]]:
    """Files of vendor/ (each top-level entry a unit) and the wheels found at its top, to unpack.

    vendor/lib/, unless it is a Python package, holds native libraries: it goes to the layer's lib/ (/opt/lib,
    or /var/task/lib in an image), which is on Lambda's library path."""
    if vendor is None:
        return [], []
    entries: list[Entry] = []
    wheels: list[Path] = []
    libraries = not (vendor.path / "lib" / "__init__.py").exists()
    for rel, found in tree.walk_files(vendor):
        if "/" not in rel and rel.endswith(".whl"):
            wheels.append(found.path)
            continue
        top = rel.split("/", 1)[0]
        arcname = rel if libraries and top == "lib" and "/" in rel else root + rel
        entries.append(file_entry(arcname, found.path, VENDOR_PREFIX + top))
    return entries, wheels


def vendor_libraries(vendor_dir: ProjectPath | None, image: bool) -> list[str]:
    """Where vendor/lib/'s native libraries are on Lambda (/opt/lib, or /var/task/lib in an image): the function
    zip's own compiled files may need them."""
    root = APP_MOUNT if image else LAYER_MOUNT
    return [f"{root}/{entry.arcname}" for entry in vendor_entries(vendor_dir)[0]
            if not entry.arcname.startswith(LAYER_PREFIX)]


# -------------------------------------------------------------------------------------------- wheels


def wheel_name(wheel: Path, label: str | None = None) -> str:
    """The wheel's canonical distribution name; :class:`WheelError` when its file name is not a wheel's."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.utils import canonicalize_name, parse_wheel_filename

    try:
        return str(canonicalize_name(parse_wheel_filename(wheel.name)[0]))
    except ValueError as exc:
        raise WheelError(
            f"{label or wheel.name} is not a valid wheel file name\n  {exc}\n"
            "  a wheel is named <name>-<version>(-<build>)-<python>-<abi>-<platform>.whl: use the name it was "
            "built with, or remove it"
        ) from None


def open_wheel(wheel: Path, label: str | None = None) -> zipfile.ZipFile:
    """The wheel as a zip; :class:`WheelError` when it is not one (damaged, truncated, not a zip)."""
    try:
        return zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise WheelError(
            f"{label or wheel.name} is not a readable wheel: it is damaged or truncated\n  {exc}\n"
            "  replace it with a good copy of the wheel (build or download it again)"
        ) from None


def wheel_entries(wheel: Path, root: str = LAYER_PREFIX, label: str | None = None,
                  checked: bool = False) -> list[Entry]:
    """A wheel's files as an installer would lay them out, read in place.

    ``<dist>.data/purelib`` and ``platlib`` go to the top; scripts, headers and data are left out (Lambda
    never runs them and their install paths are host-specific); RECORD is rewritten when that moves files.
    ``label`` names the wheel in errors (default: its file name); ``checked``: its members' CRCs were checked
    (:func:`check_wheels`), so the archive copies their bytes without inflating them again.
    """
    name = wheel_name(wheel, label)
    archive = open_wheel(wheel, label)
    with archive, open(wheel, "rb") as handle:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        record_info = next((i for i in infos if _is_record(i.filename)), None)
        entries: list[Entry] = []
        moved: dict[str, str | None] = {}  # wheel path -> installed path (None: left out)
        for info in infos:
            target = _installed_path(info.filename)
            if target != info.filename:
                moved[info.filename] = target
            if target is None or info is record_info:
                continue
            mode = EXEC_MODE if (info.external_attr >> 16) & 0o111 else FILE_MODE
            member = WheelMember(wheel, info, checked, _data_at(WheelMember(wheel, info), handle))
            entries.append(Entry(root + target, name, info.file_size, mode, member))
        if record_info is not None:
            if moved:
                try:
                    data = _rewrite_record(archive.read(record_info), moved)
                except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as exc:
                    # lazy: the checks of wheels being collected; a no-op build does not load them (start-up time)
                    from .crc import damaged

                    raise damaged(label or wheel.name, record_info.filename, str(exc)) from None
                entries.append(Entry(root + record_info.filename, name, len(data), FILE_MODE, BytesSource(data)))
            else:
                entries.append(Entry(root + record_info.filename, name, record_info.file_size, FILE_MODE,
                                     WheelMember(wheel, record_info, checked)))
    return entries


def _data_at(member: WheelMember, handle: BinaryIO) -> int:
    """Where the member's compressed bytes start (read once here, so packing does not open the wheel per
    member); -1 when its local header is bad: packing then reports the damage."""
    # lazy: the checks of wheels being collected; a no-op build does not load them (start-up time)
    from .crc import data_offset

    try:
        return data_offset(member, handle)
    except zipfile.BadZipFile:
        return -1


def _rewrite_record(data: bytes, moved: dict[str, str | None]) -> bytes:
    rows = csv.reader(io.StringIO(data.decode("utf-8")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if not row:
            continue
        path = moved.get(row[0], row[0])
        if path is not None:
            writer.writerow([path, *row[1:]])
    return out.getvalue().encode("utf-8")


def vendored_wheel_units(entries: Iterable[Entry], vendor_dir: Path) -> set[str]:
    """The units of the wheels dropped into vendor/ (the project's own: the secret scan reads them)."""
    wheels = {entry.source.wheel for entry in entries if isinstance(entry.source, WheelMember)}
    inside = {wheel for wheel in wheels if wheel.parent == vendor_dir or wheel.resolve().parent == vendor_dir.resolve()}
    return {entry.unit for entry in entries if isinstance(entry.source, WheelMember) and entry.source.wheel in inside}


def distributions(entries: Iterable[Entry]) -> list[str]:
    return sorted({entry.unit for entry in entries})


def layer_entries(wheels: Sequence[Path], vendor_dir: ProjectPath | None, target: Target, reporter: Reporter,
                  verdicts: Memo | None = None, prechecked: Collection[str] = ()) -> list[Entry]:
    """Every file of the layers: the wheels' (as installed) and vendor/'s, checked for collisions.

    ``verdicts``: the binary audit's memo for ``target``, filled while the wheels' CRCs are checked;
    ``prechecked``: the sha256 of wheel contents checked during this build already."""
    vendored, vendor_wheels = vendor_entries(vendor_dir)
    labels = {wheel: f"vendor/{wheel.name}" for wheel in vendor_wheels}
    for wheel in vendor_wheels:
        wheel_name(wheel, labels[wheel])
        if not target.accepts_wheel(wheel.name):
            raise WheelError(
                f"vendor/{wheel.name} is not built for {target}\n"
                f"  {target} needs one of the tags cp{target.version_nodot}/abi3/none on manylinux {target.machine}\n"
                "  replace it with a wheel built for the target"
            )
    every = [*wheels, *vendor_wheels]
    check_wheels(every, labels, target, verdicts, prechecked)
    entries = [entry for wheel in every for entry in wheel_entries(wheel, label=labels.get(wheel), checked=True)]
    by_name: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: (e.unit, e.arcname)):
        other = by_name.get(entry.arcname)
        if other is None:
            by_name[entry.arcname] = entry
        elif other.size != entry.size:
            reporter.warn(f"{entry.arcname} is shipped by both {other.unit} and {entry.unit}; keeping {other.unit}'s")
    for entry in vendored:
        other = by_name.get(entry.arcname)
        if other is not None:
            raise ProjectError(
                f"vendor/{entry.arcname.removeprefix(LAYER_PREFIX)} collides with a file of the dependency "
                f"{other.unit}\n"
                f"  both would be {entry.arcname} in the layer\n"
                "  remove one of them (from vendor/ or requirements.txt)"
            )
        by_name[entry.arcname] = entry

    check_tree(by_name.values())  # a file beside a directory of one name cannot be unpacked
    return list(by_name.values())


# ------------------------------------------------------------------------------- checking wheels' CRCs

#: Wheel contents (sha256) whose members all inflated to their CRC and size, kept between builds.
_CHECKED_FILE = "checked-wheels.json"
#: The key of the verdicts in it: "2", since RECORD is compared too (older builds' lists do not count).
_CHECKED_KEY = "2"
_MAX_CHECKED = 20_000


def check_wheels(wheels: Sequence[Path], labels: dict[Path, str] | None = None, target: Target | None = None,
                 verdicts: Memo | None = None, prechecked: Collection[str] = ()) -> None:
    """Every member of every wheel inflates to the CRC and size its zip directory says.

    Inflating is slow (about 130 MB/s of output here, 0.4 s for numpy), so each wheel content (sha256, from
    the stat cache) is checked once and the verdict remembered in the cache directory; wheels are checked in
    parallel (zlib releases the GIL). A failure is a :class:`WheelError` naming the wheel and the member.
    With ``target`` and ``verdicts``, the binary audit's verdict on each member checked is put in
    ``verdicts`` from the bytes just inflated, so the audit does not inflate them again. ``prechecked``: the
    sha256 of contents checked so during this build already (``early``).
    """
    labels = labels or {}
    known = checked_contents()
    seen = set(known)
    new = [sha for sha in dict.fromkeys(prechecked) if sha not in seen]
    seen.update(new)
    todo = [(wheel, sha) for wheel, sha in zip(wheels, content_sha256s(wheels), strict=True) if sha not in seen]
    if todo:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1, len(todo))) as pool:
            for _ in pool.map(lambda w: check_wheel_file(w, labels.get(w, w.name), target, verdicts),
                              [wheel for wheel, _ in todo]):
                pass
        new += [sha for _, sha in todo]
    if new:
        with contextlib.suppress(OSError):  # a read-only cache: the wheels are checked again next time
            data = {_CHECKED_KEY: [*known, *new][-_MAX_CHECKED:]}
            write_atomic(cache_dir() / _CHECKED_FILE, json.dumps(data).encode())


def checked_contents() -> list[str]:
    """The sha256 of the wheel contents whose CRCs were checked by earlier builds, oldest first."""
    try:
        data = json.loads((cache_dir() / _CHECKED_FILE).read_text())
        return [str(sha) for sha in data.get(_CHECKED_KEY, [])] if isinstance(data, dict) else []
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def check_wheel_file(wheel: Path, label: str, target: Target | None = None, verdicts: Memo | None = None) -> None:
    """One wheel's check (see :func:`check_wheels`), not remembered: its members as pip would install them
    (``wheel_checks``), then their CRCs, sizes and RECORD hashes."""
    # lazy: the checks of wheels being collected; a no-op build does not load them (start-up time)
    from .crc import check_wheel, damaged

    wheel_name(wheel, label)
    with open_wheel(wheel, label) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        record_info = next((info for info in reversed(infos) if _is_record(info.filename)), None)
    try:
        record = None
        if record_info is not None:
            with WheelMember(wheel, record_info).open() as handle:  # Deflate64 too
                record = handle.read()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise damaged(label, record_info.filename if record_info else "RECORD", str(exc)) from None
    rows = check_members(infos, record, label)
    check_wheel(wheel, infos, label, _auditor(wheel.name, target, verdicts), rows)


def _auditor(wheel_name: str, target: Target | None, verdicts: Memo | None) -> Inspect | None:
    """What puts the audit's verdict on each member of the wheel into ``verdicts``, from its checked bytes."""
    if target is None or verdicts is None:
        return None
    # lazy: the checks of wheels being collected; a no-op build does not load them (start-up time)
    from ..checks import audit

    def inspect(info: zipfile.ZipInfo, head: bytes, body: BinaryIO | None) -> None:
        key = audit.wheel_member_key(wheel_name, info)
        verdicts[key] = audit.verdict(info.filename, info.file_size, head, body, target)

    return inspect
