"""lambda-tasks' wheel cache, addressed by content: a wheel is only ever used when its bytes are the ones recorded.

Layout, under ``<cache>/wheels``::

    sha256/<hex>/<file name>     one wheel; <hex> is the sha256 of its bytes, the file name is kept for the
                                 tools that read tags and names from it (and for people looking)

A resolution (``<cache>/resolutions/<key>.json``) lists ``{"name": ..., "sha256": ...}`` for each wheel.
Wheels of the old layout (``wheels/<file name>``, trusted by name) are never read; one is deleted when the
same file name is stored again, and an old resolution (a list of names) counts as no resolution.

What is verified, and when:

- storing: a fetched file is hashed and moved to ``sha256/<its hash>/``. A file already there is kept only
  when its bytes still have that hash (the stat cache answers for an unchanged file); otherwise it is replaced.
- every use of a cached resolution: each wheel's bytes are checked against the recorded sha256 (through the
  stat cache, which re-hashes any file whose size, mtime, ctime or inode changed). A mismatch means the entry
  is damaged: it is deleted, a one-line warning says so, and the resolution is done again (never shipped).
- uv's lock names each wheel's sha256: a cached file is linked only when its bytes have it (:func:`lookup`).
- ``--hash`` pins of the declaration (its lines and constraints, ``sources/declaration.py``) are checked
  against the wheel used for that requirement on every resolve, cached or not: pip checks them when it
  downloads, this also covers uv and the cache. A wheel that matches none of its pins stops the build
  (:class:`ResolveError`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from ..cache_prune import touch
from ..errors import ResolveError
from ..files import content_sha256, content_sha256s, file_sha256, forget_hash, write_atomic
from ..report import Reporter

_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CachedWheel:
    """A wheel in the wheelhouse and the sha256 of its bytes."""

    path: Path
    sha256: str
    built_from: tuple[str, str] | None = None  # (sdist file name, its sha256) for a wheel built here

    @property
    def name(self) -> str:
        return self.path.name


def wheel_path(wheelhouse: Path, sha256: str, filename: str) -> Path:
    """Where the wheel ``filename`` with these bytes lives."""
    return wheelhouse / "sha256" / sha256 / filename


def lookup(wheelhouse: Path, sha256: str | None, filename: str, reporter: Reporter | None = None) -> Path | None:
    """The cached wheel with these bytes, or None; a damaged entry is deleted (and said so)."""
    if not sha256 or not _HEX.match(sha256.lower()):
        return None
    path = wheel_path(wheelhouse, sha256.lower(), filename)
    if not path.is_file():
        return None
    found = content_sha256(path)
    if found == sha256.lower():
        return path
    _drop(path, found, sha256.lower(), reporter)
    return None


def store(wheelhouse: Path, fetched: Path, reporter: Reporter | None = None,
          built_from: tuple[str, str] | None = None) -> CachedWheel:
    """Move ``fetched`` into the wheelhouse under its sha256 (an intact copy already there is kept)."""
    digest = file_sha256(fetched)
    final = wheel_path(wheelhouse, digest, fetched.name)
    (wheelhouse / fetched.name).unlink(missing_ok=True)  # the same wheel in the old layout, by name only
    if final.is_file():
        found = content_sha256(final)
        if found == digest:
            return CachedWheel(final, digest, built_from)
        _drop(final, found, digest, reporter, "replaced it with the one just fetched")
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(fetched, final)
    except OSError:  # another file system: copy beside it, then rename
        partial = final.with_name(f".{final.name}.{os.getpid()}.part")
        shutil.copyfile(fetched, partial)
        os.replace(partial, final)
    return CachedWheel(final, digest, built_from)


def _drop(path: Path, found: str, expected: str, reporter: Reporter | None,
          then: str = "dropped it, fetching it again") -> None:
    if reporter is not None:
        reporter.warn(f"cached wheel {path.name} is damaged (sha256 {found[:12]}.., not {expected[:12]}..); {then}")
    path.unlink(missing_ok=True)
    forget_hash(path)


# ------------------------------------------------------------------------------------------ resolutions


def save_resolution(key_file: Path, wheels: Sequence[CachedWheel]) -> None:
    rows = sorted(({"name": wheel.name, "sha256": wheel.sha256,
                    **({"built_from": list(wheel.built_from)} if wheel.built_from else {})} for wheel in wheels),
                  key=lambda row: str(row["name"]))
    write_atomic(key_file, json.dumps(rows, indent=1).encode())


def cached_resolution(key_file: Path, wheelhouse: Path, reporter: Reporter) -> list[CachedWheel] | None:
    """The wheels of an earlier resolution, each checked against its recorded sha256; None when any is missing
    or damaged (a damaged one is deleted), or the record is of an older format."""
    try:
        rows = json.loads(key_file.read_text())
        recorded = [(str(row["name"]), str(row["sha256"]).lower()) for row in rows]
        origins = [(str(row["built_from"][0]), str(row["built_from"][1]).lower()) if row.get("built_from") else None
                   for row in rows]
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
    if not all(_HEX.match(sha) and "/" not in name and name.endswith(".whl") for name, sha in recorded):
        return None
    paths = [wheel_path(wheelhouse, sha, name) for name, sha in recorded]
    if not all(path.is_file() for path in paths):
        return None
    intact = True
    for path, (_, expected), found in zip(paths, recorded, content_sha256s(paths), strict=True):
        if found != expected:
            _drop(path, found, expected, reporter)
            intact = False
    if not intact:
        key_file.unlink(missing_ok=True)
        return None
    touch(key_file)  # its last use: pruning keeps what recent builds used (lambda_tasks/cache_prune.py)
    return [CachedWheel(path, sha, origin) for path, (_, sha), origin in zip(paths, recorded, origins, strict=True)]


def local_copies_match(wheels: Sequence[CachedWheel], locations: Sequence[Path]) -> bool:
    """True unless a find-links location holds a file of the same name as a wheel of the resolution (or as the
    sdist one was built from) with other bytes: the files a resolution took are checked by content."""
    for wheel in wheels:
        for name, sha256 in [(wheel.name, wheel.sha256), *([wheel.built_from] if wheel.built_from else [])]:
            for location in locations:
                candidate = location / name if location.is_dir() else location
                if candidate.name == name and candidate.is_file() and content_sha256(candidate) != sha256:
                    return False
    return True


# ---------------------------------------------------------------------------------------------- --hash pins


def check_pins(wheels: Sequence[CachedWheel], pins: Mapping[str, Mapping[str, frozenset[str]]], shown: str) -> None:
    """Every wheel whose distribution is pinned with ``--hash`` (``pins``: the declaration's, name -> algorithm
    -> digests; ``shown`` names the source) matches one of its pins; a wheel built here from an sdist is checked
    by that sdist's sha256 (pip checked the sdist it fetched against the pins)."""
    if not pins:
        return

    for wheel in wheels:
        name = str(canonicalize_name(parse_wheel_filename(wheel.name)[0]))
        wanted = pins.get(name)
        if not wanted:
            continue
        if wheel.built_from is not None and wheel.built_from[1] in wanted.get("sha256", set()):
            continue
        found = {"sha256": wheel.sha256}
        for algorithm in wanted:
            if algorithm not in found and algorithm in hashlib.algorithms_guaranteed:
                found[algorithm] = _file_digest(wheel.path, algorithm)
        if any(found.get(algorithm) in digests for algorithm, digests in wanted.items()):
            continue
        pinned = ", ".join(f"{algorithm}:{digest}" for algorithm in sorted(wanted)
                           for digest in sorted(wanted[algorithm]))
        raise ResolveError(
            f"{name}: the wheel in use does not match the --hash pinned in {shown}\n"
            f"  wheel:  {wheel.name}\n  sha256: {wheel.sha256}\n"
            + (f"  built here from {wheel.built_from[0]}, sha256 {wheel.built_from[1]}\n" if wheel.built_from else "")
            + f"  pinned: {pinned}\n"
            "  if the pin is right, the cache or the index served other bytes: run `invoke build --force`; "
            "if the pin is old, update it"
        )


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
