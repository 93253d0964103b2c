"""Verifications remembered, for ``deploy``: the same artifacts, handlers, environments and interpreter were
verified before, so a deploy with nothing changed does not unpack and import them again (an image's layers
take seconds to unpack). ``invoke verify`` itself always runs.

The key holds everything the outcome depends on: the artifacts by content (the app zip's and each layer's
sha256, or the image's digest), each function's handler, memory, timeout and environment, the interpreter
(its path and its file's size and mtime), the extra layers and lambda-tasks' version. Only a success is kept,
with what it could not check, so a remembered verification says the same as the one it remembers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import cache_dir, write_atomic
from ..manifest import Manifest


def _interpreter(command: Sequence[str]) -> list[object]:
    found = shutil.which(command[0]) if command else None
    try:
        stat = os.stat(found) if found else None
    except OSError:
        stat = None
    return [list(command), found, stat.st_size if stat else None, stat.st_mtime_ns if stat else None]


def memo_key(manifest: Manifest, calls: Sequence[Any], command: Sequence[str], compiled: bool,
             extra_layers: Sequence[str]) -> str:
    """Names one verification by everything its outcome depends on."""
    artifacts: list[object] = ([manifest.image.digest] if manifest.image is not None else
                               [manifest.app.sha256, *(layer.sha256 for layer in manifest.layers)])
    data = [__version__, manifest.runtime, manifest.architecture, artifacts,
            [[call.handler, call.function_name, call.memory, call.timeout, sorted(call.environment.items())]
             for call in calls], _interpreter(command), compiled, list(extra_layers)]
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / "verified" / f"{key}.json"


def recall(key: str) -> dict[str, list[str]] | None:
    """What a remembered successful verification could not check and warned about, or None."""
    try:
        data = json.loads(_path(key).read_text(encoding="utf-8"))
        return {"unchecked": [str(x) for x in data["unchecked"]], "warnings": [str(x) for x in data["warnings"]]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(key: str, unchecked: Sequence[str], warnings: Sequence[str]) -> None:
    """Keep a successful verification (a read-only cache: it is verified again next time)."""
    path = _path(key)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"unchecked": list(unchecked), "warnings": list(warnings)}).encode())
