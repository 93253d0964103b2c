"""Pruning lambda-tasks' cache: what each build used, and removing what no recent build used.

Every build leaves one small use record per output directory, ``<cache>/uses/<key>.json``: the sha256 of the
wheels it packed and the resolutions (``resolutions/*.json``) it read or wrote. A no-op build only touches
it (one ``utime``); a resolution is touched each time it is used. Its mtime is the last use.

Pruning keeps what the kept use records name and removes the rest, in three ways:

- every build, at most once a day: what no build used in the last ``MAX_AGE`` (30 days), then the least
  recently used builds' entries until the cache is under ``cache_max_bytes``;
- ``invoke clean --cache``: the same, now; with ``--keep N``, everything but what the last N builds used.

Only what lambda-tasks writes, by name and shape, is ever removed: ``wheels/sha256/<hex>/`` directories of
regular files, the old layout's ``wheels/*.whl``, ``resolutions/*.json``, ``audit/*.json``, ``hashes/*.json``,
``sources/pyproject-*.txt``, ``checked-wheels.json`` and ``uses/*.json``. Symbolic links are never followed
nor removed, anything else is left alone, and an entry younger than ``GRACE`` (a build may be using it now) is
kept. Planning (:func:`plan`) is pure; :func:`scan` and :func:`remove` do the I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .files import write_atomic

MAX_AGE = 30 * 86400.0
GRACE = 3600.0
PRUNE_EVERY = 86400.0
USES = "uses"
_STAMP = ".pruned"
_HEX = re.compile(r"^[0-9a-f]{64}$")
#: (directory, file-name pattern, kind) of the cache's single-file entries
_FILES = (("resolutions", "*.json", "resolution"), ("audit", "*.json", "audit verdicts"),
          ("hashes", "*.json", "file hashes"), ("sources", "pyproject-*.txt", "requirements"),
          (".", "checked-wheels.json", "wheel checks"), (USES, "*.json", "build record"))


@dataclass(frozen=True)
class Entry:
    """One thing in the cache that pruning may remove. ``key``: a wheel's sha256, a resolution's file name."""

    path: Path
    kind: str
    size: int
    mtime: float
    key: str = ""


@dataclass(frozen=True)
class Use:
    """A use record: one output directory's last build and what it used."""

    entry: Entry
    wheels: frozenset[str] = field(default_factory=frozenset)
    resolutions: frozenset[str] = field(default_factory=frozenset)


# ------------------------------------------------------------------------------------------ recording


def use_record_path(cache: Path, output: Path) -> Path:
    return cache / USES / f"{hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:24]}.json"


def record_use(cache: Path, output: Path, started: float, wheels: Sequence[Path] | None) -> None:
    """Note what the build of ``output`` used: ``wheels`` (None: nothing was resolved, touch the record)."""
    path = use_record_path(cache, output)
    with contextlib.suppress(OSError):  # a read-only cache: only pruning is less precise
        if wheels is None:
            if path.is_file():
                os.utime(path)
            return
        hexes = sorted({w.parent.name for w in wheels if _HEX.match(w.parent.name)})
        folder = cache / "resolutions"
        used = sorted(p.name for p in folder.glob("*.json") if p.stat().st_mtime >= started - 1) \
            if folder.is_dir() else []
        data = {"output": str(output), "wheels": hexes, "resolutions": used}
        write_atomic(path, json.dumps(data, indent=1).encode())


def touch(path: Path) -> None:
    """Mark a cache entry used now."""
    with contextlib.suppress(OSError):
        os.utime(path)


# ------------------------------------------------------------------------------------------ planning


def plan(entries: Sequence[Entry], uses: Sequence[Use], now: float, *, keep_builds: int | None = None,
         max_bytes: int | None = None, max_age: float = MAX_AGE) -> list[Entry]:
    """What to remove: entries no kept build used (see the module's docstring), oldest builds first for size."""
    ordered = sorted(uses, key=lambda u: -u.entry.mtime)
    recent = [u for u in ordered if u.entry.mtime >= now - max_age]
    kept = ordered[:keep_builds] if keep_builds is not None else recent
    removed = _unkept(entries, kept, now, max_age, strict=keep_builds is not None)
    if max_bytes is not None:
        total = sum(e.size for e in entries)
        while total - sum(e.size for e in removed) > max_bytes and len(kept) > 1:
            kept = kept[:-1]
            removed = _unkept(entries, kept, now, max_age, strict=True)
    return sorted(removed, key=lambda e: (e.kind, str(e.path)))


def _unkept(entries: Iterable[Entry], kept: Sequence[Use], now: float, max_age: float, strict: bool) -> list[Entry]:
    """Entries the kept builds do not name. ``strict``: those past the grace period (else past ``max_age``)."""
    records = {u.entry.path for u in kept}
    wheels = set().union(*(u.wheels for u in kept)) if kept else set()
    resolutions = set().union(*(u.resolutions for u in kept)) if kept else set()
    cutoff = now - (GRACE if strict else max_age)
    removed = []
    for entry in entries:
        if entry.kind == "old-layout wheel":
            removed.append(entry)  # never read since the content-addressed layout
        elif entry.kind == "build record":
            if entry.path not in records and entry.mtime < now - GRACE:
                removed.append(entry)
        elif entry.kind == "wheel":
            if entry.key not in wheels and entry.mtime < cutoff:
                removed.append(entry)
        elif entry.kind == "resolution":
            if entry.path.name not in resolutions and entry.mtime < cutoff:
                removed.append(entry)
        elif entry.mtime < now - max_age:  # hashes, audit verdicts, ...: only by age
            removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------------ I/O


def scan(cache: Path) -> tuple[list[Entry], list[Use]]:
    """The entries pruning may remove, and the use records."""
    entries: list[Entry] = []
    wheels = cache / "wheels"
    for folder in _dirs(wheels / "sha256"):
        size = _plain_tree_size(folder)
        if _HEX.match(folder.name) and size is not None:
            entries.append(Entry(folder, "wheel", size, folder.lstat().st_mtime, folder.name))
    for path in _files(wheels, "*.whl"):
        entries.append(_file_entry(path, "old-layout wheel"))
    for directory, pattern, kind in _FILES:
        entries += [_file_entry(path, kind, path.name) for path in _files(cache / directory, pattern)]
    uses = []
    for entry in entries:
        if entry.kind == "build record":
            try:
                data = json.loads(entry.path.read_text())
                uses.append(Use(entry, frozenset(map(str, data["wheels"])), frozenset(map(str, data["resolutions"]))))
            except (OSError, ValueError, TypeError, KeyError):
                uses.append(Use(entry))
    return entries, uses


def _dirs(folder: Path) -> list[Path]:
    if not _is_real_dir(folder):
        return []
    return sorted(p for p in folder.iterdir() if _is_real_dir(p))


def _files(folder: Path, pattern: str) -> list[Path]:
    if not _is_real_dir(folder):
        return []
    return sorted(p for p in folder.glob(pattern) if stat.S_ISREG(p.lstat().st_mode))


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _plain_tree_size(folder: Path) -> int | None:
    """The bytes of a directory holding only regular files (None: it holds anything else, so it is not ours)."""
    total = 0
    for child in folder.iterdir():
        info = child.lstat()
        if not stat.S_ISREG(info.st_mode):
            return None
        total += info.st_size
    return total


def _file_entry(path: Path, kind: str, key: str = "") -> Entry:
    info = path.lstat()
    return Entry(path, kind, info.st_size, info.st_mtime, key)


def remove(entries: Iterable[Entry]) -> int:
    """Remove the entries; the bytes freed. What changed since the scan (now a link, gone) is skipped."""
    freed = 0
    for entry in entries:
        try:
            info = entry.path.lstat()
            if entry.kind == "wheel" and stat.S_ISDIR(info.st_mode):
                if _plain_tree_size(entry.path) is None:
                    continue
                shutil.rmtree(entry.path)
            elif stat.S_ISREG(info.st_mode):
                entry.path.unlink()
            else:
                continue
        except OSError:
            continue
        freed += entry.size
    return freed


def prune_now_and_then(cache: Path, max_bytes: int, now: float | None = None) -> list[Entry]:
    """At most once a day (the build calls it): remove what no build used for 30 days, and the oldest builds'
    entries beyond ``max_bytes``. Returns what was removed."""
    now = time.time() if now is None else now
    stamp = cache / USES / _STAMP
    try:
        if now - stamp.stat().st_mtime < PRUNE_EVERY:
            return []
    except OSError:
        pass
    with contextlib.suppress(OSError):
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        entries, uses = scan(cache)
        doomed = plan(entries, uses, now, max_bytes=max_bytes)
        remove(doomed)
        return doomed
    return []
