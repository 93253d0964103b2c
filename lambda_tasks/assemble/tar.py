"""Deterministic gzip tars for image layers, written straight from the entries (nothing unpacked to disk).

Like ``archive.py`` for zips: members sorted by name, every directory above a file included (mode 0755), one
timestamp (0, or SOURCE_DATE_EPOCH), uid/gid 0 with no user or group names, modes 0644/0755, PAX headers only
where ustar cannot hold a name. The uncompressed tar's exact length is known before writing (the 10 GB check
needs it); it is the same on every machine, and so is its digest (the config's diff_id).

Two ways to gzip it (``image_gzip``): ``"members"`` (``tar_members.py``) copies the wheels'
deflate streams, one gzip member each, and encodes the tar headers itself: the same bytes on any machine for
what comes from wheels, and little more work than a zip. ``"stream"`` (the default: every reader, Lambda's
included, is known to take one member) is ONE gzip member: the wheels' deflate streams spliced into one as
zlib's gzjoin does (``tar_join.py``, ``gzip_join.py``: as cheap as "members", the same bytes on any machine
for what comes from wheels), or, where the system's libz cannot be loaded through ctypes (Windows), zlib at
level 1 deflated anew in parallel blocks (``gzip_stream.py``; several times the CPU time, the same only
wherever the same zlib is). The uncompressed tar, hence the diff_id, is the same whichever way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from ..entries import DIR_MODE, BytesSource, Entry, FileSource, WheelMember
from ..files import content_sha256, source_date_epoch
from . import gzip_join, gzip_stream
from .tar_join import write_joined
from .tar_members import Wheels, checked_chunks, inflated, reused, write_members

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 10240
MEMBERS, STREAM = "members", "stream"
#: changes when a writer's bytes change, so that a layer written the old way is not kept as the new way's
_FORMATS = {MEMBERS: "members-1", STREAM: "joined-1"}
_DEFLATED = f"stream-{gzip_stream.LEVEL}-blocks-{gzip_stream.BLOCK}"  # "stream" without libz
_CHUNK = 1 << 20


def mtime() -> int:
    """Every member's time: 0, or SOURCE_DATE_EPOCH (checked by files.source_date_epoch), clamped to what a ustar
    header's 11 octal digits hold (the year 2242)."""
    return min(source_date_epoch() or 0, 8**11 - 1)


@dataclass(frozen=True)
class Member:
    """One tar member: an entry under ``root``, or a directory (``entry`` None)."""

    name: str
    mode: int
    entry: Entry | None = None

    @property
    def size(self) -> int:
        return self.entry.size if self.entry is not None else 0

    def header(self, when: int) -> bytes:
        return _header(self.name, self.entry is None, self.size, self.mode, when)


@functools.lru_cache(maxsize=1 << 17)  # planning sizes a layer, writing writes it: each is made once
def _header(name: str, is_dir: bool, size: int, mode: int, when: int) -> bytes:
    path = name.rstrip("/") + ("/" if is_dir else "")
    if len(path) <= _NAME and path.isascii() and 0 <= size < _OCTAL12 and 0 <= when < _OCTAL12:
        return _ustar(path.encode(), is_dir, size, mode, when)
    info = tarfile.TarInfo(name.rstrip("/"))
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.size, info.mode, info.mtime = size, mode, when
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


_NAME, _OCTAL12 = 100, 8 ** 11  # what ustar's fields hold: past either, tarfile adds a PAX record
_TAIL = b"ustar\x0000" + bytes(32 + 32 + 8 + 8 + 155 + 12)  # magic, version, no names, no device, no prefix


def _ustar(path: bytes, is_dir: bool, size: int, mode: int, when: int) -> bytes:
    """The header tarfile's PAX format writes when no PAX record is needed, byte for byte (a test compares them),
    made directly: a TarInfo per file cost 0.3 s of a cold build's planning for numpy + pandas + pyarrow + scipy."""
    head = b"%s%07o\0%07o\0%07o\0%011o\0%011o\0" % (path.ljust(_NAME, b"\0"), mode & 0o7777, 0, 0, size, when)
    kind = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    rest = kind + bytes(100) + _TAIL
    checksum = sum(head) + 8 * 0x20 + sum(rest)  # the checksum field counts as eight spaces
    return head + b"%06o\0 " % checksum + rest


def members(entries: Sequence[Entry], root: str) -> list[Member]:
    """The entries under ``root`` (``var/task/``) with every directory above them, sorted by name; a later entry
    at the same name wins (the app over a dependency, as /var/task's order does)."""
    files = {f"{root}{entry.arcname}": entry for entry in entries if not entry.arcname.endswith("/")}
    dirs: set[str] = set()
    for name in files:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) + "/" for i in range(len(parts)))
    everything = {name: Member(name, DIR_MODE) for name in dirs}
    everything.update({name: Member(name, entry.mode, entry) for name, entry in files.items()})
    return [everything[name] for name in sorted(everything)]


def _body(layer: Sequence[Member], when: int) -> int:
    return sum(len(m.header(when)) + -(-m.size // BLOCK) * BLOCK for m in layer)


def _end(body: int) -> int:
    """The end-of-archive blocks and the padding to a whole record after ``body`` bytes of members."""
    return -(-(body + 2 * BLOCK) // RECORD) * RECORD - body


def tar_size(layer: Sequence[Member]) -> int:
    """The exact length of the tar ``write_layer`` writes for these members."""
    body = _body(layer, mtime())
    return body + _end(body)


def entries_key(layer: Sequence[Member], gzip_format: str = MEMBERS) -> str:
    """Identifies a layer's blob without writing it: the same key, the same bytes."""
    rows = [(m.name, m.mode, m.size, _source_id(m.entry)) for m in layer]
    return hashlib.sha256(json.dumps([mtime(), format_id(gzip_format), rows]).encode()).hexdigest()


def format_id(gzip_format: str) -> str:
    """What a layer's gzip bytes are made by: "stream" is spliced where libz loads, deflated anew elsewhere."""
    if gzip_format == STREAM and gzip_join.libz() is None:
        return _DEFLATED
    return _FORMATS[gzip_format]


def _source_id(entry: Entry | None) -> str:
    if entry is None:
        return ""
    source = entry.source
    if isinstance(source, WheelMember):
        return f"{source.wheel.name}:{source.info.filename}:{source.info.CRC:08x}"
    if isinstance(source, FileSource):
        return content_sha256(source.path)
    assert isinstance(source, BytesSource)
    return hashlib.sha256(source.data).hexdigest()


@dataclass(frozen=True)
class WrittenLayer:
    digest: str  # sha256:<hex> of the gzip
    size: int
    diff_id: str  # sha256:<hex> of the tar
    unzipped_bytes: int


class _Hashing:
    def __init__(self, raw: gzip_stream.Sink) -> None:
        self.raw, self.count, self.hash = raw, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.hash.update(data)
        self.count += len(data)
        return len(data)



def write_layer(directory: Path, layer: Sequence[Member], gzip_format: str = MEMBERS,
                pool: Executor | None = None) -> WrittenLayer:
    """Write the gzip tar into ``directory`` (an OCI layout's blobs/sha256), named by its digest; through a temp
    file, so a killed build leaves no blob whose name lies about its bytes. ``pool`` deflates a stream's blocks
    (None: this thread); the bytes are the same either way."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".layer.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    when = mtime()
    try:
        with os.fdopen(fd, "wb") as raw:
            packed = _Hashing(raw)
            tar_hash = hashlib.sha256()
            end = _end(_body(layer, when))
            if gzip_format == MEMBERS:
                tar_count = write_members(packed, tar_hash, layer, when, end)
            elif format_id(gzip_format) != _DEFLATED:
                tar_count = write_joined(packed, tar_hash, layer, when, end)
            else:
                tar_count = _write_stream(packed, tar_hash, layer, when, end, pool)
        digest = packed.hash.hexdigest()
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / digest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenLayer(f"sha256:{digest}", packed.count, f"sha256:{tar_hash.hexdigest()}", tar_count)


def _write_stream(packed: _Hashing, tar_hash: hashlib._Hash, layer: Sequence[Member], when: int, end: int,
                  pool: Executor | None) -> int:
    """One gzip member (``gzip_stream``): every byte compressed anew, the blocks in ``pool`` (no libz)."""
    count = 0

    def produce(sink: gzip_stream.Sink) -> None:
        nonlocal count
        tar = _Hashing(sink)
        tar.hash = tar_hash
        with Wheels() as wheels:
            for member in layer:
                tar.write(member.header(when))
                entry = member.entry
                if entry is None:
                    continue
                source = reused(member)
                if source is None:
                    for chunk in checked_chunks(entry, _CHUNK):
                        tar.write(chunk)
                else:
                    for _, data in inflated(source, wheels.open(source.wheel)):
                        tar.write(data)
                tar.write(b"\0" * (-entry.size % BLOCK))
        tar.write(b"\0" * end)
        count = tar.count

    gzip_stream.write_stream(packed, pool, produce)
    return count
