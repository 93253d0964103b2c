"""What goes into a zip: an entry is a path in the archive plus where its bytes come from."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755

APP_UNIT = "app"
VENDOR_PREFIX = "vendor/"


@dataclass(frozen=True)
class FileSource:
    """A file on disk (app code, vendor/)."""

    path: Path

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


@dataclass(frozen=True)
class WheelMember:
    """A member of a wheel (or zip), read in place: never unpacked to disk."""

    wheel: Path
    info: zipfile.ZipInfo

    def open(self) -> BinaryIO:
        if self.info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            import zipfile_deflate64  # noqa: F401  (teaches zipfile to read Deflate64)
        archive = zipfile.ZipFile(self.wheel)
        return _ClosingMember(archive, archive.open(self.info))


@dataclass(frozen=True)
class BytesSource:
    """Bytes made by us, e.g. a RECORD rewritten after files moved."""

    data: bytes

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


Source = Union[FileSource, WheelMember, BytesSource]


@dataclass(frozen=True)
class Entry:
    """One file of an archive.

    ``unit`` is what the splitter moves as a whole: a distribution's canonical name, ``vendor/<top entry>``
    or ``app``.
    """

    arcname: str
    unit: str
    size: int
    mode: int
    source: Source

    def open(self) -> BinaryIO:
        return self.source.open()

    def read(self) -> bytes:
        with self.open() as handle:
            return handle.read()


class _ClosingMember(io.RawIOBase):
    """A zip member stream that closes its archive too."""

    def __init__(self, archive: zipfile.ZipFile, member: BinaryIO) -> None:
        self._archive, self._member = archive, member

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._member.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._member.read(size)

    def close(self) -> None:
        if not self.closed:
            self._member.close()
            self._archive.close()
        super().close()
