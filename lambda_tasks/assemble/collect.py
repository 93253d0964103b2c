"""Entries for the zips, read straight from the project, vendor/ and the wheels (never unpacked to disk)."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..entries import (
    APP_MOUNT,
    APP_UNIT,
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
from ..report import Reporter
from ..targets import Target
from . import tree

if TYPE_CHECKING:
    from ..checks.audit import Memo
    from .crc import Inspect

#: Install-time metadata that says something about the machine that installed, not the package.
_HOST_METADATA = {"INSTALLER", "REQUESTED", "direct_url.json"}


def walk_files(root: Path, allowed: Sequence[Path] = ()) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file below root, sorted, junk left out; a symlink is followed only
    when it stays inside ``root`` or ``allowed`` (see tree.py)."""
    return tree.walk_files(root, allowed)


def _file_entry(arcname: str, path: Path, unit: str) -> Entry:
    info = path.stat()
    mode = EXEC_MODE if info.st_mode & stat.S_IXUSR else FILE_MODE
    return Entry(arcname, unit, info.st_size, mode, FileSource(path))


# --------------------------------------------------------------------------------------------- the app


def app_files(project_dir: Path) -> list[tuple[str, Path]]:
    """app.py and everything under chalicelib/, as (arcname, path)."""
    app = project_dir / "app.py"
    if not app.is_file():
        raise ProjectError(
            f"no app.py in the project directory: the handler module must be there\n  in {project_dir}\n"
            "  point --project-dir (or project_dir) at your app"
        )
    files = [("app.py", app)]
    chalicelib = project_dir / "chalicelib"
    if chalicelib.is_dir():
        files += [(f"chalicelib/{rel}", path) for rel, path in walk_files(chalicelib, [project_dir])]
    return files


def app_entries(project_dir: Path) -> list[Entry]:
    return [_file_entry(arcname, path, APP_UNIT) for arcname, path in app_files(project_dir)]


# ------------------------------------------------------------------------------------------- vendor/


def vendor_entries(vendor_dir: Path, root: str = LAYER_PREFIX,
                   project_dir: Path | None = None) -> tuple[list[Entry], list[Path]]:
    """Files of vendor/ (each top-level entry a unit) and the wheels found at its top, to unpack.

    vendor/lib/, unless it is a Python package, holds native libraries: it goes to the layer's lib/ (/opt/lib,
    or /var/task/lib in an image), which is on Lambda's library path."""
    if not vendor_dir.is_dir():
        return [], []
    entries: list[Entry] = []
    wheels: list[Path] = []
    libraries = not (vendor_dir / "lib" / "__init__.py").exists()
    for rel, path in walk_files(vendor_dir, [project_dir or vendor_dir.parent]):
        if "/" not in rel and rel.endswith(".whl"):
            wheels.append(path)
            continue
        top = rel.split("/", 1)[0]
        arcname = rel if libraries and top == "lib" and "/" in rel else root + rel
        entries.append(_file_entry(arcname, path, VENDOR_PREFIX + top))
    return entries, wheels


def vendor_libraries(vendor_dir: Path, image: bool) -> list[str]:
    """Where vendor/lib/'s native libraries are on Lambda (/opt/lib, or /var/task/lib in an image): the function
    zip's own compiled files may need them."""
    root = APP_MOUNT if image else LAYER_MOUNT
    return [f"{root}/{entry.arcname}" for entry in vendor_entries(vendor_dir)[0]
            if not entry.arcname.startswith(LAYER_PREFIX)]


# -------------------------------------------------------------------------------------------- wheels


def wheel_name(wheel: Path, label: str | None = None) -> str:
    """The wheel's canonical distribution name; :class:`WheelError` when its file name is not a wheel's."""
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
    from .crc import data_offset

    try:
        return data_offset(member, handle)
    except zipfile.BadZipFile:
        return -1


def _is_record(filename: str) -> bool:
    parts = filename.split("/")
    return len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD"


def _installed_path(filename: str) -> str | None:
    """Where a wheel member lands under site-packages; None when it is not shipped."""
    parts = filename.split("/")
    if parts[0].endswith(".data") and len(parts) > 2:
        return "/".join(parts[2:]) if parts[1] in ("purelib", "platlib") else None
    if parts[0].endswith(".dist-info") and len(parts) == 2 and parts[1] in _HOST_METADATA:
        return None
    return filename


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


def distributions(entries: Iterable[Entry]) -> list[str]:
    return sorted({entry.unit for entry in entries})


def layer_entries(wheels: Sequence[Path], vendor_dir: Path, target: Target, reporter: Reporter,
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
    return list(by_name.values())


# ------------------------------------------------------------------------------- checking wheels' CRCs

#: Wheel contents (sha256) whose members all inflated to their CRC and size, kept between builds.
_CHECKED_FILE = "checked-wheels.json"
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
    import json
    from concurrent.futures import ThreadPoolExecutor

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
            write_atomic(cache_dir() / _CHECKED_FILE, json.dumps([*known, *new][-_MAX_CHECKED:]).encode())


def checked_contents() -> list[str]:
    """The sha256 of the wheel contents whose CRCs were checked by earlier builds, oldest first."""
    import json

    try:
        return [str(sha) for sha in json.loads((cache_dir() / _CHECKED_FILE).read_text())]
    except (OSError, ValueError, TypeError):
        return []


def check_wheel_file(wheel: Path, label: str, target: Target | None = None, verdicts: Memo | None = None) -> None:
    """One wheel's CRC check (see :func:`check_wheels`), not remembered."""
    from .crc import check_wheel

    wheel_name(wheel, label)
    with open_wheel(wheel, label) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    check_wheel(wheel, infos, label, _auditor(wheel.name, target, verdicts))


def _auditor(wheel_name: str, target: Target | None, verdicts: Memo | None) -> Inspect | None:
    """What puts the audit's verdict on each member of the wheel into ``verdicts``, from its checked bytes."""
    if target is None or verdicts is None:
        return None
    from ..checks import audit

    def inspect(info: zipfile.ZipInfo, head: bytes, body: BinaryIO | None) -> None:
        key = audit.wheel_member_key(wheel_name, info)
        verdicts[key] = audit.verdict(info.filename, info.file_size, head, body, target)

    return inspect
