"""Pure helpers shared by the installers that read a lock (uv's pylock output, the project's lock files):
which wheel the target ranks best, and fetching one file with its size and sha256 checked."""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from packaging.utils import parse_wheel_filename

from ..deadlines import NETWORK_ENV, network_timeout
from ..errors import DeadlineError, ResolveError
from ..report import Reporter
from ..targets import Target
from .process import redact
from .wheelhouse import lookup

T = TypeVar("T")


@dataclass(frozen=True)
class Pick:
    """The wheel chosen for one locked package."""

    name: str
    version: str
    filename: str
    url: str
    sha256: str | None
    size: int | None


def best_wheel(candidates: Sequence[tuple[str, T]], target: Target) -> tuple[str, T] | None:
    """The (file name, data) whose best tag the target ranks highest; None when no tag fits the target."""
    rank = target.tag_ranks
    best: tuple[int, str, T] | None = None
    for filename, data in candidates:
        try:
            tags = parse_wheel_filename(filename)[3]
        except ValueError:
            continue
        score = min((rank[tag] for tag in tags if tag in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, filename, data)
    return None if best is None else (best[1], best[2])


def from_cache(pick: Pick, download_dir: Path, wheelhouse: Path, reporter: Reporter | None = None) -> bool:
    """Link ``pick``'s file from the wheelhouse into ``download_dir`` when the cache has it (by sha256)."""
    final = download_dir / pick.filename
    cached = lookup(wheelhouse, pick.sha256, pick.filename, reporter)
    if cached is None or not _matches(cached, pick):
        return False
    try:
        os.link(cached, final)
    except OSError:
        shutil.copyfile(cached, final)
    return True


def fetch(pick: Pick, download_dir: Path, wheelhouse: Path, reporter: Reporter | None = None) -> None:
    """Put ``pick``'s file in ``download_dir``: linked from the cache, copied from disk, or downloaded."""
    final = download_dir / pick.filename
    if from_cache(pick, download_dir, wheelhouse, reporter):
        return
    partial = final.with_name(final.name + ".part")
    digest = hashlib.sha256()
    request = urllib.request.Request(pick.url, headers={"User-Agent": "lambda-tasks"})
    try:
        with urllib.request.urlopen(request, timeout=network_timeout(), context=_ssl_context()) as response, \
                open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except (TimeoutError, urllib.error.URLError) as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            raise DeadlineError(redact(f"fetching {pick.filename}: {urllib.parse.urlsplit(pick.url).netloc} did not "
                                       f"answer in {network_timeout():g} s ({NETWORK_ENV})")) from None
        raise
    if pick.sha256 and digest.hexdigest() != pick.sha256:
        partial.unlink()
        raise ResolveError(redact(f"{pick.filename} from {pick.url} does not match the sha256 in the lock; try again"))
    os.replace(partial, final)


def _matches(path: Path, pick: Pick) -> bool:
    """The cached file has the lock's size (its sha256 was checked by ``lookup``, through the stat cache)."""
    return pick.size is None or path.stat().st_size == pick.size


_CONTEXT: list[ssl.SSLContext] = []


def _ssl_context() -> ssl.SSLContext:
    """The system's CAs, or the bundle pip is told to use (PIP_CERT, SSL_CERT_FILE, REQUESTS_CA_BUNDLE)."""
    if not _CONTEXT:
        bundle = next((os.environ[k] for k in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE") if os.environ.get(k)),
                      None)
        _CONTEXT.append(ssl.create_default_context(cafile=bundle))
    return _CONTEXT[0]
