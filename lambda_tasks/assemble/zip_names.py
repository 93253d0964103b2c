"""The member names of a zip, read straight from its central directory.

``zipfile.ZipFile`` builds a ``ZipInfo`` per member (about 4 ms per 1,000): for a kept layer of tens of thousands
of files that is most of an app-only rebuild. Only the names are needed (which top-level modules a layer gives),
so they are read from the 46-byte headers with ``struct``; a zip64 archive, or anything this reader does not
expect, goes to ``zipfile`` instead.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

#: the zip format's two records this reader and archive.py's writer share
CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes: flags at 8, the three lengths at 28
END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_FLAGS = struct.Struct("<H")
_LENGTHS = struct.Struct("<3H")
_MOST_COMMENT = 0xFFFF
_UTF8 = 0x800  # general purpose flag bit 11: the name is UTF-8 (else cp437, as zipfile reads it)


def member_names(path: Path) -> list[str]:
    """Every member's name, in the central directory's order (as ``ZipFile.namelist``); ``BadZipFile`` for what
    is not a zip."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        tail_size = min(size, END.size + _MOST_COMMENT)
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + END.size > len(tail):
            raise zipfile.BadZipFile(f"{path}: no end of central directory")
        _, disk, _, _, count, directory_size, directory_offset, _ = END.unpack_from(tail, at)
        if disk or count == 0xFFFF or directory_offset == 0xFFFFFFFF or directory_offset + directory_size > size:
            return _by_zipfile(path)  # zip64 or split: the standard reader knows those
        handle.seek(directory_offset)
        directory = handle.read(directory_size)
    names: list[str] = []
    offset, end = 0, len(directory) - CENTRAL.size
    while offset <= end:  # only the fields needed, unpacked where they are (a whole header costs 3x)
        if directory.startswith(b"PK\x01\x02", offset) is False:
            return _by_zipfile(path)
        flags = _FLAGS.unpack_from(directory, offset + 8)[0]
        name_length, extra_length, comment_length = _LENGTHS.unpack_from(directory, offset + 28)
        start = offset + CENTRAL.size
        names.append(directory[start:start + name_length].decode("utf-8" if flags & _UTF8 else "cp437"))
        offset = start + name_length + extra_length + comment_length
    return names if len(names) == count else _by_zipfile(path)


def _by_zipfile(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()
