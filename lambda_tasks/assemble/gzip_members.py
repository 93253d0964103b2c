"""Gzip members and deflate blocks written by our own code, so that a layer's bytes do not depend on zlib's.

A gzip file may be a series of members (RFC 1952 2.2); every reader a layer meets takes them (Go's
compress/gzip, which containerd, the registries' clients and skopeo use; zlib's gzip mode; Python's gzip;
GNU gzip and tar). A layer is written as such a series (``tar.write_layer``):

- a wheel member that is deflated in the wheel is a gzip member of its own, whose deflate data is the
  wheel's bytes as they are, with the CRC-32 and length from the zip directory;
- everything between two such members (tar headers, padding, directories, files we compress ourselves) is
  one gzip member: tar headers and zero runs in fixed-Huffman blocks encoded here (a zero run as one literal
  and distance-1 matches: headers are mostly zeros); other file data (app files, vendor/, rewritten RECORDs,
  bytecode, members a wheel stores uncompressed) by zlib at ``OWN_LEVEL``, which picks stored blocks itself
  where deflating does not pay.

Fixed-Huffman blocks are defined bit for bit by RFC 1951 3.2.6: the same bytes from any Python anywhere.
"""

from __future__ import annotations

import functools
import re
import struct

#: no file name, no time, no extra flags, OS unknown: a member header says nothing about the machine
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
#: zlib's fastest level, as go-containerregistry (ko, crane) writes layers; for what we compress ourselves
OWN_LEVEL = 1
#: runs of four zeros or more (as matches), and the rest (as literals, short zero runs included)
_SEGMENTS = re.compile(rb"(\x00{4,})|(?:\x00{0,3}[^\x00])+(?:\x00{1,3}\Z)?|\x00+")
# length symbols 257..285: (base length, extra bits), RFC 1951 3.2.5
_LENGTHS = [(3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10, 0), (11, 1), (13, 1), (15, 1), (17, 1),
            (19, 2), (23, 2), (27, 2), (31, 2), (35, 3), (43, 3), (51, 3), (59, 3), (67, 4), (83, 4), (99, 4),
            (115, 4), (131, 5), (163, 5), (195, 5), (227, 5), (258, 0)]


def trailer(crc: int, size: int) -> bytes:
    return struct.pack("<2L", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


def _reverse(code: int, length: int) -> int:
    """Huffman codes go into the stream from their most significant bit (RFC 1951 3.1.1)."""
    return int(f"{code:0{length}b}"[::-1], 2)


def _literal(byte: int) -> tuple[int, int]:
    if byte < 144:
        return _reverse(0x30 + byte, 8), 8
    return _reverse(0x190 + byte - 144, 9), 9


def _symbol(symbol: int) -> tuple[int, int]:
    """A length symbol (256..285) with the fixed code."""
    if symbol < 280:
        return _reverse(symbol - 256, 7), 7
    return _reverse(0xC0 + symbol - 280, 8), 8


_LITERAL8 = bytes(_literal(byte)[0] if byte < 144 else 0 for byte in range(256))
_EOB = _symbol(256)


def _match(length: int) -> tuple[int, int]:
    """A match of ``length`` (3..258) at distance 1 (distance code 0: five zero bits)."""
    index = max(i for i, (base, _) in enumerate(_LENGTHS) if base <= length)
    base, extra = _LENGTHS[index]
    code, bits = _symbol(257 + index)
    value = code | (length - base) << bits
    return value, bits + extra + 5


@functools.lru_cache(maxsize=4096)
def _zero_run(count: int) -> tuple[int, int]:
    """``count`` zero bytes: a literal zero, then matches at distance 1 (zlib's RLE strategy, our code)."""
    value, bits = _literal(0)
    left = count - 1
    while left >= 3:
        length = min(left, 258)
        if left - length in (1, 2):  # leave at least three for the last match
            length = left - 3
        match, match_bits = _match(length)
        value |= match << bits
        bits += match_bits
        left -= length
    for _ in range(left):
        literal, literal_bits = _literal(0)
        value |= literal << bits
        bits += literal_bits
    return value, bits


def fixed_block(data: bytes, final: bool) -> bytes:
    """``data`` as one fixed-Huffman block, ending on a byte boundary: a final block is padded with zero bits;
    another is followed by an empty stored block (what zlib's sync flush writes) so that more can follow."""
    value, bits = (1 if final else 0) | 1 << 1, 3  # BFINAL, BTYPE 01
    for found in _SEGMENTS.finditer(data):
        segment = found.group()
        if found.lastindex == 1:
            piece, piece_bits = _zero_run(len(segment))
        elif max(segment) < 144:
            piece, piece_bits = int.from_bytes(segment.translate(_LITERAL8), "little"), 8 * len(segment)
        else:
            piece, piece_bits = 0, 0
            for byte in segment:
                code, code_bits = _literal(byte)
                piece |= code << piece_bits
                piece_bits += code_bits
        value |= piece << bits
        bits += piece_bits
    value |= _EOB[0] << bits
    bits += _EOB[1]
    if not final:
        bits += 3  # an empty stored block: BFINAL 0, BTYPE 00, then padding to the byte and LEN 0, NLEN 0xFFFF
        return value.to_bytes(-(-bits // 8), "little") + b"\x00\x00\xff\xff"
    return value.to_bytes(-(-bits // 8), "little")


#: the empty final block that ends a member whose last block was not final
FINAL_EMPTY = b"\x03\x00"
