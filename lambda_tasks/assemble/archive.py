"""Deterministic zips, written from already-compressed entries.

A member deflated inside a wheel keeps its compressed bytes: its deflate stream, CRC and sizes are copied
as they are and only the name changes (``python/`` is added). Everything else is deflated once, in
parallel (zlib releases the GIL). Sizes are therefore known exactly before anything is written, which is
what the limit checks and the splitter need.

Copied bytes are checked, not trusted: every member of a wheel is inflated and its CRC and size compared
with the zip directory's once per wheel content (``check_wheel``, which ``collect.check_wheels`` runs and
remembers: inflating runs at ~100-190 MB/s, raw copying at ~10x that); a member of a wheel not checked that
way (``Packed.verify``) is inflated and checked while it is copied.

Zip layout: entries sorted by name, one fixed timestamp, Unix modes 0644/0755, no extra fields, no data
descriptors; directories get entries of their own so that extraction gives them mode 0755.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..entries import DIR_MODE, Entry, WheelMember
from ..files import Staged, source_date_epoch
from .crc import CHECK_BLOCK, LOCAL, MemberCheck, damaged, data_offset
from .zip_names import CENTRAL, END

COMPRESS_LEVEL = 6
STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory, 56 bytes
_LOCATOR64 = struct.Struct("<4sLQL")  # zip64 end of central directory locator, 20 bytes
_VERSION = 20  # 2.0: deflate and directories
_MADE_BY = (3 << 8) | _VERSION  # made by Unix, so external attributes carry the mode
_UTF8 = 0x800
END_BYTES = END.size + _END64.size + _LOCATOR64.size  # the most a zip's fixed tail can take


@dataclass(frozen=True)
class Packed:
    """An entry with its final compressed form; ``data`` in memory, or ``offset`` into ``wheel``."""

    arcname: str
    unit: str
    mode: int
    crc: int
    size: int
    compress_size: int
    method: int
    data: bytes | None = None
    wheel: Path | None = None
    offset: int = 0
    verify: bool = False  # inflate ``wheel``'s bytes while copying them and check the CRC and size

    @property
    def name_bytes(self) -> bytes:
        return self.arcname.encode("utf-8")

    @property
    def zip_bytes(self) -> int:
        """Exactly what this entry adds to a zip: local header, data and central record."""
        return LOCAL.size + CENTRAL.size + 2 * len(self.name_bytes) + self.compress_size


def directory_entry(arcname: str) -> Packed:
    return Packed(arcname, "", DIR_MODE, 0, 0, 0, STORED, data=b"")


_ZIP_FIRST, _ZIP_LAST = 315_532_800, 4_354_819_198  # 1980-01-01 00:00:00 and 2107-12-31 23:59:58 UTC


def dos_datetime() -> tuple[int, int]:
    """The one timestamp of every entry: 1980-01-01 00:00, or SOURCE_DATE_EPOCH (UTC, 2 s resolution), clamped to
    what a zip's date can say (1980-01-01 to 2107-12-31)."""
    epoch = source_date_epoch()
    if epoch is None:
        return (0 << 9) | (1 << 5) | 1, 0
    t = time.gmtime(min(max(epoch, _ZIP_FIRST), _ZIP_LAST))
    date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return date, (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)


# ---------------------------------------------------------------------------------------------- packing


def deflate(data: bytes) -> tuple[int, bytes]:
    """(method, payload): deflated, unless that would not make it smaller."""
    compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return (DEFLATED, packed) if len(packed) < len(data) else (STORED, data)


def pack_one(entry: Entry) -> Packed:
    """Compress one entry (or find its reusable compressed bytes inside a wheel)."""
    source = entry.source
    if isinstance(source, WheelMember):
        try:
            if source.info.compress_type == DEFLATED:
                return Packed(
                    entry.arcname, entry.unit, entry.mode, source.info.CRC, source.info.file_size,
                    source.info.compress_size, DEFLATED, wheel=source.wheel,
                    offset=source.data_at if source.data_at >= 0 else data_offset(source),
                    verify=not source.checked,
                )
            data = entry.read()  # zipfile checks the CRC at the end
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise damaged(source.wheel.name, source.info.filename, str(error)) from None
    else:
        data = entry.read()
    method, payload = deflate(data)
    return Packed(entry.arcname, entry.unit, entry.mode, zlib.crc32(data), len(data), len(payload), method, payload)


def pack_entries(
    entries: Sequence[Entry],
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[Packed]:
    """Compress every entry once, in parallel; the result keeps the input order."""
    workers = workers or min(8, os.cpu_count() or 1)
    total = len(entries)
    # A wheel member whose deflate stream is reused costs nothing: packed here. Only the rest (deflating) is
    # worth a thread, and a future per file would cost more than most of them take.
    results: list[Packed | None] = [pack_one(entry) if _reused(entry) else None for entry in entries]
    todo = [index for index, packed in enumerate(results) if packed is None]
    done = total - len(todo)
    if progress and done:
        progress(done, total)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for index, packed in zip(todo, pool.map(pack_one, [entries[i] for i in todo]), strict=True):
            results[index] = packed
            done += 1
            if progress and (done == total or done % 256 == 0):
                progress(done, total)
    return [packed for packed in results if packed is not None]


def _reused(entry: Entry) -> bool:
    """A deflated wheel member whose data offset is known: packing it reads nothing."""
    source = entry.source
    return isinstance(source, WheelMember) and source.info.compress_type == DEFLATED and source.data_at >= 0


def with_directories(entries: Iterable[Packed]) -> list[Packed]:
    """The entries plus one for each directory above them, sorted by name."""
    files = {packed.arcname: packed for packed in entries}
    dirs: set[str] = set()
    for name in files:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:depth]) + "/")
    everything = dict(files)
    for directory in dirs:
        everything.setdefault(directory, directory_entry(directory))
    return [everything[name] for name in sorted(everything)]


def zip_size(entries: Sequence[Packed]) -> int:
    """The exact size of the zip ``write_zip`` would write for these (directory-complete) entries."""
    body = sum(packed.zip_bytes for packed in entries)
    return body + _tail_size(len(entries), body)


def _tail_size(count: int, body: int) -> int:
    return END.size + (_END64.size + _LOCATOR64.size if _needs_zip64(count, body) else 0)


def _needs_zip64(count: int, offset: int) -> bool:
    return count >= 0xFFFF or offset >= 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str
    zip_bytes: int
    unzipped_bytes: int


def write_zip(path: Path, entries: Sequence[Packed], staged: list[Staged] | None = None) -> Written:
    """Write ``entries`` (already sorted and directory-complete) to ``path`` through a temp file. With ``staged``,
    the temp file is not renamed but added to it: the caller renames everything at once (files.commit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            out = _HashingWriter(raw)
            _write_members(out, entries)
        os.chmod(tmp, 0o644)
        if staged is None:
            os.replace(tmp, path)
        else:
            staged.append(Staged(tmp, path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    unzipped = sum(packed.size for packed in entries)
    return Written(path, out.hexdigest(), out.count, unzipped)


def _write_members(out: _HashingWriter, entries: Sequence[Packed]) -> None:
    date, clock = dos_datetime()
    sources: dict[Path, BinaryIO] = {}
    central: list[bytes] = []
    try:
        for packed in entries:
            name = packed.name_bytes
            flags = _UTF8 if not packed.arcname.isascii() else 0
            offset = out.count
            out.write(LOCAL.pack(b"PK\x03\x04", _VERSION, flags, packed.method, clock, date, packed.crc,
                                  packed.compress_size, packed.size, len(name), 0))
            out.write(name)
            if packed.data is not None:
                out.write(packed.data)
            else:
                assert packed.wheel is not None
                handle = sources.get(packed.wheel)
                if handle is None:
                    handle = sources[packed.wheel] = open(packed.wheel, "rb")  # noqa: SIM115 - closed below
                handle.seek(packed.offset)
                if packed.verify:
                    _copy_checked(handle, out, packed)
                else:
                    _copy(handle, out, packed.compress_size)
            is_dir = packed.arcname.endswith("/")
            attrs = ((0o040000 if is_dir else 0o100000) | packed.mode) << 16 | (0x10 if is_dir else 0)
            central.append(
                CENTRAL.pack(b"PK\x01\x02", _MADE_BY, _VERSION, flags, packed.method, clock, date, packed.crc,
                              packed.compress_size, packed.size, len(name), 0, 0, 0, 0, attrs,
                              min(offset, 0xFFFFFFFF)) + name
            )
    finally:
        for handle in sources.values():
            handle.close()
    start = out.count
    for record in central:
        out.write(record)
    size = out.count - start
    count = len(entries)
    if _needs_zip64(count, start):
        end64_at = out.count
        out.write(_END64.pack(b"PK\x06\x06", _END64.size - 12, _MADE_BY, 45, 0, 0, count, count, size, start))
        out.write(_LOCATOR64.pack(b"PK\x06\x07", 0, end64_at, 1))
    out.write(END.pack(b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), size,
                        min(start, 0xFFFFFFFF), 0))


def _copy(source: BinaryIO, out: _HashingWriter, length: int) -> None:
    while length:
        chunk = source.read(min(length, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile(f"{getattr(source, 'name', 'wheel')} ended early")
        out.write(chunk)
        length -= len(chunk)


def _copy_checked(source: BinaryIO, out: _HashingWriter, packed: Packed) -> None:
    assert packed.wheel is not None
    check = MemberCheck(packed.wheel.name, packed.arcname, packed.method, packed.crc, packed.size)
    length = packed.compress_size
    while length:
        chunk = source.read(min(length, CHECK_BLOCK))
        if not chunk:
            raise damaged(packed.wheel.name, packed.arcname, "the file ends inside this member")
        check.feed(chunk)
        out.write(chunk)
        length -= len(chunk)
    check.finish()


class _HashingWriter:
    """Counts and hashes what goes to the file, so the zip is never read back."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.count, self._hash = raw, 0, hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self._hash.update(data)
        self.count += len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


