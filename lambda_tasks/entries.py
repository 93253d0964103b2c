"""What goes into a zip: an entry is a path in the archive plus where its bytes come from."""

from __future__ import annotations

import io
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755

APP_UNIT = "app"
VENDOR_PREFIX = "vendor/"
#: Where a layer's files sit inside its zip: Lambda puts /opt/python on sys.path.
LAYER_PREFIX = "python/"
#: Where Lambda unpacks the function zip and the layers at run time (the file names in tracebacks and pycs).
APP_MOUNT = "/var/task"
LAYER_MOUNT = "/opt"


def unit_key(name: str) -> str:
    """A unit's canonical name: a distribution's PEP 503 name; ``vendor/<entry>`` and ``app`` as they are."""
    if name.startswith(VENDOR_PREFIX) or name == APP_UNIT:
        return name
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


@dataclass(frozen=True)
class FileSource:
    """A file on disk (app code, vendor/)."""

    path: Path

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


@dataclass(frozen=True)
class WheelMember:
    """A member of a wheel (or zip), read in place: never unpacked to disk.

    ``checked``: the wheel's members were inflated and their CRCs checked (``build.collect.check_wheels``).
    ``data_at``: where the member's compressed bytes start in the wheel, when already read (-1: not known).
    """

    wheel: Path
    info: zipfile.ZipInfo
    checked: bool = False
    data_at: int = -1

    def open(self) -> BinaryIO:
        if self.info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # lazy: only for Deflate64 members (rare); importing it patches zipfile
            import zipfile_deflate64  # noqa: F401  (teaches zipfile to read Deflate64)
        return _open_member(self.wheel, self.info)


@dataclass(frozen=True)
class BytesSource:
    """Bytes made by us, e.g. a RECORD rewritten after files moved."""

    data: bytes

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


Source = FileSource | WheelMember | BytesSource


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


_OPEN_ARCHIVES: OrderedDict[tuple[Path, int, int], zipfile.ZipFile] = OrderedDict()
_OPEN_LOCK = threading.Lock()
_MAX_OPEN = 64


def _open_member(path: Path, info: zipfile.ZipInfo | str) -> BinaryIO:
    """A member of a shared, already-parsed ZipFile: parsing a central directory per member is quadratic.

    ZipFile serves concurrent readers; a member is opened under the lock so that no other thread closes its
    archive in between (an evicted archive stays readable for the members already open).
    """
    with _OPEN_LOCK:
        return cast(BinaryIO, _shared(path).open(info))


def _shared(path: Path) -> zipfile.ZipFile:
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)  # a wheel rewritten in place is parsed again
    archive = _OPEN_ARCHIVES.pop(key, None) or zipfile.ZipFile(path)
    _OPEN_ARCHIVES[key] = archive
    while len(_OPEN_ARCHIVES) > _MAX_OPEN:
        _OPEN_ARCHIVES.popitem(last=False)[1].close()
    return archive


def read_member(path: Path, pick: Callable[[list[str]], str | None]) -> bytes | None:
    """The bytes of the member ``pick`` chooses from the wheel's names (None: none), from the shared archive that
    collecting the same wheel reuses afterwards."""
    with _OPEN_LOCK:
        archive = _shared(path)
        name = pick(archive.namelist())
        return None if name is None else archive.read(name)
