"""``image_gzip = "stream"``: a layer as ONE gzip member whose deflate stream is compressed in parallel, as pigz does.

The uncompressed tar is cut into blocks of ``BLOCK`` bytes. Each block is deflated on its own by zlib at
``LEVEL``, primed with the 32 KiB before it as the dictionary (so matches may reach back across the cut, as in
one stream), and ends with a sync flush: its deflate blocks end on a byte boundary and none is final, so the next
block's bytes simply follow. The last block ends with ``Z_FINISH``. Together: one deflate stream, one gzip member
(header, the blocks, the CRC-32 and length of the whole tar), which a reader that takes only a gzip file's first
member reads whole.

The cut points are fixed (every ``BLOCK`` bytes of the tar), never chosen by thread count or load: the output
depends only on the tar, ``LEVEL``, ``BLOCK`` and zlib (a zlib-ng built Python compresses differently). zlib
releases the GIL while it deflates, so the blocks of every layer being written share one pool of threads.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Protocol

from .gzip_members import HEADER, trailer

#: zlib's fastest level, as go-containerregistry (ko, crane) writes layers: level 6 made numpy + pandas + pyarrow
#: + scipy 13% smaller (116 MB, not 133) at several times the compression time
LEVEL = 1
#: bytes of tar per independently deflated block: fixed, so that the bytes never depend on the machine. 1 MiB
#: costs about 5 bytes (the sync flush's empty stored block) and a few cut matches per block: ~0.01%
BLOCK = 1 << 20
WINDOW = 1 << 15  # deflate's window: the dictionary each block starts from
#: blocks of one layer in the pool at a time: enough to keep every thread busy, with memory bounded (~2 MiB each)
AHEAD = 16


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def deflate_block(block: bytes, window: bytes, final: bool) -> bytes:
    """One block of the stream: raw deflate primed with ``window``, sync-flushed (or finished, when final)."""
    if window:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, zlib.DEF_MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, window)
    else:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(block) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


class StreamWriter:
    """Takes the tar's bytes in order (``write``) and writes one gzip member to ``out``; ``pool`` deflates the
    blocks (None: here, one after the other). At most ``ahead`` blocks wait in the pool, bounding memory."""

    def __init__(self, out: Sink, pool: Executor | None = None, ahead: int = AHEAD) -> None:
        self.out, self.pool, self.ahead = out, pool, max(ahead, 1)
        self.buffer = bytearray()
        self.window = b""
        self.crc = self.size = 0
        self.pending: deque[Future[bytes]] = deque()
        out.write(HEADER)

    def write(self, data: bytes) -> int:
        self.buffer += data
        # a full block waits for one more byte, so that the final block is never empty (unless the tar is)
        while len(self.buffer) > BLOCK:
            block = bytes(self.buffer[:BLOCK])
            del self.buffer[:BLOCK]  # O(1) at the front of a bytearray
            self._submit(block, final=False)
        return len(data)

    def _submit(self, block: bytes, final: bool) -> None:
        self.crc = zlib.crc32(block, self.crc)
        self.size += len(block)
        window = self.window
        self.window = (window + block)[-WINDOW:] if len(block) < WINDOW else block[-WINDOW:]
        if self.pool is None:
            self.out.write(deflate_block(block, window, final))
            return
        self.pending.append(self.pool.submit(deflate_block, block, window, final))
        while len(self.pending) > (0 if final else self.ahead):
            self.out.write(self.pending.popleft().result())

    def close(self) -> None:
        """The last block and the trailer (the whole tar's CRC-32 and length)."""
        self._submit(bytes(self.buffer), final=True)
        self.buffer.clear()
        self.out.write(trailer(self.crc, self.size))

    def abandon(self) -> None:
        """After a failure: the blocks not started are dropped (the pool is shared with other layers)."""
        for future in self.pending:
            future.cancel()
        self.pending.clear()


def write_stream(out: Sink, pool: Executor | None, produce: Callable[[Sink], None], ahead: int = AHEAD) -> None:
    """``produce(sink)`` writes the tar to ``sink``; ``out`` gets it as one gzip member."""
    writer = StreamWriter(out, pool, ahead)
    try:
        produce(writer)
        writer.close()
    except BaseException:
        writer.abandon()
        raise
