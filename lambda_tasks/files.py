"""Files: hashing (with a persistent stat cache), atomic writes and lambda-tasks' cache directory.

``content_sha256(path)`` hashes a file once and then trusts the hash while the file's stat is unchanged:
size, mtime_ns, ctime_ns, inode and device. An edit in place changes mtime and ctime (ctime cannot be set
back, not even with ``os.utime``); a file replaced by another changes the inode or ctime. The hashes live
in ``<cache>/hashes/<scope>.json``, one small store per tree (see ``content_digests``), so that a no-op
build reads only the hashes of the files it looks at. A hash is only remembered when the file's mtime and
ctime are older than the moment the hashing began by ``RACY_NS``: a file changed again within the file
system's timestamp granularity could otherwise keep its stat (git's "racily clean" problem). Such a file
is hashed again next time, when it is old enough to be remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import SettingsError

_BLOCK = 1 << 20
#: A file changed this recently (ns) is hashed but not remembered: timestamps are coarse (a jiffy, or 2 s on FAT).
RACY_NS = 2_000_000_000
#: Entries kept per store; beyond that, those of files that are gone go first, then the least recently used.
MAX_REMEMBERED = 20_000
_VERSION = 1


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename: a reader sees the old file or the new one."""
    staged = stage(path, data)
    try:
        commit([staged])
    except BaseException:
        discard([staged])
        raise


@dataclass(frozen=True)
class Staged:
    """A file written to a temp file beside ``path``, not yet renamed into place (see :func:`commit`)."""

    tmp: Path
    path: Path


def stage(path: Path, data: bytes) -> Staged:
    """``data`` in a temp file beside ``path`` (``.name.*.tmp``: what a killed build leaves is cleaned up)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Staged(Path(tmp), path)


def commit(staged: Iterable[Staged]) -> None:
    """Rename each staged file into place, in order (the manifest last). Everything was written before the first
    rename, so a full disk or an error while writing leaves the old files and the old manifest, all in agreement;
    a rename needs no space."""
    for item in staged:
        os.replace(item.tmp, item.path)


def discard(staged: Iterable[Staged]) -> None:
    for item in staged:
        item.tmp.unlink(missing_ok=True)


#: The latest SOURCE_DATE_EPOCH taken: 9999-12-31 23:59:59 UTC (Python's dates end there).
MAX_EPOCH = 253_402_300_799


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org): None when unset or empty; else a whole number of seconds since
    1970, 0 to MAX_EPOCH. Anything else is a one-line error: a typo must not silently change the artifacts' bytes.
    (Zips clamp it to what their dates can say, 1980..2107: archive.dos_datetime.)"""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii() or len(raw) > 12 or int(raw) > MAX_EPOCH:
        raise SettingsError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (0 to {MAX_EPOCH}), not "
                            f"{raw[:40]!r}\n  set it to e.g. $(git log -1 --format=%ct), or unset it")
    return int(raw)


def cache_dir() -> Path:
    """Where downloaded wheels, resolutions, hashes and audit verdicts are kept between builds."""
    configured = os.environ.get("LAMBDA_TASKS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lambda-tasks"


# ------------------------------------------------------------------------------------ the stat cache

_Stat = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device
_Known = dict[str, list[object]]  # absolute path -> [*stat, sha256], in the order of last use
_LOCK = threading.Lock()
_LOADED: dict[Path, _Known] = {}  # store file -> what it holds (read once per process)


def _stat_key(info: os.stat_result) -> _Stat:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


def _store_path(scope: str) -> Path:
    return cache_dir() / "hashes" / f"{hashlib.sha256(scope.encode()).hexdigest()[:24]}.json"


def _default_scope(key: str, cache_root: str) -> str:
    """Files in lambda-tasks' cache share one store; any other file uses its directory's."""
    return cache_root if key.startswith(cache_root + os.sep) else os.path.dirname(key)


def _remembered(store: Path) -> _Known:
    with _LOCK:
        known = _LOADED.get(store)
        if known is None:
            try:
                data = json.loads(store.read_text(encoding="utf-8"))
                known = dict(data["entries"]) if data.get("version") == _VERSION else {}
            except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
                known = {}
            _LOADED[store] = known
        return known


def _absolute(path: Path | str) -> str:
    key = os.fspath(path)
    return key if os.path.isabs(key) else os.path.abspath(key)


def content_digests(paths: Iterable[Path], scope: Path | None = None) -> list[tuple[str, bool]]:
    """(hex sha256, executable) of each file; hashed only when its stat changed since last time (see above).

    ``scope`` picks the store the hashes are kept in (one JSON file per scope, read whole): give the root of
    a tree that is fingerprinted as a whole. By default a file in lambda-tasks' cache uses the cache's store
    and any other file its directory's.
    """
    cache_root = _absolute(cache_dir())
    fixed = _absolute(scope) if scope is not None else None
    results: list[tuple[str, bool]] = []
    changed: dict[Path, _Known] = {}
    stores: dict[str, tuple[Path, _Known]] = {}
    for path in paths:
        key = _absolute(path)
        where = fixed or _default_scope(key, cache_root)
        if where not in stores:
            stores[where] = (_store_path(where), _remembered(_store_path(where)))
        store, known = stores[where]
        before = os.stat(key)
        if not stat.S_ISREG(before.st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        executable = bool(before.st_mode & stat.S_IXUSR)
        current = _stat_key(before)
        entry = known.get(key)
        if entry is not None and tuple(entry[:5]) == current and isinstance(entry[5], str):
            results.append((entry[5], executable))
            continue
        started = time.time_ns()
        digest = file_sha256(path)
        after = _stat_key(os.stat(key))
        results.append((digest, executable))
        with _LOCK:
            known.pop(key, None)  # re-inserted last: the dict's order is the order of use
            if after == current and max(current[1], current[2]) < started - RACY_NS:
                known[key] = [*current, digest]
        if entry is not None or key in known:
            changed[store] = known
    for store, known in changed.items():
        _save(store, known)
    return results


def content_sha256s(paths: Iterable[Path], scope: Path | None = None) -> list[str]:
    """The hex sha256 of each file, from the stat cache when the file is unchanged."""
    return [digest for digest, _ in content_digests(paths, scope)]


def content_sha256(path: Path, scope: Path | None = None) -> str:
    """The hex sha256 of a file's bytes, from the stat cache when the file is unchanged."""
    return content_digests([path], scope)[0][0]


def forget_hash(path: Path, scope: Path | None = None) -> None:
    """Drop what the stat cache knows of ``path`` (e.g. a file found damaged and deleted)."""
    key = _absolute(path)
    store = _store_path(_absolute(scope) if scope is not None else _default_scope(key, _absolute(cache_dir())))
    known = _remembered(store)
    with _LOCK:
        found = known.pop(key, None)
    if found is not None:
        _save(store, known)


def _save(store: Path, known: _Known) -> None:
    with _LOCK:
        if len(known) > MAX_REMEMBERED:
            for key in [key for key in known if not os.path.exists(key)]:
                del known[key]
            for key in list(known)[: max(0, len(known) - MAX_REMEMBERED)]:
                del known[key]
        data = json.dumps({"version": _VERSION, "entries": known}, separators=(",", ":")).encode()
    with contextlib.suppress(OSError):  # a read-only cache: the hashes are only an optimisation
        write_atomic(store, data)


# ------------------------------------------------------------------------------------------ trees

#: Left out of ``tree_digest`` by default: version control and Python's caches change without the content.
SKIPPED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def _skipped(name: str) -> bool:
    return name in SKIPPED_NAMES or name.endswith((".pyc", ".pyo"))


def tree_digest(root: Path, skip: Callable[[str], bool] = _skipped) -> list[tuple[str, str, bool]]:
    """(relative posix path, sha256, executable) of every file below ``root``, sorted, symlinks followed.

    A name (file or directory) for which ``skip`` is true is left out. Hashes come from the stat cache.
    """
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(name for name in dirnames if not skip(name))
        base = Path(directory)
        for name in sorted(filenames):
            if not skip(name):
                found.append(((base / name).relative_to(root).as_posix(), base / name))
    found.sort()
    digests = content_digests((path for _, path in found), scope=root)
    return [(rel, digest, executable) for (rel, _), (digest, executable) in zip(found, digests, strict=True)]
