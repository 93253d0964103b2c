"""Deterministic gzip tars for image layers, written straight from the entries (nothing unpacked to disk).

Like ``archive.py`` for zips: members sorted by name, every directory above a file included (mode 0755), one
timestamp (0, or SOURCE_DATE_EPOCH), uid/gid 0 with no user or group names, modes 0644/0755, PAX headers only
where ustar cannot hold a name; gzip with no file name and no time. The uncompressed tar's exact length is
known before writing (the 10 GB check needs it). A wheel member is inflated by zipfile, which checks its CRC;
its length is checked against the zip directory's as it is copied.

The uncompressed tar (its digest is the config's diff_id) is the same on every machine; the gzip stream is
zlib's at a fixed level (1), the same wherever zlib is (a zlib-ng built Python could compress differently).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..entries import DIR_MODE, BytesSource, Entry, FileSource, WheelMember
from ..errors import ProjectError
from ..files import content_sha256
from .crc import damaged

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 10240
#: zlib's fastest level, as go-containerregistry (ko, crane) writes layers: level 6 made numpy + pandas + pyarrow
#: + scipy 13% smaller (116 MB, not 133) at several times the compression time (benchmarks/image.py)
GZIP_LEVEL = 1
_CHUNK = 1 << 20


def mtime() -> int:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return max(int(epoch), 0) if epoch and epoch.isdigit() else 0


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
        info = tarfile.TarInfo(self.name.rstrip("/"))
        info.type = tarfile.DIRTYPE if self.entry is None else tarfile.REGTYPE
        info.size, info.mode, info.mtime = self.size, self.mode, when
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


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


def tar_size(layer: Sequence[Member]) -> int:
    """The exact length of the tar ``write_layer`` writes for these members."""
    when = mtime()
    body = sum(len(m.header(when)) + -(-m.size // BLOCK) * BLOCK for m in layer) + 2 * BLOCK
    return -(-body // RECORD) * RECORD


def entries_key(layer: Sequence[Member]) -> str:
    """Identifies a layer's tar without writing it: the same key, the same bytes."""
    rows = [(m.name, m.mode, m.size, _source_id(m.entry)) for m in layer]
    return hashlib.sha256(json.dumps([mtime(), GZIP_LEVEL, rows]).encode()).hexdigest()


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
    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.count, self.hash = raw, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.hash.update(data)
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def write_layer(directory: Path, layer: Sequence[Member]) -> WrittenLayer:
    """Write the gzip tar into ``directory`` (an OCI layout's blobs/sha256), named by its digest; through a temp
    file, so a killed build leaves no blob whose name lies about its bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".layer.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    when = mtime()
    try:
        with os.fdopen(fd, "wb") as raw:
            packed = _Hashing(raw)
            with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=packed,
                               mtime=0) as gz:
                tar = _Hashing(gz)  # type: ignore[arg-type]
                for member in layer:
                    tar.write(member.header(when))
                    if member.entry is not None:
                        _copy(member, tar)
                tar.write(b"\0" * (2 * BLOCK))
                tar.write(b"\0" * (-tar.count % RECORD))
        digest = packed.hash.hexdigest()
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / digest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenLayer(f"sha256:{digest}", packed.count, f"sha256:{tar.hash.hexdigest()}", tar.count)


def _copy(member: Member, out: _Hashing) -> None:
    entry = member.entry
    assert entry is not None
    left = entry.size
    source = entry.source
    try:
        with entry.open() as handle:
            while True:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                left -= len(chunk)
                if left < 0:
                    break
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        if isinstance(source, WheelMember):
            raise damaged(source.wheel.name, source.info.filename, str(error)) from None
        raise
    if left != 0:
        if isinstance(source, WheelMember):
            raise damaged(source.wheel.name, source.info.filename, f"it is not {entry.size:,} bytes long")
        raise ProjectError(f"{entry.arcname} changed while the image was being written\n"
                           "  run the build again when nothing is editing the project")
    out.write(b"\0" * (-entry.size % BLOCK))
