"""Raw deflate streams spliced into one, as zlib's examples/gzjoin.c joins gzip files: nothing recompressed.

A deflate stream is a series of blocks; the last has its BFINAL bit (the first bit of its 3-bit header) set and
ends anywhere inside its last byte. To let more data follow, the stream is copied with that one bit cleared and,
when its end-of-block code does not end on a byte boundary, the unused high bits of the last byte cleared and an
empty stored block appended (3 header bits 000, padding to the byte, then 00 00 FF FF: what a sync flush
writes), so that whatever comes next starts on a byte. Every other byte is copied as it is. The one stream ends
with an empty final block (``gzip_members.FINAL_EMPTY``) or a final block of our own.

Finding the last block's header needs the bit position of each block boundary, which Python's zlib does not
give: the system libz does, through ctypes (``inflate`` with ``Z_BLOCK`` returns at each boundary;
``data_type`` then says how many bits of the last byte it took are unused: the next header starts there). The
same pass inflates the stream, so the caller checks and hashes what it decodes. The bytes written are not
inflated again: instead, at every block boundary the BFINAL bit we located must agree with libz's own reading
of it (``data_type`` +64 after the last block), so a header looked for in the wrong place stops the build. The
bytes written depend only on the stream spliced: any libz finds the same boundaries. Where libz cannot be
loaded (``libz()`` is None: Windows has none to find), ``tar.write_layer`` falls back to ``gzip_stream``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import itertools
from collections.abc import Iterable, Iterator

Z_OK, Z_STREAM_END, Z_BLOCK, Z_BUF_ERROR = 0, 1, 5, -5
_BOUNDARY, _LAST = 128, 64  # data_type: stopped at a block boundary; the block just decoded was the last
_OUT = 1 << 18  # at most this much inflated per call: a zip bomb cannot fill memory
#: appended after a stream whose end leaves unused bits in its last byte: an empty stored block's LEN and NLEN
STORED_EMPTY = b"\x00\x00\xff\xff"
_DISAGREE = "libz's block boundaries disagree with the BFINAL bits found from them: no layer written"
_EARLY, _AFTER = "the deflate stream ends early (truncated?)", "there are bytes after the end of its deflate stream"


class JoinError(ValueError):
    """The stream is not a complete, valid raw deflate stream (the caller says whose)."""


class _ZStream(ctypes.Structure):
    _fields_ = [("next_in", ctypes.c_void_p), ("avail_in", ctypes.c_uint), ("total_in", ctypes.c_ulong),
                ("next_out", ctypes.c_void_p), ("avail_out", ctypes.c_uint), ("total_out", ctypes.c_ulong),
                ("msg", ctypes.c_char_p), ("state", ctypes.c_void_p), ("zalloc", ctypes.c_void_p),
                ("zfree", ctypes.c_void_p), ("opaque", ctypes.c_void_p), ("data_type", ctypes.c_int),
                ("adler", ctypes.c_ulong), ("reserved", ctypes.c_ulong)]


@functools.cache
def libz() -> ctypes.CDLL | None:
    """The system's zlib with what splicing needs, or None (then the layers are compressed anew)."""
    name = ctypes.util.find_library("z")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)  # CDLL calls release the GIL: layers are spliced in parallel
        lib.zlibVersion.restype = ctypes.c_char_p
        lib.inflateInit2_.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.inflate.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.inflateEnd.argtypes = [ctypes.c_void_p]
        lib.crc32_combine64.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int64]
        lib.crc32_combine64.restype = ctypes.c_ulong
        version = lib.zlibVersion()
    except (OSError, AttributeError):
        return None
    if not version or not version.startswith(b"1."):  # the z_stream layout above is zlib 1.x's
        return None
    return lib


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from those of A and B (B ``length2`` bytes long): no pass over the bytes again."""
    lib = libz()
    assert lib is not None
    return int(lib.crc32_combine64(crc1, crc2, length2)) & 0xFFFFFFFF


def realign(last: int, unused: int) -> bytes:
    """The end of a stream whose final byte ``last`` leaves ``unused`` (0..7) high bits unused, so that more
    blocks may follow on a byte boundary: those bits cleared, then an empty stored block where needed."""
    if unused == 0:
        return bytes([last])
    last &= 0xFF >> unused
    # the stored block's three header bits (000) fit into the unused bits, or take one more byte
    return bytes([last]) + (b"\x00" if unused < 3 else b"") + STORED_EMPTY


def _clear_final(held: bytearray, consumed: int, header: int | None, cleared: bool) -> tuple[int | None, bool]:
    """Check the BFINAL bit of the header starting at bit ``header`` of the stream once its byte has been taken
    (``held`` ends with byte ``consumed - 1``), and clear it when set. Returns (the header still to check, cleared)."""
    if header is None or header >> 3 >= consumed:
        return header, cleared
    index = len(held) - consumed + (header >> 3)
    bit = 1 << (header & 7)
    if held[index] & bit:
        held[index] &= ~bit & 0xFF
        return None, True
    return None, cleared


def splice(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """Inflate the raw deflate stream that ``chunks`` make, yielding (bytes to write, bytes inflated) as it goes
    (either may be empty): the stream as it is, its last block's BFINAL bit cleared and its end realigned
    (``realign``). :class:`JoinError` when the stream is corrupt, ends early, or has bytes after its end."""
    lib = libz()
    assert lib is not None, "splice() needs libz: check libz() first"
    state = _Splice(lib)
    if lib.inflateInit2_(ctypes.byref(state.stream), -15, lib.zlibVersion(), ctypes.sizeof(state.stream)) != Z_OK:
        raise MemoryError("zlib's inflateInit2_ failed")
    try:
        # then one chunk of nothing: inflate drains what it holds (the end may be in its bit buffer)
        for chunk in itertools.chain(filter(None, chunks), [b""]):
            yield from state.feed(chunk)
        yield state.last()
    finally:
        lib.inflateEnd(ctypes.byref(state.stream))


class _Splice:
    """One splice's inflate stream and what it has seen: the bytes taken and not yet yielded, and where the
    final block's header and end are."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.stream = _ZStream()
        self.out = ctypes.create_string_buffer(_OUT)
        self.held = bytearray()  # taken by inflate, not yet yielded: always its last byte (a header may be there)
        self.consumed = 0  # bytes inflate has taken
        self.header: int | None = 0  # the bit where the next block's header starts, until its BFINAL bit is checked
        self.cleared = False
        self.unused = -1
        self.ended = False

    def feed(self, chunk: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Inflate ``chunk`` (``b""``: drain what inflate holds), yielding as :func:`splice` does."""
        if self.ended:
            if chunk:
                raise JoinError(_AFTER)
            return
        source = ctypes.c_char_p(chunk)  # inflate reads the bytes object in place (kept alive here)
        self.stream.next_in, self.stream.avail_in = ctypes.cast(source, ctypes.c_void_p), len(chunk)
        full = False
        while not self.ended and (self.stream.avail_in or full or not chunk):
            taken, produced = self._inflate(chunk)
            full = produced == _OUT
            self._check_header()
            yield from self._output(produced)
            if self.ended and self.stream.avail_in:
                raise JoinError(_AFTER)
            if not chunk and not self.ended and not full and not taken:
                raise JoinError(_EARLY)

    def _inflate(self, chunk: bytes) -> tuple[int, int]:
        """One call of inflate, up to a block boundary: (bytes of ``chunk`` taken, bytes inflated into ``out``)."""
        stream = self.stream
        stream.next_out, stream.avail_out = ctypes.addressof(self.out), _OUT
        before = stream.avail_in
        code = self.lib.inflate(ctypes.byref(stream), Z_BLOCK)
        if code == Z_STREAM_END:
            self.ended = True
        elif code == Z_BUF_ERROR:  # no progress possible: all input taken, the stream not at its end
            raise JoinError(_EARLY)
        elif code != Z_OK:
            why = stream.msg.decode(errors="replace") if stream.msg else f"zlib error {code}"
            raise JoinError(f"the deflate stream is corrupt ({why})")
        taken = before - stream.avail_in
        if taken:
            at = len(chunk) - before
            self.held += chunk[at:at + taken]
            self.consumed += taken
        return taken, _OUT - stream.avail_out

    def _check_header(self) -> None:
        """Clear the BFINAL bit of the header now taken, and follow libz to the next block's header."""
        self.header, self.cleared = _clear_final(self.held, self.consumed, self.header, self.cleared)
        kind = self.stream.data_type
        if not (kind & _BOUNDARY and self.consumed):
            return
        # libz read the block's BFINAL bit itself: where we found it must agree, block after block
        if self.header is not None or bool(kind & _LAST) != self.cleared:
            raise AssertionError(_DISAGREE)
        if kind & _LAST:
            self.unused = kind & 7  # after the final block's end-of-block code
        else:  # the next header starts after the bits of the last byte taken that are still unused
            self.header = self.consumed * 8 - (kind & 7)
            self.header, self.cleared = _clear_final(self.held, self.consumed, self.header, self.cleared)

    def _output(self, produced: int) -> Iterator[tuple[bytes, bytes]]:
        """What one inflate call gives: the bytes taken but the last (kept: a header may be there), the data."""
        data = ctypes.string_at(self.out, produced) if produced else b""
        if not self.ended and len(self.held) > 1:
            yield bytes(self.held[:-1]), data
            del self.held[:-1]
        elif data:
            yield b"", data

    def last(self) -> tuple[bytes, bytes]:
        """The stream's last bytes, realigned, once it has ended."""
        if not self.ended:
            raise JoinError(_EARLY)
        if not self.cleared or self.unused < 0 or self.header is not None or not self.held:
            raise AssertionError("a finished deflate stream without its final block's header or end")
        return bytes(self.held[:-1]) + realign(self.held[-1], self.unused), b""
