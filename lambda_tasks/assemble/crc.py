"""Checking a wheel's bytes: every member inflates to the CRC and size its zip directory says.

Inflating runs at ~100-190 MB/s here, raw copying at ~10x that: each wheel content is checked once
(``check_wheel``, which ``collect.check_wheels`` runs and remembers), and the archive then copies its members'
compressed bytes as they are. A member of a wheel not checked that way is checked while it is copied
(``MemberCheck``). The same pass hands each member's first bytes (and an ELF file's whole body) to the binary
audit, so that a cold build inflates every member once.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from ..entries import WheelMember
from ..errors import WheelError
from .wheel_checks import Expected, hash_problem

STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
CHECK_BLOCK = 1 << 18  # compressed bytes per step when inflating to check (cache-friendly)
_SPOOL_BYTES = 64 * 1024 * 1024  # a kept member bigger than this goes to a temporary file
ELF_MAGIC = b"\x7fELF"


def data_offset(member: WheelMember, handle: BinaryIO | None = None) -> int:
    """Where a member's compressed bytes start: after its local header, whose lengths may differ from the
    central directory's. ``handle``: the wheel, already open."""
    if handle is None:
        with open(member.wheel, "rb") as opened:
            return data_offset(member, opened)
    handle.seek(member.info.header_offset)
    header = handle.read(LOCAL.size)
    if len(header) != LOCAL.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{member.wheel}: bad local header for {member.info.filename}")
    name_len, extra_len = struct.unpack("<2H", header[26:30])
    return int(member.info.header_offset) + LOCAL.size + int(name_len) + int(extra_len)


def damaged(wheel: str, member: str, detail: str) -> WheelError:
    """The one error for a wheel whose bytes are not what its zip directory says."""
    first = f"{wheel} is damaged: {member} does not match its CRC or size"
    if len(first) >= 160:
        first, detail = f"{wheel} is damaged: a member does not match its CRC or size", f"{member}: {detail}"
    return WheelError(f"{first}\n  {detail}\n"
                      "  replace it with a good copy of the wheel (build or download it again)")


class MemberCheck:
    """Inflates a member's raw bytes as they pass and compares the CRC and size with the zip's."""

    def __init__(self, wheel: str, member: str, method: int, crc: int, size: int, keep: bytes = b"",
                 algorithm: str | None = None) -> None:
        self.wheel, self.member, self.crc, self.size = wheel, member, crc, size
        #: the hash RECORD names for the member, computed on the inflated bytes
        self.hasher = hashlib.new(algorithm) if algorithm else None
        self._inflater = zlib.decompressobj(-15) if method == DEFLATED else None
        self._crc, self._size = 0, 0
        self.head = b""  # the first 4 bytes
        #: the whole member, kept when its head is ``keep`` (for a check that needs it all: ELF files)
        self.body: BinaryIO | None = None
        self._keep, self._early = keep, list[bytes]()

    def feed(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._take(chunk)
            return
        try:
            while chunk:
                data = self._inflater.decompress(chunk, 1 << 20)  # bounded: a zip bomb cannot fill memory
                chunk = self._inflater.unconsumed_tail
                self._take(data)
        except zlib.error as error:
            raise damaged(self.wheel, self.member, f"the deflate stream is corrupt ({error})") from None

    def _take(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        if self.hasher is not None:
            self.hasher.update(data)
        self._size += len(data)
        if self._size > self.size:
            raise damaged(self.wheel, self.member, f"it inflates past its size of {self.size:,} bytes")
        if self.body is not None:
            self.body.write(data)
        elif len(self.head) < 4:
            self.head += data[: 4 - len(self.head)]
            self._early.append(data)
            if len(self.head) == 4:
                if self._keep and self.head == self._keep:
                    body = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by close()
                    for part in self._early:
                        body.write(part)
                    self.body = body  # type: ignore[assignment]  # a binary file, as typeshed does not say
                self._early = []

    def finish(self) -> None:
        if self._inflater is not None:
            self._take(self._inflater.flush())
            if not self._inflater.eof:
                raise damaged(self.wheel, self.member, "the deflate stream ends early")
        if (self._crc, self._size) != (self.crc, self.size):
            raise damaged(self.wheel, self.member, f"CRC {self._crc:08x}, {self._size:,} bytes; "
                          f"the zip directory says {self.crc:08x}, {self.size:,} bytes")
        if self.body is not None:
            self.body.seek(0)

    def close(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None


#: ``inspect(info, head, body)``: a member's first 4 bytes and, when they are ELF's magic, all its bytes.
Inspect = Callable[[zipfile.ZipInfo, bytes, "BinaryIO | None"], None]


def check_wheel(path: Path, infos: Sequence[zipfile.ZipInfo], label: str | None = None,
                inspect: Inspect | None = None, record: Mapping[str, Expected] | None = None) -> None:
    """Inflate every member of the wheel at ``path`` and compare its CRC and size with ``infos`` (its zip
    directory), and its hash with ``record`` (RECORD's rows, ``wheel_checks.check_members``);
    :class:`WheelError` naming the wheel and member on the first difference.

    ``inspect`` is given each member once its CRC is checked (the binary audit reads ELF files there, so a
    cold build inflates each member once, not twice)."""
    label = label or path.name
    with open(path, "rb") as handle:
        for info in infos:
            expected = record.get(info.filename) if record is not None else None
            algorithm = expected.algorithm if expected is not None else None
            if info.compress_type not in (STORED, DEFLATED):
                digest = _check_by_zipfile(path, info, label, algorithm)
                if expected is not None and digest is not None and (error := hash_problem(label, info.filename,
                                                                                          expected, digest)):
                    raise error
                continue  # rare: the audit reads these members itself
            try:
                offset = data_offset(WheelMember(path, info), handle)
            except zipfile.BadZipFile:
                raise damaged(label, info.filename, "its local header is missing or wrong") from None
            handle.seek(offset)
            check = MemberCheck(label, info.filename, info.compress_type, info.CRC, info.file_size,
                                 ELF_MAGIC if inspect else b"", algorithm)
            try:
                length = info.compress_size
                while length:
                    chunk = handle.read(min(length, CHECK_BLOCK))
                    if not chunk:
                        raise damaged(label, info.filename, "the file ends inside this member (truncated?)")
                    check.feed(chunk)
                    length -= len(chunk)
                check.finish()
                if expected is not None and check.hasher is not None and \
                        (error := hash_problem(label, info.filename, expected, check.hasher.digest())):
                    raise error
                if inspect is not None:
                    inspect(info, check.head, check.body)
            finally:
                check.close()


def _check_by_zipfile(path: Path, info: zipfile.ZipInfo, label: str, algorithm: str | None) -> bytes | None:
    """Deflate64, bzip2, lzma: zipfile inflates them and checks the CRC at the end; their ``algorithm`` digest."""
    hasher = hashlib.new(algorithm) if algorithm else None
    try:
        with WheelMember(path, info).open() as member:
            while chunk := member.read(1 << 20):
                if hasher is not None:
                    hasher.update(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise damaged(label, info.filename, str(error)) from None
    return hasher.digest() if hasher is not None else None
