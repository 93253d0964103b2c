"""Entries for the zips, read straight from the project, vendor/ and the wheels (never unpacked to disk)."""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..entries import (
    APP_UNIT,
    EXEC_MODE,
    FILE_MODE,
    LAYER_PREFIX,
    VENDOR_PREFIX,
    BytesSource,
    Entry,
    FileSource,
    WheelMember,
)
from ..errors import ProjectError, WheelError
from ..report import Reporter
from ..targets import Target

#: Names never shipped: caches, editor and OS litter.
_JUNK_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode", ".DS_Store"}
_JUNK_SUFFIXES = (".pyc", ".pyo", ".swp", ".swo", ".swx", "~", ".orig", ".rej")
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
#: Install-time metadata that says something about the machine that installed, not the package.
_HOST_METADATA = {"INSTALLER", "REQUESTED", "direct_url.json"}


def is_junk(name: str) -> bool:
    """True for files no artifact should carry (checked on each path part)."""
    return (
        name in _JUNK_NAMES
        or name in _JUNK_DIRS
        or name.endswith(_JUNK_SUFFIXES)
        or (name.startswith(".#") or (name.startswith("#") and name.endswith("#")))
    )


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file below root, sorted, junk left out, symlinks followed."""
    for directory, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d) and d != ".git")
        base = Path(directory)
        for name in sorted(filenames):
            if not is_junk(name):
                path = base / name
                yield path.relative_to(root).as_posix(), path


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
            f"no app.py in {project_dir}: the handler module must be there (or point --project-dir at your app)"
        )
    files = [("app.py", app)]
    chalicelib = project_dir / "chalicelib"
    if chalicelib.is_dir():
        files += [(f"chalicelib/{rel}", path) for rel, path in walk_files(chalicelib)]
    return files


def app_entries(project_dir: Path) -> list[Entry]:
    return [_file_entry(arcname, path, APP_UNIT) for arcname, path in app_files(project_dir)]


# ------------------------------------------------------------------------------------------- vendor/


def vendor_entries(vendor_dir: Path, root: str = LAYER_PREFIX) -> tuple[list[Entry], list[Path]]:
    """Files of vendor/ (each top-level entry a unit) and the wheels found at its top, to unpack."""
    if not vendor_dir.is_dir():
        return [], []
    entries: list[Entry] = []
    wheels: list[Path] = []
    for rel, path in walk_files(vendor_dir):
        if "/" not in rel and rel.endswith(".whl"):
            wheels.append(path)
            continue
        top = rel.split("/", 1)[0]
        entries.append(_file_entry(root + rel, path, VENDOR_PREFIX + top))
    return entries, wheels


# -------------------------------------------------------------------------------------------- wheels


def wheel_entries(wheel: Path, root: str = LAYER_PREFIX) -> list[Entry]:
    """A wheel's files as an installer would lay them out, read in place.

    ``<dist>.data/purelib`` and ``platlib`` go to the top; scripts, headers and data are left out (Lambda
    never runs them and their install paths are host-specific); RECORD is rewritten when that moves files.
    """
    from packaging.utils import canonicalize_name, parse_wheel_filename

    try:
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    except ValueError as exc:
        raise WheelError(f"{wheel.name} is not a valid wheel file name: {exc}") from None
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WheelError(f"{wheel} is not a readable wheel ({exc}); delete it and build again") from None
    with archive:
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
            entries.append(Entry(root + target, name, info.file_size, mode, WheelMember(wheel, info)))
        if record_info is not None:
            if moved:
                data = _rewrite_record(archive.read(record_info), moved)
                entries.append(Entry(root + record_info.filename, name, len(data), FILE_MODE, BytesSource(data)))
            else:
                entries.append(Entry(root + record_info.filename, name, record_info.file_size, FILE_MODE,
                                     WheelMember(wheel, record_info)))
    return entries


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


def layer_entries(wheels: Sequence[Path], vendor_dir: Path, target: Target, reporter: Reporter) -> list[Entry]:
    """Every file of the layers: the wheels' (as installed) and vendor/'s, checked for collisions."""
    vendored, vendor_wheels = vendor_entries(vendor_dir)
    for wheel in vendor_wheels:
        if not target.accepts_wheel(wheel.name):
            raise WheelError(
                f"vendor/{wheel.name} is not built for {target} (it needs one of the tags "
                f"cp{target.version_nodot}/abi3/none on manylinux {target.machine}); replace it with a matching wheel"
            )
    entries = [entry for wheel in [*wheels, *vendor_wheels] for entry in wheel_entries(wheel)]
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
                f"{vendor_dir / entry.arcname.removeprefix(LAYER_PREFIX)} collides with {entry.arcname} of the "
                f"installed dependency {other.unit}; "
                f"remove one of them (from vendor/ or requirements.txt)"
            )
        by_name[entry.arcname] = entry
    return list(by_name.values())
