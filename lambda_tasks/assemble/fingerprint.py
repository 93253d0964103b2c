"""Input fingerprints: what decides that the app zip or the layers are up to date.

Which settings feed which fingerprint is declared with each setting (``config.Affects``), not here.

A fingerprint is the same on every machine for the same inputs: the layers' one is also the key of the build
cache runners share through S3 (``cache_bucket``). So it holds contents and paths relative to the project, never
where the project, the cache directory or an interpreter is on this host: ``project_dir`` is left out (the files'
contents are in), a generated requirements file (from pyproject.toml, in the cache directory) counts by its
name, which is its content's hash, ``bytecode_python`` by its file name, ``pip_args`` paths inside the project
relative to it, ``PIP_CONFIG_FILE`` by its content, and index URLs without a user or token. What is left is
what can change the bytes: contents, settings, the tools' versions (lambda-tasks, pip, uv), SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .. import __version__, project_paths
from ..config import Affects, Settings, settings_affecting
from ..files import content_digests, source_date_epoch, tree_digest
from ..manifest import Manifest, files_problem
from ..project_paths import ProjectPath
from ..sources.local_inputs import local_inputs, not_source
from ..sources.requirements import PIP_INDEX_VARIABLES, requirements_digest
from .tree import walk_files


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _settings_data(settings: Settings, affects: Affects) -> dict[str, object]:
    """The settings that shape ``affects``, with this host's paths taken out (see the module's docstring)."""
    found = {key: _plain(getattr(settings, key)) for key in settings_affecting(affects) if key != "project_dir"}
    if found.get("requirements"):
        found["requirements"] = _portable(Path(str(found["requirements"])), settings.project_dir)
    if found.get("bytecode_python"):
        found["bytecode_python"] = Path(str(found["bytecode_python"])).name
    if "pip_args" in found:
        found["pip_args"] = [_portable_arg(arg, settings.project_dir) for arg in settings.pip_args]
    return found


def _plain(value: object) -> object:
    """What ``dataclasses.asdict`` makes of one field (only the fields read: asdict of all of Settings copies
    every one of them, on every build)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _portable(path: Path, project: Path) -> str:
    """A path inside the project relative to it (posix); any other by its file name."""
    absolute = path if path.is_absolute() else project / path
    return absolute.relative_to(project).as_posix() if absolute.is_relative_to(project) else path.name


def _portable_arg(arg: str, project: Path) -> str:
    """An absolute path inside the project, relative to it; anything else as written."""
    if os.path.isabs(arg) and Path(arg).is_relative_to(project):
        return Path(arg).relative_to(project).as_posix() or "."
    return _without_userinfo(arg) or arg


def _without_userinfo(value: str | None) -> str | None:
    """URLs without ``user:token@``: a rotated token does not change what the index serves."""
    if not value or "@" not in value:
        return value

    words = []
    for word in value.split():
        parts = urlsplit(word)
        if parts.scheme and parts.hostname and "@" in parts.netloc:
            host = parts.hostname + (f":{parts.port}" if parts.port else "")
            word = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        words.append(word)
    return " ".join(words)


def _pip_variables() -> list[str | None]:
    """pip's index variables as they shape a resolution: URLs without credentials, the config file by content."""
    values = []
    for name in PIP_INDEX_VARIABLES:
        value = os.environ.get(name)
        if name == "PIP_CONFIG_FILE" and value:
            try:
                value = "sha256:" + hashlib.sha256(Path(value).read_bytes()).hexdigest()
            except OSError:
                value = "unreadable"
        values.append(_without_userinfo(value))
    return values


def _tool_versions() -> list[str]:
    """lambda-tasks', pip's and uv's versions (the installers), read off their .dist-info names
    (importlib.metadata costs 15 ms)."""
    versions = [__version__]
    for name in ("pip", "uv"):
        found = next((sorted(Path(entry or ".").glob(f"{name}-*.dist-info")) for entry in sys.path
                      if any(Path(entry or ".").glob(f"{name}-*.dist-info"))), [])
        versions.append(found[-1].name[len(name) + 1:-len(".dist-info")] if found else "none")
    return versions


def app_fingerprint(settings: Settings, app_files: Sequence[tuple[str, ProjectPath]], extra: Sequence[str] = ()) -> str:
    """Changes when any app file's bytes (``app_files``: app_code.app_files), an app setting or an ``extra`` input
    (Chalice's runtime wheel, by content hash and name) changes."""
    files = [(arcname, hashlib.sha256(found.path.read_bytes()).hexdigest(), os.access(found.path, os.X_OK))
             for arcname, found in app_files]
    return _digest({"files": files, "settings": _settings_data(settings, Affects.APP), "tool": __version__,
                    "epoch": source_date_epoch(), **({"extra": list(extra)} if extra else {})})


def vendor_tree(settings: Settings) -> ProjectPath | None:
    """The vendor directory, checked as a project path (None: the project has none)."""
    return project_paths.directory(settings.project_dir, settings.vendor_dir, "vendor_dir")


def layers_fingerprint(settings: Settings, source_files: Sequence[Path] = (), source_dirs: Sequence[Path] = (),
                       framework: str | None = None, vendor_dir: ProjectPath | bool | None = True) -> str:
    """Changes when the requirements (with the files they include), the files they name locally (find-links
    directories' files, ./pkg projects, local archives), the dependency source's files (a lock file and its
    pyproject.toml, the directories a lock builds from), the vendor/ tree, a layer setting, pip's index
    variables, a tool version or the framework (``"chalice"``: its tool is left out) change."""
    requirements = requirements_digest(settings.requirements_path)
    vendor: list[tuple[str, str, bool]] = []
    if vendor_dir is True:  # not given: found here
        vendor_dir = vendor_tree(settings)
    if isinstance(vendor_dir, ProjectPath):
        files = list(walk_files(vendor_dir))
        # content, not size and mtime: an edit that keeps both still counts (the stat cache keeps this fast)
        digests = content_digests((found.path for _, found in files), scope=vendor_dir.path)
        vendor = [(rel, digest, executable) for (rel, _), (digest, executable) in zip(files, digests, strict=True)]
    # a lock's local packages are built from their directories: their files are inputs too
    local = [(Path(os.path.relpath(d, settings.project_dir)).as_posix(), tree_digest(d, skip=not_source))
             for d in source_dirs if d.is_dir()]
    # --find-links directories' files, ./pkg and local archives: the same requirements text may mean other wheels
    named = local_inputs(settings.requirements_path, settings.pip_args, settings.project_dir)
    return _digest({
        "requirements": requirements, "vendor": vendor, "local": local, "named": named,
        "sources": [(path.name, hashlib.sha256(path.read_bytes()).hexdigest()) for path in source_files],
        "settings": _settings_data(settings, Affects.LAYERS),
        "tools": _tool_versions(), "epoch": source_date_epoch(),
        "pip": _pip_variables(),
        **({"framework": framework} if framework else {}),  # Chalice mode leaves chalice's tool out
    })


def image_fingerprint(settings: Settings) -> str:
    """What the image adds to the app and the layers: its base (as given: a tag is resolved again only by
    --force) and its Cmd."""
    return _digest({"base": settings.image_base_reference, "cmd": [settings.handler]})


def outputs_present(previous: Manifest, settings: Settings, which: str) -> bool:
    """The artifacts the manifest names for ``which`` ("app" or "layers") are on disk, regular files with their
    sizes and sha256 (from the stat cache: a file touched in any way is hashed again). A layer zip tampered with
    in place, even at the same size, is not up to date."""
    return files_problem(previous, settings.output_dir, which) is None
