"""``image_gzip = "stream"``: a layer as ONE gzip member that reuses the wheels' deflate data (``gzip_join``).

The deflate stream is a series of byte-aligned, non-final pieces, then a final block and the trailer:

- a file a wheel holds deflated: the wheel's deflate data as they are, spliced (its last block's BFINAL bit
  cleared, its end realigned with an empty stored block), inflated once on the way for the diff_id and checked
  against the CRC-32 and length of the zip directory (``inflated``'s checks, the same one-line error);
- tar headers, padding and directories: our fixed-Huffman blocks (``gzip_members.fixed_block``, the same
  bytes from any Python);
- other file data (the app, vendor/, bytecode, rewritten RECORDs, members a wheel stores uncompressed): zlib
  at ``gzip_members.OWN_LEVEL`` with a sync flush, as the ``"members"`` writer compresses them.

So a dependency layer's bytes are the same on any machine whatever its zlib, as with ``"members"``, and a reader
that takes only a gzip file's first member reads the whole layer. The gzip trailer's CRC-32 of the whole tar is
combined from each file's CRC (checked) without a second pass over the bytes.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol

from ..entries import WheelMember
from . import gzip_join
from . import gzip_members as gz
from .crc import damaged, data_offset
from .tar_members import Member, Sink, checked_chunks, write_layer

_READ = 1 << 18  # compressed bytes per step


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


class _Joined:
    def __init__(self, out: Sink, tar_hash: _Hash) -> None:
        self.out, self.tar_hash = out, tar_hash
        self.pending = bytearray()  # tar bytes not yet encoded (headers, padding: our fixed-Huffman blocks)
        self.crc = self.size = 0  # of the whole tar so far
        out.write(gz.HEADER)

    def _tar(self, data: bytes) -> None:
        self.tar_hash.update(data)
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)

    def raw(self, data: bytes) -> None:
        self._tar(data)
        self.pending += data

    def _flush(self) -> None:
        if self.pending:
            self.out.write(gz.fixed_block(bytes(self.pending), final=False))
            self.pending.clear()

    def own(self, member: Member) -> None:
        """A file we compress ourselves, streamed, ending on a byte with a sync flush."""
        entry = member.entry
        assert entry is not None
        if not entry.size:
            return
        self._flush()
        compressor = zlib.compressobj(gz.OWN_LEVEL, zlib.DEFLATED, -15)
        for chunk in checked_chunks(entry):
            self._tar(chunk)
            self.out.write(compressor.compress(chunk))
        self.out.write(compressor.flush(zlib.Z_SYNC_FLUSH))

    def reuse(self, source: WheelMember, handle: BinaryIO) -> None:
        """The wheel member's deflate data, spliced in; every byte inflated once, hashed and checked."""
        self._flush()
        info, wheel = source.info, source.wheel.name
        try:
            handle.seek(data_offset(source, handle))
        except zipfile.BadZipFile:
            raise damaged(wheel, info.filename, "its local header is missing or wrong") from None

        def chunks() -> Iterator[bytes]:
            left = info.compress_size
            while left:
                raw = handle.read(min(left, _READ))
                if not raw:
                    raise damaged(wheel, info.filename, "the file ends inside this member (truncated?)")
                left -= len(raw)
                yield raw

        crc = got = 0
        try:
            for raw, data in gzip_join.splice(chunks()):
                if raw:
                    self.out.write(raw)
                if data:
                    got += len(data)
                    if got > info.file_size:
                        raise damaged(wheel, info.filename, f"it inflates past its size of {info.file_size:,} bytes")
                    crc = zlib.crc32(data, crc)  # no byte ships unchecked
                    self.tar_hash.update(data)
        except gzip_join.JoinError as error:
            raise damaged(wheel, info.filename, str(error)) from None
        if got != info.file_size or crc != info.CRC:
            raise damaged(wheel, info.filename, f"{got:,} bytes, CRC {crc:08x}; the zip directory says "
                          f"{info.file_size:,} bytes, CRC {info.CRC:08x}")
        self.crc = gzip_join.crc32_combine(self.crc, crc, got)
        self.size += got

    def close(self) -> None:
        """The final block (the tar's end is always there: zeros), then the whole tar's CRC-32 and length."""
        last = gz.fixed_block(bytes(self.pending), final=True) if self.pending else gz.FINAL_EMPTY
        self.pending.clear()
        self.out.write(last + gz.trailer(self.crc, self.size))


def write_joined(out: Sink, tar_hash: _Hash, layer: Sequence[Member], when: int, end: int) -> int:
    """Write the layer as one gzip member to ``out``, feeding the uncompressed tar to ``tar_hash``; ``end`` is
    the length of the end-of-archive blocks and record padding. Returns the tar's length."""
    writer = _Joined(out, tar_hash)
    write_layer(writer, layer, when, end)
    return writer.size
