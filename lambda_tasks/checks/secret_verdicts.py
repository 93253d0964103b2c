"""Big files the secret scan found clean, remembered by content: a data file in vendor/ is read once, not on
every build (the scan reads ~30 MB/s; a sha256 from the stat cache costs a ``stat``).

A verdict counts only for the same bytes (sha256), the same file name (``.npmrc`` and key suffixes change what is
looked for) and the same scanner (a digest of ``secret_patterns.py`` and ``secret_scan.py``): a new pattern
reads every file again. Only "clean" is remembered; a file found secret is refused every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
from pathlib import Path

from ..entries import Entry, FileSource
from ..files import cache_dir, content_sha256, write_atomic
from . import secret_patterns, secret_scan

#: Smaller files are read again: their scan costs less than keeping a verdict.
MIN_BYTES = 1 << 20
_FILE = "secret-scan.json"
_MAX = 20_000


def scanner_version() -> str:
    digest = hashlib.sha256()
    for module in (secret_patterns, secret_scan):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


class Verdicts:
    """The clean verdicts of earlier builds; :meth:`save` keeps the new ones (a read-only cache: next time)."""

    def __init__(self) -> None:
        self._version = scanner_version()
        self._known: list[str] = []
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads((cache_dir() / _FILE).read_text())
            if data.get("version") == self._version:
                self._known = [str(key) for key in data.get("clean", [])]
        self._clean = set(self._known)
        self._new: list[str] = []

    def key(self, entry: Entry) -> str | None:
        """What names the entry's verdict: a big file on disk only."""
        if entry.size < MIN_BYTES or not isinstance(entry.source, FileSource):
            return None
        try:
            return f"{content_sha256(entry.source.path)}:{posixpath.basename(entry.arcname).lower()}"
        except OSError:
            return None

    def is_clean(self, key: str | None) -> bool:
        return key is not None and key in self._clean

    def add(self, key: str | None) -> None:
        if key is not None and key not in self._clean:
            self._clean.add(key)
            self._new.append(key)

    def save(self) -> None:
        if not self._new:
            return
        data = {"version": self._version, "clean": [*self._known, *self._new][-_MAX:]}
        with contextlib.suppress(OSError):
            write_atomic(cache_dir() / _FILE, json.dumps(data).encode())
