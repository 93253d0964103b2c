"""Chalice's runtime for the function zip: the chalice wheel the project asks for, fetched once and kept in the
content-addressed wheelhouse like any wheel (hash-checked on every use, ``--hash`` pins honoured).

Chalice's own packager ships two files of that wheel in the function zip, ``chalice/__init__.py`` and
``chalice/app.py``: the runtime half of Chalice (standard library only). The rest of the distribution, and what
it requires (click, botocore, pip, ...), is the command-line tool, which Lambda never runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..errors import ResolveError
from ..files import cache_dir
from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..sources.requirements import PIP_INDEX_VARIABLES
from . import download_pins
from . import wheelhouse as wheelhouse_io

#: What Chalice's packager puts in the function zip, and all of it that the app's code imports.
RUNTIME_FILES = ("chalice/__init__.py", "chalice/app.py")


def runtime_key(settings: ResolveSettings, declaration: Declaration, requirement: str) -> str:
    """Names the fetch of ``requirement`` (``chalice==1.31.2``, or ``chalice`` for the newest release)."""
    data = json.dumps([
        "chalice-runtime", requirement, list(settings.target.python_version),
        declaration.index_options, list(settings.pip_args),
        # pip's index variables, not its whole configuration: this key is computed on every build, even a
        # no-op one, which must not import pip (a release's wheel is the same from any index: hash-checked)
        [os.environ.get(name, "") for name in PIP_INDEX_VARIABLES],
    ])
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def runtime_wheel(settings: ResolveSettings, declaration: Declaration, requirement: str, reporter: Reporter,
                  refresh: bool = False) -> Path:
    """The chalice wheel that ``requirement`` names, from the cache when an earlier build fetched it (its bytes
    checked against the recorded sha256), else downloaded for the target with the project's index options."""
    cache = cache_dir()
    wheelhouse = cache / "wheels"
    key_file = cache / "resolutions" / f"chalice-{runtime_key(settings, declaration, requirement)}.json"
    if not refresh:
        known = wheelhouse_io.cached_resolution(key_file, wheelhouse, reporter)
        if known is not None and len(known) == 1:
            wheelhouse_io.check_pins(known, declaration.pins, declaration.shown)
            return known[0].path
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"chalice-{os.getpid()}-", dir=cache) as tmp:
        download_dir = Path(tmp)
        # by the installer the build resolves with: uv takes a fraction of pip's start-up, and a cold Chalice
        # build waits for this before anything else
        download_pins(settings, declaration, [requirement], download_dir, reporter)
        fetched = sorted(path for path in download_dir.iterdir() if path.name.endswith(".whl"))
        if len(fetched) != 1 or not fetched[0].name.lower().startswith("chalice-"):
            raise ResolveError(f"fetching {requirement} for Chalice's runtime gave {[p.name for p in fetched]}, "
                               "not one chalice wheel\n  pin chalice to a release that has a wheel "
                               "(chalice_version, or chalice==X.Y.Z in the requirements)")
        stored = wheelhouse_io.store(wheelhouse, fetched[0], reporter)
    wheelhouse_io.check_pins([stored], declaration.pins, declaration.shown)
    wheelhouse_io.save_resolution(key_file, [stored])
    return stored.path
