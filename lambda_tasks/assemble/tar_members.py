"""A layer's gzip as a series of members that reuses the wheels' deflate streams (``gzip_members`` says how).

Compressing a layer anew was most of an image build (385 MB at zlib level 1: 5.8x the zip build of the same
dependencies). A wheel member's deflate data is copied as it is, as ``archive.py`` does for zips; it is still
inflated once, since the diff_id is the digest of the uncompressed tar, and that pass checks its length, CRC-32
and end (``inflated``, which the stream writer shares).
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from ..entries import Entry, WheelMember
from ..errors import ProjectError
from . import gzip_members as gz
from .crc import damaged, data_offset

_READ = 1 << 18  # compressed bytes per step (cache-friendly, as archive.py checks them)
_INFLATE = 1 << 20  # at most this much inflated at a time: a zip bomb cannot fill memory


def checked_chunks(entry: Entry, size: int = 1 << 20) -> Iterator[bytes]:
    """An entry's bytes in chunks, exactly as many as it says: a wheel member that inflates badly or to another
    length is damaged (:class:`WheelError`), a file that changed meanwhile is refused."""
    left = entry.size
    source = entry.source
    try:
        with entry.open() as handle:
            while chunk := handle.read(size):
                left -= len(chunk)
                if left < 0:
                    break
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        if isinstance(source, WheelMember):
            raise damaged(source.wheel.name, source.info.filename, str(error)) from None
        raise
    if left != 0:
        if isinstance(source, WheelMember):
            raise damaged(source.wheel.name, source.info.filename, f"it is not {entry.size:,} bytes long")
        raise ProjectError(f"{entry.arcname} changed while the image was being written\n"
                           "  run the build again when nothing is editing the project")


class Member(Protocol):
    """``tar.Member`` as far as writing needs it (tar imports this module)."""

    @property
    def entry(self) -> Entry | None: ...
    @property
    def size(self) -> int: ...
    def header(self, when: int) -> bytes: ...


class Sink(Protocol):
    def write(self, data: bytes) -> int: ...


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


def reused(member: Member) -> WheelMember | None:
    """The deflated wheel member this member's content is (``"members"`` copies its deflate data; both writers
    inflate it in place, with ``inflated``), if any."""
    source = member.entry.source if member.entry is not None else None
    if isinstance(source, WheelMember) and source.info.compress_type == zipfile.ZIP_DEFLATED \
            and source.info.file_size > 0:
        return source
    return None


class _Writer:
    def __init__(self, out: Sink, tar_hash: _Hash) -> None:
        self.out, self.tar_hash, self.tar_count = out, tar_hash, 0
        self.pending = bytearray()  # tar bytes of the open member not yet encoded
        self.pieces: list[bytes] = []  # its non-final deflate blocks so far
        self.crc, self.size = 0, 0  # of the open member's tar bytes

    def _tar(self, data: bytes) -> None:
        self.tar_hash.update(data)
        self.tar_count += len(data)
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)

    def raw(self, data: bytes) -> None:
        """Tar headers and zeros: our fixed-Huffman blocks."""
        self._tar(data)
        self.pending += data

    def own(self, member: Member) -> None:
        """A file we compress ourselves, streamed (a vendored library may be large)."""
        entry = member.entry
        assert entry is not None
        if self.pending and entry.size:
            self.pieces.append(gz.fixed_block(bytes(self.pending), final=False))
            self.pending.clear()
        compressor = zlib.compressobj(gz.OWN_LEVEL, zlib.DEFLATED, -15) if entry.size else None
        for chunk in checked_chunks(entry):
            assert compressor is not None
            self._tar(chunk)
            self.pieces.append(compressor.compress(chunk))
        if compressor is not None:
            self.pieces.append(compressor.flush(zlib.Z_SYNC_FLUSH))

    def close(self) -> None:
        """End the open member (there is always one: a tar header or the end-of-archive blocks)."""
        last = gz.fixed_block(bytes(self.pending), final=True) if self.pending else gz.FINAL_EMPTY
        self.out.write(b"".join([gz.HEADER, *self.pieces, last, gz.trailer(self.crc, self.size)]))
        self.pending.clear()
        self.pieces.clear()
        self.crc = self.size = 0

    def reuse(self, source: WheelMember, handle: BinaryIO) -> None:
        """The open member ended, then a gzip member of the wheel member's deflate data as it is, inflated once
        for the tar's digest."""
        self.close()
        self.out.write(gz.HEADER)
        for raw, data in inflated(source, handle):
            self.out.write(raw)
            self.tar_hash.update(data)
        self.tar_count += source.info.file_size
        self.out.write(gz.trailer(source.info.CRC, source.info.file_size))


def inflated(source: WheelMember, handle: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """A deflated wheel member read in place from ``handle`` (its wheel, open): its compressed bytes and what they
    inflate to, step by step (either may be empty), checked as they pass: every byte is counted into the CRC-32
    and length its zip directory says, and the deflate stream must end where the member does (:class:`WheelError`
    on any difference, once the bytes before it are out: a failed layer is never kept)."""
    info, wheel = source.info, source.wheel.name
    try:
        handle.seek(data_offset(source, handle))
    except zipfile.BadZipFile:
        raise damaged(wheel, info.filename, "its local header is missing or wrong") from None
    inflater = zlib.decompressobj(-15)
    crc, got, left = 0, 0, info.compress_size
    try:
        while left:
            raw = handle.read(min(left, _READ))
            if not raw:
                raise damaged(wheel, info.filename, "the file ends inside this member (truncated?)")
            left -= len(raw)
            chunk = raw
            while chunk:
                data = inflater.decompress(chunk, _INFLATE)
                chunk = inflater.unconsumed_tail
                got += len(data)
                if got > info.file_size:
                    raise damaged(wheel, info.filename, f"it inflates past its size of {info.file_size:,} bytes")
                crc = zlib.crc32(data, crc)  # always: 2 GB/s, and no byte ships unchecked
                yield raw, data
                raw = b""
        if not inflater.eof or inflater.unused_data:  # a gzip member must end where its deflate data does
            raise damaged(wheel, info.filename, "its deflate stream does not end where the member does")
    except zlib.error as error:
        raise damaged(wheel, info.filename, f"the deflate stream is corrupt ({error})") from None
    if got != info.file_size or crc != info.CRC:
        raise damaged(wheel, info.filename, f"{got:,} bytes, CRC {crc:08x}; the zip directory says "
                      f"{info.file_size:,} bytes, CRC {info.CRC:08x}")


class Wheels:
    """The wheels a layer reads, each opened once and closed at the end."""

    def __init__(self) -> None:
        self.handles: dict[Path, BinaryIO] = {}

    def __enter__(self) -> Wheels:
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()

    def open(self, wheel: Path) -> BinaryIO:
        handle = self.handles.get(wheel)
        if handle is None:
            handle = self.handles[wheel] = open(wheel, "rb")  # noqa: SIM115 - closed by __exit__
        return handle


class LayerWriter(Protocol):
    """What both writers do with a layer's pieces (``write_layer`` walks the tar for them)."""

    def raw(self, data: bytes) -> None: ...
    def own(self, member: Member) -> None: ...
    def reuse(self, source: WheelMember, handle: BinaryIO) -> None: ...
    def close(self) -> None: ...


def write_layer(writer: LayerWriter, layer: Sequence[Member], when: int, end: int) -> None:
    """Each member's header, its data (reused from its wheel where it can be, else ours), its padding, then
    the ``end`` bytes of end-of-archive blocks and record padding, and the writer closed."""
    with Wheels() as wheels:
        for member in layer:
            writer.raw(member.header(when))
            if member.entry is None:
                continue
            source = reused(member)
            if source is None:
                writer.own(member)
            else:
                writer.reuse(source, wheels.open(source.wheel))
            writer.raw(b"\0" * (-member.size % tarfile.BLOCKSIZE))
        writer.raw(b"\0" * end)
        writer.close()


def write_members(out: Sink, tar_hash: _Hash, layer: Sequence[Member], when: int, end: int) -> int:
    """Write the layer's gzip members to ``out``, feeding the uncompressed tar to ``tar_hash``; ``end`` is
    the length of the end-of-archive blocks and record padding. Returns the tar's length."""
    writer = _Writer(out, tar_hash)
    write_layer(writer, layer, when, end)
    return writer.tar_count
