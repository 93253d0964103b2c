"""Input fingerprints: what decides that the app zip or the layers are up to date.

Which settings feed which fingerprint is declared with each setting (``config.Affects``), not here.

A fingerprint is the same on every machine for the same inputs: the layers' one is also the key of the build
cache runners share through S3 (``cache_bucket``). So it holds contents and paths relative to the project, never
where the project, the cache directory or an interpreter is on this host: ``project_dir`` is left out (the files'
contents are in), the dependency source counts by its content (the declaration's digest and its local inputs,
``sources/declaration.py``), ``bytecode_python`` by its file name, ``pip_args`` paths inside the project
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
from ..config import Affects, settings_affecting
from ..files import content_digests, source_date_epoch
from ..manifest import Manifest, files_problem
from ..project_paths import ProjectPath
from ..sections import AppSettings, ImageSettings, LayerSettings, ResolveSettings, SourceSettings
from ..sources.declaration import Declaration
from ..sources.requirements import PIP_INDEX_VARIABLES
from .tree import walk_files


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _settings_data(sections: Sequence[object], affects: Affects, project_dir: Path) -> dict[str, object]:
    """The settings that shape ``affects``, from the ``sections`` that hold them, with this host's paths taken
    out (see the module's docstring)."""
    data: dict[str, object] = {}
    for section in sections:
        data.update({f.name: getattr(section, f.name) for f in dataclasses.fields(section)})  # type: ignore[arg-type]
    data = {name: _plain(value) for name, value in data.items()}
    found = {key: data[key] for key in settings_affecting(affects) if key != "project_dir"}
    if found.get("requirements"):
        found["requirements"] = _portable(Path(str(found["requirements"])), project_dir)
    if found.get("bytecode_python"):
        found["bytecode_python"] = Path(str(found["bytecode_python"])).name
    if "pip_args" in found:
        found["pip_args"] = [_portable_arg(str(arg), project_dir) for arg in found["pip_args"]]  # type: ignore[attr-defined]
    return found


def _plain(value: object) -> object:
    """A setting's value as ``dataclasses.asdict`` gives it (a function spec as a dict)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
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


def app_fingerprint(sources: SourceSettings, app: AppSettings, image: ImageSettings,
                    app_files: Sequence[tuple[str, ProjectPath]], extra: Sequence[str] = ()) -> str:
    """Changes when any app file's bytes (``app_files``: app_code.app_files), an app setting or an ``extra`` input
    (Chalice's runtime wheel, by content hash and name) changes."""
    files = [(arcname, hashlib.sha256(found.path.read_bytes()).hexdigest(), os.access(found.path, os.X_OK))
             for arcname, found in app_files]
    settings = _settings_data([sources, app, image], Affects.APP, sources.project_dir)
    return _digest({"files": files, "settings": settings, "tool": __version__,
                    "epoch": source_date_epoch(), **({"extra": list(extra)} if extra else {})})


def vendor_tree(settings: SourceSettings) -> ProjectPath | None:
    """The vendor directory, checked as a project path (None: the project has none)."""
    return project_paths.directory(settings.project_dir, settings.vendor_dir, "vendor_dir")


def layers_fingerprint(sources: SourceSettings, resolve: ResolveSettings, layers: LayerSettings,
                       image: ImageSettings, declaration: Declaration, framework: str | None = None,
                       vendor_dir: ProjectPath | bool | None = True) -> str:
    """Changes when the declaration (the requirements with the files they include, or a lock file and the
    declaration beside it), the files it names locally (find-links directories' files, ./pkg projects, local
    archives, the directories a lock builds from), the vendor/ tree, a layer setting, pip's index variables, a
    tool version or the framework (``"chalice"``: its tool is left out) change."""
    vendor: list[tuple[str, str, bool]] = []
    if vendor_dir is True:  # not given: found here
        vendor_dir = vendor_tree(sources)
    if isinstance(vendor_dir, ProjectPath):
        files = list(walk_files(vendor_dir))
        # content, not size and mtime: an edit that keeps both still counts (the stat cache keeps this fast)
        digests = content_digests((found.path for _, found in files), scope=vendor_dir.path)
        vendor = [(rel, digest, executable) for (rel, _), (digest, executable) in zip(files, digests, strict=True)]
    # --find-links directories' files, ./pkg, local archives, a lock's directories: the same requirements text
    # may mean other wheels (read once, in the declaration)
    return _digest({
        "declaration": [declaration.digest, declaration.local_inputs], "vendor": vendor,
        "settings": _settings_data([sources, resolve, layers, image], Affects.LAYERS, sources.project_dir),
        "tools": _tool_versions(), "epoch": source_date_epoch(),
        "pip": _pip_variables(),
        **({"framework": framework} if framework else {}),  # Chalice mode leaves chalice's tool out
    })


def image_fingerprint(image: ImageSettings, handler: str) -> str:
    """What the image adds to the app and the layers: its base (as given: a tag is resolved again only by
    --force) and its Cmd (``handler``)."""
    return _digest({"base": image.image_base_reference, "cmd": [handler]})


def outputs_present(previous: Manifest, output_dir: Path, which: str) -> bool:
    """The artifacts the manifest names for ``which`` ("app" or "layers") are on disk, regular files with their
    sizes and sha256 (from the stat cache: a file touched in any way is hashed again). A layer zip tampered with
    in place, even at the same size, is not up to date."""
    return files_problem(previous, output_dir, which) is None
